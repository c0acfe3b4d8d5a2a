//! `cargo xtask fuzz [--secs N] [TARGET...]`: runs each cargo-fuzz target for N
//! seconds (default 60), starting from the committed corpus in
//! `fuzz/corpus/<target>/`, and prints its execution count. The toolchain here is
//! stable, so cargo-fuzz's nightly-only flags are unlocked with RUSTC_BOOTSTRAP=1.

use crate::util;

const TARGETS: &[&str] = &[
    "classify_frame",
    "capture_reader",
    "xmlrpc_response",
    "jsonrpc_response",
];

pub fn run(args: &[String]) -> Result<(), String> {
    let mut secs: u64 = 60;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => {
                secs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--secs needs a number of seconds")?;
            }
            name if TARGETS.contains(&name) => targets.push(name.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz target or option `{other}` (targets: {})",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    if !util::have("cargo-fuzz") && !home_bin("cargo-fuzz") {
        let mut install = util::cargo();
        install.args(["install", "cargo-fuzz", "--locked"]);
        util::run(install)?;
    }
    let fuzz_dir = util::workspace_root().join("fuzz");
    for target in &targets {
        // libFuzzer writes what it finds into the first corpus directory only:
        // a scratch one under fuzz/target, so the committed seeds in
        // fuzz/corpus/<target> stay as reviewed.
        let found = fuzz_dir.join("target/corpus").join(target);
        std::fs::create_dir_all(&found).map_err(|e| format!("{}: {e}", found.display()))?;
        let seeds = fuzz_dir.join("corpus").join(target);
        let mut c = util::cargo();
        c.current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", target])
            .arg(&found)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            .arg("-print_final_stats=1");
        eprintln!("$ cargo fuzz run {target} -- -max_total_time={secs}");
        let status = c.status().map_err(|e| format!("cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!(
                "fuzz target {target} found a crash (see fuzz/artifacts/{target})"
            ));
        }
    }
    Ok(())
}

fn home_bin(program: &str) -> bool {
    std::env::var_os("HOME")
        .map(|home| {
            std::path::Path::new(&home)
                .join(".cargo/bin")
                .join(program)
                .is_file()
        })
        .unwrap_or(false)
}
