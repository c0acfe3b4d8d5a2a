//! `offloadctl xapi` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl xapi`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl xapi`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl xapi: not built yet");
    ExitCode::from(64)
}
