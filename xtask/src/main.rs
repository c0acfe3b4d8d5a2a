//! `cargo xtask`: the project's automation (tests, codegen, comparisons, demo,
//! packaging). Plain std on purpose: it must build fast on a fresh machine.

use std::process::ExitCode;

mod c_tests;
mod codegen;
mod compare;
mod compare_bindings;
mod compare_checksum;
mod compare_ethtool;
mod compare_pcap;
mod compare_xapi;
mod demo;
mod dist;
mod docs;
mod fuzz;
mod test;
mod traffic;
mod util;
mod xapi_sim;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test                  run every test stage (bootstraps apt packages and a Python venv)
  codegen [--check]     include/offload.h from offload-capi (cbindgen); --check fails if stale
  compare NAME          run a side-by-side comparison and print RATIO lines
                        (NAME: checksum, ethtool, pcap, all)
  demo                  the seed procedure end to end on a lab that builds itself
  fuzz [--secs N] [TARGET...]  run the cargo-fuzz targets N seconds each (default 60)
  docs [OUT_DIR]        man pages and shell completions for offloadctl (default target/docs)
  xapi-sim [OPTIONS]    run the XAPI simulator (offload_xapi_sim); --help lists options
  dist                  offloadctl + liboffload for glibc 2.17, the dom0 RPM and the wheel, checked (target/dist)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "test" => test::run(rest),
        "codegen" => codegen::run(rest),
        "compare" => compare::run(rest),
        "docs" => docs::run(rest),
        "demo" => demo::run(rest),
        "fuzz" => fuzz::run(rest),
        "dist" => dist::run(rest),
        "__traffic" => traffic::run(rest),
        "xapi-sim" => xapi_sim::run(rest),
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
