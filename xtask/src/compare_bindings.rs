//! `cargo xtask compare bindings`: what calling the engine through a binding
//! costs, against the Rust API doing the same work in the same process shape.
//!
//! Every side prints `TIMING <call> <ns per call>` lines for the same calls on
//! the same frames (written by the Rust side to a file: little-endian u32
//! length + bytes per frame):
//! - `verdicts-batch`: per-packet verdicts of the whole 64-frame batch;
//! - `verdict-single`: the verdicts of one frame;
//! - `features-read`: reading the offload features of `lo` (read only).
//!
//! The Rust side is offload-py's example `bindings_rust`; the Python side runs
//! `PYTHON_SIDE` against the module built with `maturin develop --release`.
//! Another binding plugs in as one more entry of [`BINDINGS`]: a function that
//! builds its side and returns its TIMING lines for the frames file (the C
//! side: a program over liboffload's `offload_packet_verdicts`,
//! `offload_packet_verdict` and `offload_features_read`).
//!
//! Lines: `RATIO bindings-<binding>-<call> ours=<binding ns> peer=<rust ns> x<rust/binding>`
//! (compare.rs's convention, peer / ours for times: x0.50 means the binding
//! takes twice as long as the Rust API).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::compare::print_ratio;
use crate::util::{self, cargo};

/// A binding's side: builds what it needs, returns its TIMING lines.
type Side = fn(&Path) -> Result<String, String>;

/// The bindings compared with the Rust API: (name in the RATIO line, side).
const BINDINGS: &[(&str, Side)] = &[("py", python_side)];

/// The calls, as named in TIMING lines and in RATIO lines.
const CALLS: &[(&str, &str)] = &[
    ("verdicts-batch", "verdicts"),
    ("verdict-single", "verdict-single"),
    ("features-read", "features"),
];

fn target_dir() -> PathBuf {
    util::workspace_root().join("target/bindings")
}

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "compare bindings takes no arguments (got `{extra}`)"
        ));
    }
    let frames = target_dir().join("frames.bin");
    let rust = timings(&rust_side(&frames)?);
    for (binding, side) in BINDINGS {
        let theirs = timings(&side(&frames)?);
        for (call, label) in CALLS {
            let (Some(ours), Some(peer)) = (lookup(&theirs, call), lookup(&rust, call)) else {
                return Err(format!(
                    "no `{call}` timing from the {binding} or Rust side"
                ));
            };
            print_ratio(
                &format!("bindings-{binding}-{label}"),
                &format!("{ours:.0}ns"),
                &format!("{peer:.0}ns"),
                peer / ours,
            );
            println!(
                "  {binding} {call}: {ours:.0} ns per call, Rust {peer:.0} ns, overhead {:.0} ns ({:.2}x the Rust time)",
                ours - peer,
                ours / peer
            );
        }
    }
    Ok(())
}

fn timings(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "TIMING").then_some(())?;
            let call = words.next()?.to_string();
            Some((call, words.next()?.parse().ok()?))
        })
        .collect()
}

fn lookup(timings: &[(String, f64)], call: &str) -> Option<f64> {
    timings.iter().find(|(c, _)| c == call).map(|(_, ns)| *ns)
}

fn rust_side(frames: &Path) -> Result<String, String> {
    let mut build = cargo();
    build
        .args([
            "build",
            "--release",
            "-p",
            "offload-py",
            "--example",
            "bindings_rust",
        ])
        .env("CARGO_TARGET_DIR", target_dir());
    util::run(build)?;
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    let mut run = Command::new(target_dir().join("release/examples/bindings_rust"));
    run.arg(frames);
    util::output(run)
}

/// Times the module the way `bindings_rust` times the Rust API: calls doubled
/// until a round takes 50 ms, then the best of 7 rounds.
const PYTHON_SIDE: &str = r#"
import struct, sys, time
import offload

data = open(sys.argv[1], "rb").read()
frames, at = [], 0
while at < len(data):
    (n,) = struct.unpack_from("<I", data, at)
    frames.append(data[at + 4 : at + 4 + n])
    at += 4 + n

def per_call(f):
    calls = 1
    while True:
        t = time.perf_counter_ns()
        for _ in range(calls):
            f()
        if time.perf_counter_ns() - t >= 50_000_000:
            break
        calls *= 2
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter_ns()
        for _ in range(calls):
            f()
        best = min(best, (time.perf_counter_ns() - t) / calls)
    return best

assert sum(o.transport.kind == "incorrect" for o in offload.classify_batch(frames)) == len(frames) // 4
print("TIMING verdicts-batch %.1f" % per_call(lambda: offload.classify_batch(frames)))
one = frames[1]
print("TIMING verdict-single %.1f" % per_call(lambda: offload.classify(one)))
print("TIMING features-read %.1f" % per_call(lambda: offload.read_features("lo")))
"#;

fn python_side(frames: &Path) -> Result<String, String> {
    let venv = util::ensure_venv()?;
    let mut path = std::ffi::OsString::from(venv.join("bin"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut develop = Command::new(venv.join("bin/maturin"));
    develop
        .args([
            "develop",
            "--release",
            "--quiet",
            "-m",
            "offload-py/Cargo.toml",
        ])
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", target_dir());
    util::run(develop)?;
    let mut python = Command::new(venv.join("bin/python"));
    python.args(["-c", PYTHON_SIDE]).arg(frames);
    util::output(python)
}
