//! `offloadctl check` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl check`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl check: not built yet");
    ExitCode::from(64)
}
