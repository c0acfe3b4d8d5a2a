//! `offloadctl disable`: the seed's shell loop (`for ETHADP in ...; do ethtool -K
//! $ETHADP rx off tx off ...; done`) in one process, over a real selection of
//! interfaces, with a snapshot first and an outcome per interface.

use std::path::PathBuf;
use std::process::ExitCode;

use offload_core::features::legacy_by_name;
use offload_ethtool::disable::{self, disable_one};
use offload_ethtool::iface::{self, Kind};
use offload_ethtool::{netns, snapshot};

use crate::ethtool_common::{self, code, glob_matches};

const SEED_FEATURES: &str = "rx,tx,sg,tso,ufo,gso,gro,lro";

/// Switch offloads off on many interfaces at once. Default: every interface but
/// loopback, the seed's eight features (rx tx sg tso ufo gso gro lro).
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Examples:\n  offloadctl disable --all --save /root/offload-before.json\n  offloadctl disable --kinds physical,bond --dry-run\n  offloadctl disable --include 'vif*' --features tx\n  offloadctl disable eth0 eth1\n\nExit codes for disable: 0 every interface done, 1 some, 2 none.\n{}", ethtool_common::EXIT_CODES_HELP))]
pub struct Args {
    /// Interfaces (default: all but loopback).
    ifaces: Vec<String>,
    /// Every interface of the namespace but loopback (the default without names).
    #[arg(long)]
    all: bool,
    /// Only interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Skip interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Only these kinds: loopback, physical, bond, bridge, vlan, veth, tap, xenvif, xentap, other.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Features to switch off: legacy names or kernel feature names.
    #[arg(long, value_delimiter = ',', default_value = SEED_FEATURES)]
    features: Vec<String>,
    /// Print the plan, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Save the current state here first (for `offloadctl restore`).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Network namespace (a name under /run/netns, or a path).
    #[arg(long)]
    netns: Option<String>,
    /// JSON report.
    #[arg(long)]
    json: bool,
}

fn select(args: &Args, all: Vec<iface::Interface>) -> Result<Vec<String>, String> {
    let mut kinds = Vec::new();
    for k in &args.kinds {
        kinds.push(Kind::from_name(k).ok_or_else(|| format!("unknown interface kind '{k}'"))?);
    }
    if !args.ifaces.is_empty() {
        return Ok(args.ifaces.clone());
    }
    Ok(all
        .into_iter()
        .filter(|i| {
            if kinds.is_empty() {
                i.kind != Kind::Loopback
            } else {
                kinds.contains(&i.kind)
            }
        })
        .filter(|i| {
            args.include.is_empty() || args.include.iter().any(|g| glob_matches(g, &i.name))
        })
        .filter(|i| !args.exclude.iter().any(|g| glob_matches(g, &i.name)))
        .map(|i| i.name)
        .collect())
}

/// Runs `offloadctl disable`.
pub fn run(args: Args) -> ExitCode {
    for f in &args.features {
        if legacy_by_name(f).is_none() && !f.contains('-') {
            return ethtool_common::usage(
                "disable",
                &format!("unknown feature '{f}'; nothing changed"),
            );
        }
    }
    let words: Vec<String> = args
        .features
        .iter()
        .flat_map(|f| [f.clone(), "off".to_string()])
        .collect();
    let netns_name = args.netns.clone();
    let listing = netns::run_in(netns_name.as_deref(), iface::list);
    let all = match listing {
        Ok(all) => all,
        Err(e) => return ethtool_common::fail("disable", &e),
    };
    let names = match select(&args, all) {
        Ok(names) => names,
        Err(message) => return ethtool_common::usage("disable", &message),
    };
    if names.is_empty() {
        eprintln!("offloadctl disable: no interface matches the selection; nothing changed");
        return ExitCode::from(code::NONE);
    }
    if let Some(path) = &args.save {
        let saved = {
            let names = names.clone();
            let ns = netns_name.clone();
            netns::run_in(netns_name.as_deref(), move || {
                snapshot::take(&names, ns.as_deref())
            })
        };
        let written = saved
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::to_string_pretty(&s).map_err(|e| e.to_string()))
            .and_then(|text| {
                std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
            });
        if let Err(message) = written {
            eprintln!("offloadctl disable: cannot save the snapshot: {message}; nothing changed");
            return ExitCode::from(code::OS);
        }
    }
    let dry_run = args.dry_run;
    let outcomes = {
        let names = names.clone();
        netns::run_in(netns_name.as_deref(), move || {
            Ok(names
                .iter()
                .map(|n| disable_one(n, &words, dry_run))
                .collect::<Vec<_>>())
        })
    };
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => return ethtool_common::fail("disable", &e),
    };
    if args.json {
        let doc = disable::report_json(dry_run, &outcomes);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for o in &outcomes {
            match (&o.error, o.result) {
                (Some(e), _) => println!("{}: failed: {e}", o.ifname),
                (None, "planned") if o.switched_off.is_empty() => {
                    println!("{}: nothing to switch off", o.ifname)
                }
                (None, "planned") => println!(
                    "{}: would switch off {}",
                    o.ifname,
                    o.switched_off.join(" ")
                ),
                (None, _) => {
                    let off = if o.switched_off.is_empty() {
                        "already off".to_string()
                    } else {
                        format!("switched off {}", o.switched_off.join(" "))
                    };
                    let stayed = if o.stayed_on.is_empty() {
                        String::new()
                    } else {
                        format!("; still on: {}", o.stayed_on.join(" "))
                    };
                    println!("{}: {off}{stayed}", o.ifname);
                }
            }
        }
    }
    let good = outcomes
        .iter()
        .filter(|o| o.result == "done" || o.result == "planned")
        .count();
    ethtool_common::tally(good, outcomes.len())
}
