//! `offloadctl capture` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl capture`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl capture`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl capture: not built yet");
    ExitCode::from(64)
}
