//! `offloadctl show`: the seed's `ethtool -k eth0`, byte for byte, for one
//! interface, every interface, or as JSON.

use std::process::ExitCode;

use offload_ethtool::features::{Ethtool, InterfaceJson, Readout};
use offload_ethtool::{iface, netns, IfName};

use crate::ethtool_common::{self, code};

/// `show IFACE` stands in for `ethtool -k IFACE` in scripts, so a missing
/// interface answers exactly as ethtool 6.1 does.
const SHOW_MISSING_HELP: &str = "\
show IFACE for an interface that does not exist prints what ethtool -k prints
(netlink error: no device matches name ...) and exits 1, as ethtool 6.1 does,
so scripts written for ethtool keep working; with --json it is exit 3.";

/// Show offload features. For one interface the output is `ethtool -k IFACE`'s,
/// byte for byte (stdout, stderr, exit code).
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Examples:\n  offloadctl show eth0\n  offloadctl show --all --json\n  offloadctl show vif1.0 --netns lab\n\n{}\n\n{}", ethtool_common::EXIT_CODES_HELP, SHOW_MISSING_HELP))]
pub struct Args {
    /// Interfaces to show.
    ifaces: Vec<String>,
    /// Show every interface of the namespace.
    #[arg(long)]
    all: bool,
    /// Network namespace (a name under /run/netns, or a path).
    #[arg(long)]
    netns: Option<String>,
    /// JSON (schema offload.features/1) instead of ethtool's text.
    #[arg(long)]
    json: bool,
}

/// Runs `offloadctl show`.
pub fn run(args: Args) -> ExitCode {
    if args.ifaces.is_empty() && !args.all {
        return ethtool_common::usage("show", "name an interface, or give --all");
    }
    if !args.ifaces.is_empty() && args.all {
        return ethtool_common::usage("show", "name interfaces or give --all, not both");
    }
    let wanted = match args
        .ifaces
        .iter()
        .map(IfName::new)
        .collect::<offload_ethtool::Result<Vec<_>>>()
    {
        Ok(names) => names,
        Err(e) => return ethtool_common::fail("show", &e),
    };
    let netns_name = args.netns.clone();
    let all = args.all;
    let read = netns::run_in(netns_name.as_deref(), move || {
        let ethtool = Ethtool::open()?;
        let names = if all {
            iface::list_with(&ethtool)?
                .into_iter()
                .map(|i| i.name)
                .collect()
        } else {
            wanted
        };
        Ok(names
            .into_iter()
            .map(|name| {
                let state = Readout::read(&ethtool, &name);
                (name, state)
            })
            .collect::<Vec<_>>())
    });
    let results = match read {
        Ok(r) => r,
        Err(e) => return ethtool_common::fail("show", &e),
    };
    let mut exit = code::OK;
    let mut states = Vec::new();
    for (name, result) in results {
        match result {
            Ok(shown) => states.push(shown),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) && !args.json && !all => {
                // ethtool 6.1 (netlink) words it so; keep scripts that grep it working.
                eprintln!("netlink error: no device matches name (offset 24)");
                eprintln!("netlink error: No such device");
                exit = 1;
            }
            Err(e) => {
                // The error names the interface already.
                let _ = name;
                ethtool_common::print_error("show", &e.to_string());
                exit = ethtool_common::exit_code_for(&e);
            }
        }
    }
    if args.json {
        let doc = FeaturesReport {
            schema: "offload.features/1",
            interfaces: states.iter().map(Readout::json).collect(),
        };
        ethtool_common::print_line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let texts: Vec<String> = states.iter().map(Readout::render_ethtool_k).collect();
        ethtool_common::print_text(&texts.join("\n"));
    }
    ExitCode::from(exit)
}

/// `show --json`.
#[derive(serde::Serialize)]
struct FeaturesReport<'a> {
    schema: &'static str,
    interfaces: Vec<InterfaceJson<'a>>,
}
