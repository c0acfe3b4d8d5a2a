//! `cargo xtask docs [OUT_DIR]`: man pages (clap_mangen) and shell completions
//! (clap_complete) for offloadctl, written by the binary's hidden `generate`
//! subcommand so they come from the very clap definition that parses the flags.

use std::path::PathBuf;

use crate::util::{self, cargo};

pub fn run(args: &[String]) -> Result<(), String> {
    let out = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join("target/docs"));
    for (what, sub) in [("man", "man1"), ("completions", "completions")] {
        let mut c = cargo();
        c.args([
            "run",
            "--quiet",
            "-p",
            "offload-cli",
            "--bin",
            "offloadctl",
            "--",
            "generate",
            what,
        ])
        .arg(out.join(sub));
        util::run(c)?;
    }
    println!("docs written to {}", out.display());
    Ok(())
}
