//! `cargo xtask compare pcap`: `offloadctl check` against the seed's
//! `tcpdump -nn -v -r FILE | grep -c incorrect` and against tshark with its
//! checksum checks switched on, on a generated IMIX capture (70 % correct, 29 %
//! offload-pending, 1 % corrupt) read from the page cache.
//!
//! Also reports packets/s and GB/s of a plain read of the same file, the ceiling
//! any reader has, and checks that our verdict counts match tcpdump's.
//!
//! Options: `--packets N` (default 1,000,000), `--tshark-packets N` (default
//! 100,000: tshark is slow, so it reads a prefix file of the same mix and we
//! compare packets per second), `--runs N` (best of N rounds, default 3; a round
//! runs ours, the baseline and tcpdump once each, in turn), `--baseline BIN`
//! (another `offloadctl`, e.g. built from an older commit, measured in the same
//! run so before and after are side by side).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::compare::print_ratio;
use crate::util::{self, cargo};

struct Options {
    packets: u64,
    tshark_packets: u64,
    runs: u32,
    baseline: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        packets: 1_000_000,
        tshark_packets: 100_000,
        runs: 3,
        baseline: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Result<u64, String> {
            it.next()
                .ok_or(format!("{flag} needs a value"))?
                .replace('_', "")
                .parse()
                .map_err(|e| format!("{flag}: {e}"))
        };
        if flag == "--baseline" {
            o.baseline = Some(it.next().ok_or("--baseline needs a path")?.into());
            continue;
        }
        match flag.as_str() {
            "--packets" => o.packets = value()?,
            "--tshark-packets" => o.tshark_packets = value()?,
            "--runs" => o.runs = value()?.max(1) as u32,
            other => return Err(format!("compare pcap: unknown option {other}")),
        }
    }
    Ok(o)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::workspace_root().join("target"))
}

/// Generates the IMIX capture with offload-core's packet synthesis (the
/// `imix_pcap` example of offload-diagnose), unless a file of that size exists.
fn generate(path: &Path, packets: u64) -> Result<(), String> {
    let stamp = path.with_extension("count");
    if path.is_file() && std::fs::read_to_string(&stamp).ok() == Some(packets.to_string()) {
        return Ok(());
    }
    let mut c = cargo();
    c.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "offload-diagnose",
        "--example",
        "imix_pcap",
        "--",
    ])
    .arg(path)
    .arg(packets.to_string());
    util::run(c)?;
    std::fs::write(&stamp, packets.to_string()).map_err(|e| e.to_string())
}

/// Runs `f` `runs` times and keeps the fastest (the page cache is warm after the first).
fn best_of<T>(
    runs: u32,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<(Duration, T), String> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f()?;
        let took = start.elapsed();
        let faster = match &best {
            Some((fastest, _)) => took < *fastest,
            None => true,
        };
        if faster {
            best = Some((took, value));
        }
    }
    best.ok_or_else(|| "no run".into())
}

