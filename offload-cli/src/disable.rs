//! `offloadctl disable`: the seed's shell loop (`for ETHADP in ...; do ethtool -K
//! $ETHADP rx off tx off ...; done`) in one process, over a real selection of
//! interfaces, with a snapshot first and an outcome per interface. The work is
//! offload-ethtool's `disable::run`; this only translates.

use std::path::PathBuf;
use std::process::ExitCode;

use offload_ethtool::disable::{self, Disable, Features, SaveTo};
use offload_ethtool::iface::{Selection, Targets};
use offload_ethtool::outcome::{Report, Status};
use offload_ethtool::IfName;

use crate::ethtool_common;

/// Switch offloads off on many interfaces at once. Default: every interface
/// but loopback, the `seed` preset (rx tx sg tso ufo gso gro lro on the
/// host's interfaces; rx tx sg tso ufo gso on guest backends vifD.N/tapD.N).
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Examples:\n  offloadctl disable --all --save /root/offload-before.json\n  offloadctl disable --kinds physical,bond --dry-run\n  offloadctl disable --include 'vif*' --features tx\n  offloadctl disable --targets vifs --preset tx-only\n  offloadctl disable eth0 eth1\n\nNamed interfaces cannot be combined with --all, --targets, --kinds, --include or --exclude.\nA --save file is never replaced: a second run refuses (exit 67) unless --force,\nwhich adds new interfaces and keeps the state already saved.\n\nExit codes for disable: 0 every interface done, 1 some, 2 none.\n{}", ethtool_common::EXIT_CODES_HELP))]
pub struct Args {
    /// Interfaces (default: all but loopback).
    ifaces: Vec<String>,
    /// Every interface of the namespace but loopback (the default without names).
    #[arg(long)]
    all: bool,
    /// all (every interface but loopback), nics (the host's own), vifs (guest backends).
    #[arg(long, default_value = "all", value_parser = ["all", "nics", "vifs"])]
    targets: String,
    /// Only interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Skip interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Only these kinds: loopback, physical, bond, bridge, vlan, veth, tap, xenvif, xentap, other.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// A preset: seed (default) or tx-only (alias pfsense).
    #[arg(long, conflicts_with = "features")]
    preset: Option<String>,
    /// Features to switch off on every interface: legacy or kernel feature names.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Print the plan, change nothing, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Save the current state here first (for `offloadctl restore`).
    #[arg(long)]
    save: Option<PathBuf>,
    /// With --save: add to an existing snapshot (its saved state is kept).
    #[arg(long, requires = "save")]
    force: bool,
    /// Network namespace (a name under /run/netns, or a path).
    #[arg(long)]
    netns: Option<String>,
    /// JSON report (schema offload.disable/2).
    #[arg(long)]
    json: bool,
}

fn command(args: Args) -> offload_ethtool::Result<Disable> {
    let names = args
        .ifaces
        .iter()
        .map(IfName::new)
        .collect::<offload_ethtool::Result<Vec<_>>>()?;
    let targets = Targets::from_name(&args.targets).unwrap_or_default();
    let selection = Selection::new(
        names,
        args.all,
        targets,
        &args.kinds,
        args.include,
        args.exclude,
    )?;
    let features = match (args.preset, args.features.is_empty()) {
        (Some(name), _) => Features::preset(&name)?,
        (None, true) => Features::default(),
        (None, false) => Features::named(args.features)?,
    };
    Ok(Disable {
        netns: args.netns,
        selection,
        features,
        dry_run: args.dry_run,
        save: args.save.map(|path| SaveTo {
            path,
            force: args.force,
        }),
        stop: Some(ethtool_common::interrupt_flag()),
    })
}

/// One line per interface.
fn print_text(report: &Report) {
    for o in &report.interfaces {
        let line = match o.status {
            Status::Failed => format!("failed: {}", o.error.as_deref().unwrap_or("")),
            Status::Planned if o.changed.is_empty() => "nothing to switch off".to_string(),
            Status::Planned => format!("would switch off {}", o.changed.join(" ")),
            Status::Skipped => "skipped: the preset sets nothing on it".to_string(),
            _ => {
                let off = if o.changed.is_empty() {
                    "already off".to_string()
                } else {
                    format!("switched off {}", o.changed.join(" "))
                };
                let stayed = if o.refused.is_empty() {
                    String::new()
                } else {
                    format!("; still on: {}", o.refused.join(" "))
                };
                off + &stayed
            }
        };
        ethtool_common::print_line(&format!("{}: {line}", o.ifname));
    }
}

/// Runs `offloadctl disable`.
pub fn run(args: Args) -> ExitCode {
    let json = args.json;
    let report = match command(args).and_then(disable::run) {
        Ok(report) => report,
        Err(e) => return ethtool_common::fail("disable", &e),
    };
    if json {
        ethtool_common::print_line(&report.to_json_pretty());
    } else {
        print_text(&report);
    }
    ethtool_common::report_exit(&report)
}
