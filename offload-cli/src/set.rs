//! `offloadctl set` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl set`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl set`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl set: not built yet");
    ExitCode::from(64)
}
