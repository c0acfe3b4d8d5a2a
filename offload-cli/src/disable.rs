//! `offloadctl disable` (being built; see the issue tracker).

use std::process::ExitCode;

/// Arguments of `offloadctl disable`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `offloadctl disable`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("offloadctl disable: not built yet");
    ExitCode::from(64)
}
