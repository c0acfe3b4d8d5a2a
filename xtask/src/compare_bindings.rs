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
//! side [`C_SIDE`]: a program over liboffload's `offload_packet_verdicts`,
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
const BINDINGS: &[(&str, Side)] = &[("py", python_side), ("c", c_side)];

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

/// The C side: times liboffload (release, shared) exactly like `bindings_rust`
/// times the Rust API: calls doubled until a round takes 50 ms, best of 7.
const C_SIDE: &str = r#"
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <offload.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static offload_frame frames[4096];
static offload_verdict verdicts[4096];
static size_t count;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void batch(void) {
    if (offload_packet_verdicts(1, frames, count, verdicts) != OFFLOAD_RESULT_OK) abort();
}

static void single(void) {
    offload_verdict v;
    if (offload_packet_verdict(1, frames[1].data, frames[1].len, &v) != OFFLOAD_RESULT_OK) abort();
}

static void features(void) {
    offload_features *f = NULL;
    int err = 0;
    if (offload_features_read(NULL, "lo", &f, &err) != OFFLOAD_RESULT_OK) abort();
    offload_features_free(f);
}

static double per_call(void (*f)(void)) {
    size_t calls = 1;
    for (;;) {
        double t = now_ns();
        for (size_t i = 0; i < calls; i++) f();
        if (now_ns() - t >= 50e6) break;
        calls *= 2;
    }
    double best = 1e300;
    for (int round = 0; round < 7; round++) {
        double t = now_ns();
        for (size_t i = 0; i < calls; i++) f();
        double each = (now_ns() - t) / (double)calls;
        if (each < best) best = each;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    FILE *in = fopen(argv[1], "rb");
    if (!in) { perror(argv[1]); return 2; }
    static uint8_t data[1 << 22];
    size_t n = fread(data, 1, sizeof data, in);
    fclose(in);
    for (size_t at = 0; at + 4 <= n && count < 4096;) {
        uint32_t len = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 | (uint32_t)data[at + 2] << 16 | (uint32_t)data[at + 3] << 24;
        frames[count].data = data + at + 4;
        frames[count].len = len;
        count++;
        at += 4 + (size_t)len;
    }
    batch();
    size_t incorrect = 0;
    for (size_t i = 0; i < count; i++) incorrect += verdicts[i].transport == OFFLOAD_VERDICT_CLASS_INCORRECT;
    if (incorrect != count / 4) { fprintf(stderr, "expected %zu incorrect, got %zu\n", count / 4, incorrect); return 1; }
    printf("TIMING verdicts-batch %.1f\n", per_call(batch));
    printf("TIMING verdict-single %.1f\n", per_call(single));
    printf("TIMING features-read %.1f\n", per_call(features));
    return 0;
}
"#;

fn c_side(frames: &Path) -> Result<String, String> {
    let mut build = cargo();
    build
        .args(["build", "--release", "-p", "offload-capi"])
        .env("CARGO_TARGET_DIR", target_dir());
    util::run(build)?;
    let release = target_dir().join("release");
    // The library's soname is liboffload.so.0, as installed.
    let soname_link = release.join("liboffload.so.0");
    let _ = std::fs::remove_file(&soname_link);
    std::os::unix::fs::symlink("liboffload.so", &soname_link)
        .map_err(|e| format!("{}: {e}", soname_link.display()))?;
    let source = target_dir().join("bindings_c.c");
    let program = target_dir().join("bindings_c");
    std::fs::write(&source, C_SIDE).map_err(|e| format!("{}: {e}", source.display()))?;
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(util::workspace_root().join("include"))
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .arg("-L")
        .arg(&release)
        .arg(format!("-Wl,-rpath,{}", release.display()))
        .arg("-loffload");
    util::run(cc)?;
    let mut run = Command::new(&program);
    run.arg(frames);
    util::output(run)
}
