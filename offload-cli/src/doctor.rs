//! `offloadctl doctor`: is offloading hurting this host, and what is the
//! smallest fix? Translates the command line to `offload_diagnose::doctor`
//! (which owns the evidence, the rules and the knowledge file) and its report
//! back to text or JSON and an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_diagnose::doctor::{self, compare, DoctorConfig, Evidence, Knowledge, Report};

/// Arguments of `offloadctl doctor`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  offloadctl doctor
  offloadctl doctor --seconds 10 --json > before.json
  offloadctl doctor --netns lab --netns other
  offloadctl doctor --knowledge site-problems.json
  offloadctl doctor --evidence recorded.json
  offloadctl doctor --compare before.json after.json

It reads, never changes: kernel counters (InCsumErrors, InHdrErrors,
retransmits) and device counters (ethtool -S, /sys/class/net/*/statistics) as
deltas over the window, driver and PCI ids, and a short capture per interface
(needs root: CAP_NET_RAW; another namespace also CAP_SYS_ADMIN). Each finding
names its evidence, the likely cause and the smallest fix as exact commands;
offload artefacts are reported as such, with nothing to fix.

Exit codes: 0 nothing wrong (offload artefacts and advice only); 1 a problem
found (with --compare: problems remain or it got worse); 2 could not diagnose
(nothing could be read, or an unusable --knowledge, --evidence or --compare
file); 64 bad arguments.")]
pub struct Args {
    /// How long to watch counters and capture, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "N")]
    pub seconds: f64,
    /// Look at this network namespace (a name under /run/netns, or a path)
    /// instead of the current one; repeatable.
    #[arg(long, value_name = "NS")]
    pub netns: Vec<String>,
    /// Print the report as JSON (schema offload.doctor/1; with --compare
    /// offload.doctor.compare/1).
    #[arg(long)]
    pub json: bool,
    /// More known problems (schema offload.knowledge/1) on top of the
    /// built-in ones; repeatable.
    #[arg(long, value_name = "FILE")]
    pub knowledge: Vec<PathBuf>,
    /// Diagnose recorded evidence (the `evidence` of a --json report, or a
    /// whole report) instead of this host.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["netns", "compare"])]
    pub evidence: Option<PathBuf>,
    /// Compare two --json reports: did the change between them help?
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"])]
    pub compare: Vec<PathBuf>,
}

const COULD_NOT: u8 = 2;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("offloadctl doctor: {message}");
    ExitCode::from(COULD_NOT)
}

fn print(json: bool, value: &impl serde::Serialize, text: String) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(s) => outln!("{s}"),
            Err(e) => eprintln!("offloadctl doctor: {e}"),
        }
    } else {
        out!("{text}");
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_report(path: &Path) -> Result<Report, String> {
    Report::from_json(&read(path)?, &path.display().to_string()).map_err(|e| e.to_string())
}

fn read_evidence(path: &Path) -> Result<Evidence, String> {
    Evidence::from_json(&read(path)?, &path.display().to_string()).map_err(|e| e.to_string())
}

/// Runs `offloadctl doctor`.
pub fn run(args: Args) -> ExitCode {
    if let [before, after] = args.compare.as_slice() {
        let (before, after) = match (read_report(before), read_report(after)) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(e), _) | (_, Err(e)) => return fail(e),
        };
        let c = compare(&before, &after);
        print(args.json, &c, c.render_text());
        return ExitCode::from(c.exit_code() as u8);
    }
    let Some(window) = offload_diagnose::capture::duration_from_secs(args.seconds) else {
        eprintln!("offloadctl doctor: --seconds must be a positive number of seconds");
        return ExitCode::from(crate::ethtool_common::code::USAGE);
    };
    let mut knowledge = Knowledge::builtin();
    for file in &args.knowledge {
        if let Err(e) = knowledge.extend_from_file(file) {
            return fail(e);
        }
    }
    let evidence = match &args.evidence {
        Some(path) => match read_evidence(path) {
            Ok(e) => e,
            Err(e) => return fail(e),
        },
        None => {
            let interrupt = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                let _ = signal_hook::flag::register(signal, Arc::clone(&interrupt));
            }
            let (tell, started) = std::sync::mpsc::channel();
            let seconds = window.as_secs_f64();
            // One progress line on stderr when the window opens (stdout stays the report).
            std::thread::spawn(move || {
                if started.recv().is_ok() {
                    eprintln!("offloadctl doctor: watching for {seconds:.1} s");
                }
            });
            doctor::gather(&DoctorConfig {
                netns: if args.netns.is_empty() {
                    vec![None]
                } else {
                    args.netns.iter().cloned().map(Some).collect()
                },
                seconds,
                interrupt,
                window_started: Some(tell),
            })
        }
    };
    let report = Report::from_evidence(evidence, &knowledge);
    print(args.json, &report, report.render_text());
    ExitCode::from(report.exit_code() as u8)
}
