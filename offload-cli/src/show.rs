//! `offloadctl show`: the seed's `ethtool -k eth0`, byte for byte, for one
//! interface, every interface, or as JSON.

use std::process::ExitCode;

use offload_ethtool::features::{legacy, FeatureState};
use offload_ethtool::{iface, netns};

use crate::ethtool_common::{self, code};

/// Show offload features. For one interface the output is `ethtool -k IFACE`'s,
/// byte for byte (stdout, stderr, exit code).
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Examples:\n  offloadctl show eth0\n  offloadctl show --all --json\n  offloadctl show vif1.0 --netns lab\n\n{}", ethtool_common::EXIT_CODES_HELP))]
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

/// The `-k` text and, with the full feature set, the state (None for the
/// legacy ioctls, which old kernels without ETHTOOL_GFEATURES still answer).
fn read_text(name: &str) -> offload_ethtool::Result<(String, Option<FeatureState>)> {
    let legacy = || legacy::read(name).map(|l| (l.render_ethtool_k(), None));
    if legacy::forced() {
        return legacy();
    }
    match FeatureState::read(name) {
        Ok(state) => Ok((state.render_ethtool_k(), Some(state))),
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => legacy(),
        Err(e) => Err(e),
    }
}

/// Runs `offloadctl show`.
pub fn run(args: Args) -> ExitCode {
    if args.ifaces.is_empty() && !args.all {
        return ethtool_common::usage("show", "name an interface, or give --all");
    }
    let netns_name = args.netns.clone();
    let wanted = args.ifaces.clone();
    let all = args.all;
    let read = netns::run_in(netns_name.as_deref(), move || {
        let names = if all {
            iface::list()?.into_iter().map(|i| i.name).collect()
        } else {
            wanted
        };
        Ok(names
            .into_iter()
            .map(|name| {
                let state = read_text(&name);
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
            Ok(text_and_state) => states.push(text_and_state),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) && !args.json && !all => {
                // ethtool 6.1 (netlink) words it so; keep scripts that grep it working.
                eprintln!("netlink error: no device matches name (offset 24)");
                eprintln!("netlink error: No such device");
                exit = 1;
            }
            Err(e) => {
                eprintln!("offloadctl show: {name}: {e}");
                exit = ethtool_common::exit_code_for(&e);
            }
        }
    }
    if args.json {
        let doc = serde_json::json!({
            "schema": "offload.features/1",
            "interfaces": states.iter().filter_map(|(_, s)| s.as_ref()).map(FeatureState::json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let texts: Vec<&str> = states.iter().map(|(text, _)| text.as_str()).collect();
        print!("{}", texts.join("\n"));
    }
    ExitCode::from(exit)
}
