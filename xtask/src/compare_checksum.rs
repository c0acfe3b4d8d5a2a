//! `cargo xtask compare checksum`: runs the checksum and verdict criterion benches and turns
//! the estimates into RATIO lines, ours against the fastest peer of each group.
//!
//! Criterion writes `target/criterion/<group>/<id>/new/estimates.json`; the median's
//! point estimate (ns) is read from there, for every entry alike: on a shared
//! two-core machine a few preempted samples pull the mean of a 5 ns call by tens
//! of percent, and which peer they hit decides the ratio; the median does not move. A second run builds the peers (and
//! us) with AVX2 enabled at compile time, the strongest form of every peer.

use std::path::{Path, PathBuf};

use crate::compare::print_ratio;
use crate::util::{self, cargo};

const QUICK: &[&str] = &["--warm-up-time", "1", "--measurement-time", "2"];

pub fn run(args: &[String]) -> Result<(), String> {
    let filter = args.first().cloned();
    let default_dir = util::workspace_root().join("target/compare-checksum");
    bench(&default_dir, None, filter.as_deref())?;
    report(&default_dir, "")?;
    let avx2_dir = util::workspace_root().join("target/compare-checksum-avx2");
    bench(
        &avx2_dir,
        Some("-C target-feature=+avx2"),
        Some("checksum_1500/"),
    )?;
    report(&avx2_dir, "avx2-build:")?;
    Ok(())
}

fn bench(target: &Path, rustflags: Option<&str>, filter: Option<&str>) -> Result<(), String> {
    // (package, bench): the checksum peers, and the per-packet verdicts (benched
    // in offload-diagnose, with the test kit's packet synthesis building the IMIX mix).
    let benches = [
        ("offload-core", "checksum"),
        ("offload-diagnose", "verdicts"),
    ];
    for (package, name) in benches {
        if filter.is_some_and(|f| !f.starts_with(name)) {
            continue;
        }
        let mut c = cargo();
        c.env("CARGO_TARGET_DIR", target)
            .args(["bench", "-p", package, "--bench", name, "--"])
            .args(QUICK);
        if let Some(flags) = rustflags {
            c.env("RUSTFLAGS", flags);
        }
        if let Some(f) = filter {
            c.arg(f);
        }
        util::run(c)?;
    }
    Ok(())
}

/// One RATIO line per criterion group that has an `ours` entry.
fn report(target: &Path, prefix: &str) -> Result<(), String> {
    let criterion = target.join("criterion");
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&criterion)
        .map_err(|e| format!("{}: {e}", criterion.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("ours").is_dir())
        .collect();
    groups.sort_by_key(|p| sort_key(p));
    for group in groups {
        let name = group
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(ours) = median_ns(&group.join("ours")) else {
            continue;
        };
        let mut best: Option<(String, f64)> = None;
        for entry in std::fs::read_dir(&group)
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let id = entry.file_name().to_string_lossy().into_owned();
            if id == "ours" || id == "report" || id == "read_sum" {
                continue;
            }
            if let Some(ns) = median_ns(&entry.path()) {
                if best.as_ref().is_none_or(|(_, b)| ns < *b) {
                    best = Some((id, ns));
                }
            }
        }
        if let Some((peer, peer_ns)) = best {
            print_ratio(
                &format!("{prefix}{name}"),
                &format!("{ours:.2}ns"),
                &format!("{peer}:{peer_ns:.2}ns"),
                peer_ns / ours,
            );
        }
        // The memory ceiling of the verdict benches: a plain read-sum of the same bytes.
        if let Some(ceiling) = median_ns(&group.join("read_sum")) {
            print_ratio(
                &format!("{prefix}{name}-vs-read_sum"),
                &format!("{ours:.2}ns"),
                &format!("read_sum:{ceiling:.2}ns"),
                ceiling / ours,
            );
        }
    }
    Ok(())
}

/// Groups in numeric order of their size / offset suffix.
fn sort_key(path: &Path) -> (String, u64) {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let digits: String = name
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    let number = digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (
        name.trim_end_matches(|c: char| c.is_ascii_digit())
            .to_string(),
        number,
    )
}

/// The median point estimate in ns from criterion's `new/estimates.json`.
fn median_ns(bench_dir: &Path) -> Option<f64> {
    let json = std::fs::read_to_string(bench_dir.join("new/estimates.json")).ok()?;
    let median = &json[json.find("\"median\"")?..];
    let at = median.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let number: String = median[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number.parse().ok()
}
