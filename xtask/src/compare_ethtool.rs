//! `cargo xtask compare ethtool`: `offloadctl disable --all` against the seed's
//! shell loop of `ethtool -K ... rx off tx off sg off tso off ufo off gso off
//! gro off lro off`, on 500 veth pairs (1000 interfaces) in a namespace created
//! for the run and removed after it. Features are reset between runs and the end
//! states compared. Also prints our time against the kernel's own (system) time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::compare::print_ratio;
use crate::util::{self, cargo};

const PAIRS: usize = 500;
const SEED_ARGS: &str = "rx off tx off sg off tso off ufo off gso off gro off lro off";

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn sh(script: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .args(["-c", script])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}",
            script.lines().next().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Wall time of `script` and the system (kernel) time of its processes, from the
/// shell's `times` builtin (children's user and system time).
fn timed(script: &str) -> Result<(Duration, f64), String> {
    let started = Instant::now();
    // `times` prints the shell's children's user and system time on its second line.
    let out = sh(&format!("{script} >/dev/null 2>&1; times"))?;
    let wall = started.elapsed();
    let children = out.lines().nth(1).unwrap_or("");
    let sys = children
        .split_whitespace()
        .nth(1)
        .and_then(parse_times)
        .unwrap_or(0.0);
    Ok((wall, sys))
}

/// Parses `0m1.234s`.
fn parse_times(text: &str) -> Option<f64> {
    let (m, s) = text.trim_end_matches('s').split_once('m')?;
    Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

fn state(ns: &str) -> Result<String, String> {
    sh(&format!(
        "ip -n {ns} -o link show | awk -F': ' '{{print $2}}' | cut -d@ -f1 | sort | \
         while read i; do ip netns exec {ns} ethtool -k $i | tail -n +2; done | md5sum"
    ))
}

fn reset(ns: &str) -> Result<(), String> {
    sh(&format!(
        "ip netns exec {ns} sh -c 'for i in $(ls /sys/class/net); do [ $i = lo ] || ethtool -K $i rx on tx on sg on tso on gso on gro off >/dev/null 2>&1; done'"
    ))
    .map(|_| ())
}

pub fn run(_args: &[String]) -> Result<(), String> {
    if !util::is_root() {
        return Err("compare ethtool needs root (a namespace with 500 veth pairs)".into());
    }
    if !util::have("ethtool") {
        return Err("compare ethtool needs ethtool (apt-get install ethtool)".into());
    }
    let mut build = cargo();
    build.args(["build", "--release", "--quiet", "-p", "offload-cli"]);
    util::run(build)?;
    let target = util::target_dir();
    let offloadctl = target.join("release/offloadctl");

    let ns = Namespace(format!("ofcmp-eth-{}", std::process::id()));
    let mut batch = String::new();
    for i in 0..PAIRS {
        batch.push_str(&format!("link add a{i} type veth peer name b{i}\n"));
    }
    let batch_file = std::env::temp_dir().join(format!("{}.batch", ns.0));
    std::fs::write(&batch_file, batch).map_err(|e| e.to_string())?;
    sh(&format!(
        "ip netns add {0} && ip -n {0} -batch {1}",
        ns.0,
        batch_file.display()
    ))?;
    let _ = std::fs::remove_file(&batch_file);
    println!("namespace {} with {} veth interfaces", ns.0, PAIRS * 2);

    reset(&ns.0)?;
    let (seed_wall, seed_sys) = timed(&format!(
        "ip netns exec {} sh -c 'for i in $(ls /sys/class/net); do [ $i = lo ] || ethtool -K $i {SEED_ARGS}; done'",
        ns.0
    ))?;
    let seed_state = state(&ns.0)?;

    reset(&ns.0)?;
    let (ours_wall, ours_sys) = timed(&format!(
        "{} disable --all --netns {}",
        offloadctl.display(),
        ns.0
    ))?;
    let ours_state = state(&ns.0)?;
    if ours_state != seed_state {
        return Err("end states differ between offloadctl disable and the seed's loop".into());
    }
    println!(
        "end state identical (ethtool -k of all {} interfaces)",
        PAIRS * 2
    );
    print_ratio(
        "ethtool-disable-1000-ifaces",
        &format!("{:.3}s", ours_wall.as_secs_f64()),
        &format!("seed-loop:{:.3}s", seed_wall.as_secs_f64()),
        seed_wall.as_secs_f64() / ours_wall.as_secs_f64(),
    );
    // The bar: our whole run (wall) against the kernel's own system time for
    // the same 1000 interfaces (the seed loop's, which is all kernel work plus
    // its process start-ups); within 1.5x is the target.
    print_ratio(
        "ethtool-disable-vs-kernel-time",
        &format!("{:.3}s", ours_wall.as_secs_f64()),
        &format!("kernel-sys:{seed_sys:.3}s"),
        seed_sys / ours_wall.as_secs_f64(),
    );
    println!("offloadctl's own system time: {ours_sys:.3}s");
    Ok(())
}
