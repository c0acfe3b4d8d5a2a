//! `offloadctl xapi`: the seed's `xe pif-param-set` / `xe vif-param-set`
//! loops for a whole pool, through XAPI directly.
//!
//! Every decision (policies, trust, selection, what the host does with a
//! key) is offload-xapi's; these modules translate flags into its types and
//! its reports into text, JSON and exit codes.

mod connection;
mod exit;
mod host;
mod objects;
mod output;
pub(crate) mod policy_args;
mod restore;
mod watch;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use offload_xapi::{Client, Error};

use connection::Connection;
use exit::code;
use host::HostAction;
use objects::{Job, NetworkAction, PifAction, VifAction};
use watch::WatchArgs;

const EXIT_CODES_HELP: &str = "\
Exit codes: 0 done (verify: all match); 1 some objects failed or differ; 2 all failed;
64 bad arguments; 67 selection matches nothing; 70 wrong user or password;
71 host unreachable or timeout; 72 TLS or fingerprint mismatch; 73 not the pool
master; 74 malformed answer or HTTP error; 75 other XAPI error; 76 password
unreadable; 77 --save file exists (never replaced without --force); 78 undo file
unreadable, damaged or not writable; 130 interrupted.

Credentials never come from the command line: the password is read from
--password-file, the OFFLOAD_XAPI_PASSWORD environment variable, or a prompt.
With --socket (default in dom0: /var/lib/xcp/xapi) the host trusts the caller.";

/// Arguments of `offloadctl xapi`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct Args {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: XapiCommand,
}

#[derive(Debug, clap::Subcommand)]
enum XapiCommand {
    /// PIFs (host NICs, bonds, VLANs): other-config:ethtool-* keys.
    #[command(
        after_help = "Examples:\n  offloadctl xapi --url https://pool --fingerprint AB:CD:.. pif apply --preset seed\n  \
offloadctl xapi pif verify --preset seed --host 'xen*'\n  offloadctl xapi pif apply --set tso=off --device eth1 --replug"
    )]
    Pif {
        #[command(subcommand)]
        action: PifAction,
    },
    /// VIFs of VMs (not dom0, templates or snapshots): other-config:ethtool-* keys.
    #[command(
        after_help = "Examples:\n  offloadctl xapi vif apply --preset seed --replug\n  \
offloadctl xapi vif apply --preset tx-only --vm 'pfsense*' --reboot\n  offloadctl xapi vif clear --all-keys --vm old-router"
    )]
    Vif {
        #[command(subcommand)]
        action: VifAction,
    },
    /// Undo `pif apply --save FILE` / `vif apply --save FILE`: put back what they changed.
    Restore(restore::RestoreArgs),
    /// Networks: other-config:ethtool-* keys, applied to each host's bridge when a PIF of the
    /// network is plugged (a policy's PIF settings).
    #[command(after_help = "Examples:\n  offloadctl xapi network list\n  \
offloadctl xapi network apply --set gro=off --network xenbr1 --replug\n  offloadctl xapi network verify --preset seed --network 'Pool-wide*'")]
    Network {
        #[command(subcommand)]
        action: NetworkAction,
    },
    /// Keep a policy applied to PIFs and VIFs created later (event.from), until Ctrl-C.
    Watch(WatchArgs),
    /// Run the offload plugin in dom0 of each host (host.call_plugin): changes NICs and vifD.N now.
    Host {
        #[command(subcommand)]
        action: HostAction,
    },
}

/// Runs `offloadctl xapi`.
pub fn run(args: Args) -> ExitCode {
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Stop starting new objects; the report and the logout still happen.
        let _ = signal_hook::flag::register(signal, cancel.clone());
    }
    match run_inner(args, cancel.clone()) {
        Ok(code) if cancel.load(Ordering::SeqCst) => {
            eprintln!("offloadctl xapi: interrupted; the report above says what was done");
            let _ = code;
            ExitCode::from(code::INTERRUPTED)
        }
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("offloadctl xapi: {e}");
            ExitCode::from(exit::for_error(&e))
        }
    }
}

fn run_inner(args: Args, cancel: Arc<AtomicBool>) -> Result<u8, Error> {
    // Check everything local before touching the network.
    let options = args.connection.options()?;
    let job = match args.command {
        XapiCommand::Watch(w) => return watch::run(&options, &w, cancel),
        XapiCommand::Host { action } => {
            let job = host::HostJob::new(action)?;
            let client = Client::connect(options)?;
            let result = job.run(&client);
            let _ = client.logout();
            return result;
        }
        XapiCommand::Restore(r) => {
            let file = r.load()?;
            let client = Client::connect(options)?;
            let result = r.run(&client, &file, cancel);
            let _ = client.logout();
            return result;
        }
        XapiCommand::Pif { action } => Job::from(action),
        XapiCommand::Vif { action } => Job::from(action),
        XapiCommand::Network { action } => Job::from(action),
    };
    let policy = job.policy()?;
    let client = Client::connect(options)?;
    let result = job.run(&client, policy.as_ref(), cancel);
    // Logout on every path, errors included.
    let _ = client.logout();
    result
}
