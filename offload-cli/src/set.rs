//! `offloadctl set`: the seed's `ethtool -K eth0 rx off tx off ...`, accepting
//! exactly what ethtool accepts and leaving the same state, with ethtool 6.1's
//! "Actual changes:" report and, on stderr, why a request was not honoured.

use std::process::ExitCode;

use offload_ethtool::features::{legacy, ChangeReport, Ethtool, Request};
use offload_ethtool::outcome::{Outcome, Report, Status};
use offload_ethtool::{netns, IfName};

use crate::ethtool_common::{self, code};

/// Change offload features: `offloadctl set eth0 rx off tx off sg off ...`.
/// Legacy names (rx, tx, sg, tso, ufo, gso, gro, lro, rxvlan, txvlan, ntuple,
/// rxhash, or their long forms) and kernel feature names, each followed by on|off.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Examples:\n  offloadctl set eth0 rx off tx off sg off tso off ufo off gso off gro off lro off\n  offloadctl set eth0 tx-checksum-ip-generic off\n  offloadctl set vif1.0 tx off --netns lab\n  offloadctl set eth0 tx off --dry-run --json\n\n{}\n{}", ethtool_common::EXIT_CODES_HELP, REPORT_HELP))]
pub struct Args {
    /// The interface.
    iface: String,
    /// Feature names and values: NAME on|off ... (`--netns NS`, `--dry-run`, `--json` may follow).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    features: Vec<String>,
    /// Network namespace (a name under /run/netns, or a path).
    #[arg(long)]
    netns: Option<String>,
    /// Print what would move; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON report (schema offload.set/1, as disable's) instead of ethtool's text.
    #[arg(long)]
    json: bool,
}

/// How `--dry-run` and `--json` answer.
const REPORT_HELP: &str = "\
With --dry-run or --json, set reports as disable does: one outcome (changed,
unchanged, partial, refused, planned) with the kernel features that moved or
would move, and exit 0 when every named feature is as asked, already or now.";

/// The schema of `set --json`.
const SET_SCHEMA: &str = "offload.set/1";

/// Why a named feature did not reach its requested value.
fn reason(report: &ChangeReport, feature: &str) -> &'static str {
    let after = &report.after;
    match after.index_of(feature) {
        Some(i) if after.is_fixed(i) => "fixed: the driver does not let it change",
        Some(_) => "dropped by the kernel: it depends on another feature that is off",
        None => "unsupported",
    }
}

/// `set` through the legacy per-feature ioctls (kernels without ETHTOOL_GFEATURES,
/// or OFFLOAD_ETHTOOL_LEGACY=1): legacy names only; prints the groups that changed.
fn run_legacy(args: &Args, iface: IfName) -> ExitCode {
    let words = args.features.clone();
    let outcome = netns::run_in(args.netns.as_deref(), move || {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        legacy::apply(&iface, &refs)
    });
    match outcome {
        Ok((before, after)) => {
            let changed: Vec<String> = before
                .values
                .iter()
                .zip(&after.values)
                .filter(|(b, a)| b.1 != a.1)
                .filter_map(|(_, (f, v))| {
                    v.map(|on| format!("{}: {}", f.long_name, if on { "on" } else { "off" }))
                })
                .collect();
            if changed.is_empty() {
                eprintln!("Could not change any device features");
                return ExitCode::from(code::SOME);
            }
            ethtool_common::print_line(&format!("Actual changes:\n{}", changed.join("\n")));
            ExitCode::from(code::OK)
        }
        Err(e @ offload_ethtool::Error::InvalidRequest { .. }) => {
            ethtool_common::usage("set", &e.to_string())
        }
        Err(e) => ethtool_common::fail("set", &e),
    }
}

/// Runs `offloadctl set`.
pub fn run(mut args: Args) -> ExitCode {
    // Options after the feature list land in the trailing words.
    if let Some(at) = args.features.iter().position(|w| w == "--netns") {
        if at + 1 >= args.features.len() {
            return ethtool_common::usage("set", "--netns needs a namespace");
        }
        args.netns = Some(args.features.remove(at + 1));
        args.features.remove(at);
    }
    for (flag, value) in [("--dry-run", &mut args.dry_run), ("--json", &mut args.json)] {
        if let Some(at) = args.features.iter().position(|w| w == flag) {
            args.features.remove(at);
            *value = true;
        }
    }
    let iface = match IfName::new(&args.iface) {
        Ok(name) => name,
        Err(e) => return ethtool_common::fail("set", &e),
    };
    if args.dry_run || args.json {
        return run_report(&args, iface);
    }
    if legacy::forced() {
        return run_legacy(&args, iface);
    }
    let words = args.features.clone();
    // One socket, one read, one change, one re-read of the masks.
    let outcome = netns::run_in(args.netns.as_deref(), move || {
        let ethtool = Ethtool::open()?;
        let state = ethtool.read(&iface)?;
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let request = match Request::parse(&state, &refs) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("{e}; nothing changed"))),
        };
        ethtool.apply(state, request).map(Ok)
    });
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(message)) => return ethtool_common::usage("set", &message),
        Err(e) => return ethtool_common::fail("set", &e),
    };
    for long_name in &report.request.not_present {
        eprintln!("offloadctl set: {long_name}: not present on this kernel (nothing to change)");
    }
    ethtool_common::print_text(&report.render_ethtool());
    for change in report.changes().iter().filter(|c| c.refused) {
        eprintln!(
            "offloadctl set: {} stays {}: {}",
            change.feature,
            if change.active { "on" } else { "off" },
            reason(&report, &change.feature)
        );
    }
    if report.nothing_changed() {
        eprintln!("Could not change any device features");
        return ExitCode::from(code::SOME);
    }
    ExitCode::from(code::OK)
}

/// `set --dry-run` / `set --json`: one read, the plan or the change, and the
/// outcome in the vocabulary of disable and restore (idempotent callers such
/// as configuration management read `status` and `changed`).
fn run_report(args: &Args, iface: IfName) -> ExitCode {
    if legacy::forced() {
        return ethtool_common::usage(
            "set",
            "--dry-run and --json need the kernel's feature interface (ETHTOOL_GFEATURES)",
        );
    }
    let words = args.features.clone();
    let dry_run = args.dry_run;
    let outcome = netns::run_in(args.netns.as_deref(), move || {
        let ethtool = Ethtool::open()?;
        let state = ethtool.read(&iface)?;
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let request = match Request::parse(&state, &refs) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("{e}; nothing changed"))),
        };
        if dry_run {
            let mut outcome = Outcome::new(iface, None, Status::Planned);
            outcome.changed = request.plan(&state);
            return Ok(Ok(outcome));
        }
        ethtool
            .apply(state, request)
            .map(|report| Ok(report.outcome()))
    });
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(message)) => return ethtool_common::usage("set", &message),
        Err(e) => return ethtool_common::fail_as("set", &e, args.json),
    };
    let report = Report {
        schema: SET_SCHEMA,
        dry_run,
        interfaces: vec![outcome],
        interrupted: false,
    };
    if args.json {
        ethtool_common::print_line(&report.to_json_pretty());
    } else {
        for o in &report.interfaces {
            let line = if o.changed.is_empty() {
                "nothing would change".to_string()
            } else {
                format!("would change {}", o.changed.join(" "))
            };
            ethtool_common::print_line(&format!("{}: {line}", o.ifname));
        }
    }
    ethtool_common::report_exit(&report)
}
