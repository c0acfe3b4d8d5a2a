//! `offloadctl restore` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl restore`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl restore`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl restore: not built yet");
    ExitCode::from(64)
}
