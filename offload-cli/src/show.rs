//! `offloadctl show` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl show`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl show`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl show: not built yet");
    ExitCode::from(64)
}
