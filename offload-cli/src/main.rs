//! `offloadctl`: find checksum offload problems and switch offloads off on NICs,
//! PIFs and VIFs. Each subcommand lives in its own module with its `Args` and `run`.
//!
//! It owns the command line only (arguments, wording, exit codes) and
//! translates to and from the engine crates; it must not decide what a preset
//! means, which interfaces "all" is, or what a damaged file does.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// First: its out!/outln! macros are used by the modules below.
#[macro_use]
mod stdout;

mod capture;
mod check;
mod disable;
mod doctor;
mod ethtool_common;
mod exporter;
mod generate;
mod restore;
mod set;
mod show;
mod verdict_line;
mod xapi;

/// Find checksum offload problems and switch offloading off on NICs, PIFs and VIFs.
#[derive(Debug, Parser)]
#[command(name = "offloadctl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show offload features (same output as `ethtool -k IFACE`).
    Show(show::Args),
    /// Change offload features (accepts what `ethtool -K IFACE ...` accepts).
    Set(set::Args),
    /// Switch offloads off on many interfaces at once (the seed's shell loop).
    Disable(disable::Args),
    /// Put back the features saved by `disable --save`.
    Restore(restore::Args),
    /// Check the checksums in pcap / pcapng files and tell offload from corruption.
    Check(check::Args),
    /// Capture live and classify checksums (offload-pending, correct, incorrect).
    Capture(capture::Args),
    /// Is offloading hurting this host, and what is the smallest fix? (0 nothing
    /// wrong, 1 a problem found, 2 could not diagnose)
    Doctor(doctor::Args),
    /// XAPI: PIF and VIF other-config for a whole pool.
    Xapi(xapi::Args),
    /// Prometheus metrics: offload state, checksum errors, XAPI policy drift.
    Exporter(exporter::Args),
    /// Write man pages or shell completions (used by `cargo xtask docs`).
    #[command(hide = true)]
    Generate(generate::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are not errors; every usage error exits 64
        // (EX_USAGE), as each --help says, not clap's 2.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(ethtool_common::code::USAGE);
        }
    };
    match cli.command {
        Command::Show(args) => show::run(args),
        Command::Set(args) => set::run(args),
        Command::Disable(args) => disable::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Check(args) => check::run(args),
        Command::Capture(args) => capture::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Xapi(args) => xapi::run(args),
        Command::Exporter(args) => exporter::run(args),
        Command::Generate(args) => generate::run(args),
    }
}