fn shell(script: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .args(["-c", script])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{script}`: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `offloadctl check --json FILE` once: the time and the JSON.
fn check_once(offloadctl: &Path, path: &str) -> Result<(Duration, String), String> {
    let start = Instant::now();
    let out = Command::new(offloadctl)
        .args(["check", "--json", path])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", offloadctl.display()))?;
    let took = start.elapsed();
    // Exit 1 is expected: the file contains 1 % corrupt checksums.
    if out.status.code() == Some(2) {
        return Err(format!(
            "offloadctl check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// The best of `runs` rounds for each binary and for the tcpdump pipeline. A
/// round runs each once, in turn (ours, baseline, tcpdump), so a busy moment
/// on a shared host falls on all of them instead of on one; the rounds' own
/// ratios (ours against tcpdump in the same round) are kept too.
struct Rounds {
    /// Per binary: the fastest run and its JSON.
    checks: Vec<(Duration, String)>,
    /// The fastest tcpdump run and what it printed.
    tcpdump: (Duration, String),
    /// Per round: tcpdump's time over ours.
    ratios: Vec<f64>,
}

fn rounds(binaries: &[&Path], path: &str, runs: u32) -> Result<Rounds, String> {
    let mut best: Vec<Option<(Duration, String)>> = vec![None; binaries.len()];
    let mut tcpdump: Option<(Duration, String)> = None;
    let mut ratios = Vec::new();
    for _ in 0..runs {
        let mut ours = None;
        for (bin, slot) in binaries.iter().zip(best.iter_mut()) {
            let (took, json) = check_once(bin, path)?;
            ours.get_or_insert(took);
            if slot.as_ref().is_none_or(|(fastest, _)| took < *fastest) {
                *slot = Some((took, json));
            }
        }
        let start = Instant::now();
        let out = shell(&format!("tcpdump -nn -v -r '{path}' | grep -c incorrect"))?;
        let took = start.elapsed();
        if let Some(ours) = ours {
            ratios.push(took.as_secs_f64() / ours.as_secs_f64());
        }
        if tcpdump.as_ref().is_none_or(|(fastest, _)| took < *fastest) {
            tcpdump = Some((took, out));
        }
    }
    let checks = best
        .into_iter()
        .map(|b| b.ok_or_else(|| "no run".to_string()))
        .collect::<Result<_, _>>()?;
    Ok(Rounds {
        checks,
        tcpdump: tcpdump.ok_or("no run")?,
        ratios,
    })
}

fn rate(packets: u64, took: Duration) -> f64 {
    packets as f64 / took.as_secs_f64()
}

fn human(pps: f64) -> String {
    if pps >= 1e6 {
        format!("{:.2}Mpkt/s", pps / 1e6)
    } else {
        format!("{:.1}kpkt/s", pps / 1e3)
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    for tool in ["tcpdump", "tshark"] {
        if !util::have(tool) {
            return Err(format!(
                "compare pcap needs {tool} (apt-get install {tool})"
            ));
        }
    }
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("imix-{}.pcap", o.packets));
    let small = dir.join(format!("imix-{}.pcap", o.tshark_packets));
    generate(&file, o.packets)?;
    generate(&small, o.tshark_packets)?;

    let mut build = cargo();
    build.args(["build", "--quiet", "--release", "-p", "offload-cli"]);
    util::run(build)?;
    let offloadctl = target_dir().join("release/offloadctl");

    let size = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
    let path = file.display().to_string();

    // The ceiling: reading the file, warm in the page cache, into a 1 MiB buffer.
    let (read_time, _) = best_of(o.runs, || {
        let mut f = std::fs::File::open(&file).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        Ok(total)
    })?;

    let mut binaries = vec![offloadctl.as_path()];
    binaries.extend(o.baseline.as_deref());
    let Rounds {
        checks,
        tcpdump: (tcpdump_time, tcpdump_out),
        ratios,
    } = rounds(&binaries, &path, o.runs)?;
    let mut measured = checks.into_iter();
    let (ours_time, json) = measured.next().ok_or("no run")?;
    let ours_packets = util::json_number(&json, "packets").ok_or("no packet count in --json")?;
    let ours_incorrect = util::json_number(&json, "incorrect").unwrap_or(0);
    let ours_pending = util::json_number(&json, "offload_pending").unwrap_or(0);
    let baseline = match (&o.baseline, measured.next()) {
        (Some(bin), Some((took, json))) => {
            let same = util::json_number(&json, "incorrect") == Some(ours_incorrect)
                && util::json_number(&json, "offload_pending") == Some(ours_pending);
            Some((bin.clone(), took, same))
        }
        _ => None,
    };

    let tcpdump_incorrect: u64 = tcpdump_out.trim().parse().map_err(|_| "tcpdump count")?;

    let small_path = small.display().to_string();
    let (tshark_time, _) = best_of(o.runs.min(2), || {
        shell(&format!(
            "tshark -n -r '{small_path}' -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
             -o ip.check_checksum:TRUE > /dev/null"
        ))
    })?;

    let ours = rate(ours_packets, ours_time);
    let tcpdump = rate(o.packets, tcpdump_time);
    let tshark = rate(o.tshark_packets, tshark_time);
    let plain = rate(o.packets, read_time);
    let gbs = |t: Duration| size as f64 / t.as_secs_f64() / 1e9;

    println!(
        "file {path}: {} packets, {:.1} MB (IMIX TCP/IPv4, 70% correct, 29% offload-pending, 1% corrupt)",
        o.packets,
        size as f64 / 1e6
    );
    println!(
        "plain read (page cache): {:.3}s  {}  {:.2} GB/s",
        read_time.as_secs_f64(),
        human(plain),
        gbs(read_time)
    );
    println!(
        "offloadctl check:        {:.3}s  {}  {:.2} GB/s  ({:.0}% of plain read)",
        ours_time.as_secs_f64(),
        human(ours),
        gbs(ours_time),
        100.0 * read_time.as_secs_f64() / ours_time.as_secs_f64()
    );
    if let Some((bin, took, same)) = &baseline {
        println!(
            "baseline {}: {:.3}s  {}  ({:.0}% of plain read; verdict counts {})",
            bin.display(),
            took.as_secs_f64(),
            human(rate(o.packets, *took)),
            100.0 * read_time.as_secs_f64() / took.as_secs_f64(),
            if *same { "identical" } else { "DIFFER" }
        );
    }
    println!(
        "tcpdump -v | grep -c:    {:.3}s  {}",
        tcpdump_time.as_secs_f64(),
        human(tcpdump)
    );
    let each: Vec<String> = ratios.iter().map(|r| format!("x{r:.1}")).collect();
    println!(
        "ours vs tcpdump, round by round (each run beside the other): {}",
        each.join(" ")
    );
    println!(
        "tshark (checks on):      {:.3}s  {}  (on a {}-packet file of the same mix; compared in packets/s)",
        tshark_time.as_secs_f64(),
        human(tshark),
        o.tshark_packets
    );
    println!(
        "verdicts: offloadctl {ours_incorrect} incorrect + {ours_pending} offload-pending = {}; tcpdump prints `incorrect` {tcpdump_incorrect} times",
        ours_incorrect + ours_pending
    );
    print_ratio(
        "pcap-vs-tcpdump",
        &human(ours),
        &human(tcpdump),
        ours / tcpdump,
    );
    if let Some((_, took, _)) = &baseline {
        let before = rate(o.packets, *took);
        print_ratio(
            "pcap-baseline-vs-tcpdump",
            &human(before),
            &human(tcpdump),
            before / tcpdump,
        );
        print_ratio(
            "pcap-vs-baseline",
            &human(ours),
            &human(before),
            ours / before,
        );
    }
    print_ratio(
        "pcap-vs-tshark",
        &human(ours),
        &human(tshark),
        ours / tshark,
    );
    print_ratio(
        "pcap-vs-plain-read",
        &human(ours),
        &human(plain),
        ours / plain,
    );
    if ours_packets != o.packets {
        return Err(format!(
            "offloadctl read {ours_packets} packets, the file has {}",
            o.packets
        ));
    }
    if baseline.as_ref().is_some_and(|(_, _, same)| !same) {
        return Err("verdict counts differ from the baseline's".into());
    }
    if ours_incorrect + ours_pending != tcpdump_incorrect {
        return Err("verdict counts differ from tcpdump's".into());
    }
    Ok(())
}
