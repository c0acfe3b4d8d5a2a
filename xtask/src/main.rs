//! `cargo xtask`: the project's automation (tests, codegen, comparisons, demo,
//! packaging). Plain std on purpose: it must build fast on a fresh machine.

use std::process::ExitCode;

mod compare;
mod compare_checksum;
mod compare_pcap;
mod docs;
mod test;
mod util;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test                  run every test stage (bootstraps apt packages and a Python venv)
  compare NAME          run a side-by-side comparison and print RATIO lines
                        (NAME: checksum, ethtool, pcap, xapi, bindings, all)
  docs [OUT_DIR]        man pages and shell completions for offloadctl (default target/docs)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "test" => test::run(rest),
        "compare" => compare::run(rest),
        "docs" => docs::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
