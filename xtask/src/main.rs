//! `cargo xtask`: the project's automation (tests, codegen, comparisons, demo,
//! packaging). Plain std on purpose: it must build fast on a fresh machine.
//! It owns how the project is built, tested and measured, never product behaviour.

use std::process::ExitCode;

mod ansible;
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

/// `cargo xtask --help`, built from the lists the commands use so it cannot drift.
fn usage() -> String {
    let stages: Vec<&str> = test::STAGES.iter().map(|(name, _)| *name).collect();
    format!(
        "\
usage: cargo xtask <command> [args]

commands:
  test [STAGE...]       run every test stage in order, or only the named ones
                        (STAGE: {stages})
  demo [--no-lab]       the seed procedure end to end on a lab that builds itself
                        (the lab needs root; --no-lab runs what a user without root gets)
  codegen [--check]     include/offload.h (cbindgen) and the plugin's generated constants;
                        --check fails if either is stale
  compare NAME          run a side-by-side comparison and print RATIO lines
                        (NAME: {compare})
  fuzz [--secs N] [TARGET...]  run the cargo-fuzz targets N seconds each (default 60)
  docs [OUT_DIR]        man pages and shell completions for offloadctl (default target/docs)
  xapi-sim [OPTIONS]    run the XAPI simulator (offload_xapi_sim); --help lists options
  dist                  offloadctl + liboffload for glibc 2.17, the dom0 RPM and the wheel, checked (target/dist)
",
        stages = stages.join(", "),
        compare = compare::NAMES.join(", "),
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{}", usage());
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
            print!("{}", usage());
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
