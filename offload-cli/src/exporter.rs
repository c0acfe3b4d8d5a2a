//! `offloadctl exporter`: Prometheus metrics of offload state, served on
//! `--listen` or written to `--textfile DIR` for node_exporter. The metric
//! model and the server are offload-exporter's; this only reads flags.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use offload_ethtool::iface::{Selection, Targets};
use offload_exporter::capture::{Sampler, SamplerConfig};
use offload_exporter::http::{self, Limits};
use offload_exporter::xapi::{XapiConfig, XapiSource};
use offload_exporter::{textfile, Exporter};
use offload_xapi::local;

use crate::ethtool_common::{self, code};
use crate::xapi::policy_args::PolicyArgs;

/// Arguments of `offloadctl exporter`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  offloadctl exporter --listen 127.0.0.1:9817
  offloadctl exporter --textfile /var/lib/node_exporter/textfile --interval 60
  offloadctl exporter --listen 127.0.0.1:9817 --capture eth0 --capture-seconds 5

In dom0 (when xapi's socket exists) it also reports whether this host's PIFs
and its guests' VIFs match the policy (--preset, default seed, or --set).

Exit codes: 0 stopped by SIGTERM/SIGINT, or the textfile written once;
2 cannot listen or write; 4 not permitted to enter the namespace;
5 network namespace missing; 64 bad arguments.")]
pub struct Args {
    /// Serve GET /metrics on this address (e.g. 127.0.0.1:9817; port 0 picks one).
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present = "textfile",
        conflicts_with = "textfile"
    )]
    listen: Option<String>,
    /// Write DIR/offload.prom for node_exporter's textfile collector (atomically).
    #[arg(long, value_name = "DIR")]
    textfile: Option<PathBuf>,
    /// With --textfile: rewrite it every N seconds until stopped (default: once).
    #[arg(long, value_name = "SECS", requires = "textfile")]
    interval: Option<u64>,
    /// Read the interfaces of this network namespace (a name under /run/netns, or a path).
    #[arg(long, value_name = "NS")]
    netns: Option<String>,
    /// all (every interface but loopback), nics (the host's own), vifs (guest backends).
    #[arg(long, default_value = "all", value_parser = ["all", "nics", "vifs"])]
    targets: String,
    /// Only these kinds: loopback, physical, bond, bridge, vlan, veth, tap, xenvif, xentap, other.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Only interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Skip interfaces whose name matches this glob (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// xapi's local socket (default /var/lib/xcp/xapi when it exists).
    #[arg(long, value_name = "PATH", conflicts_with = "no_xapi")]
    xapi_socket: Option<PathBuf>,
    /// Leave out the XAPI policy metrics even in dom0.
    #[arg(long)]
    no_xapi: bool,
    /// This host's uuid (default: INSTALLATION_UUID of /etc/xensource-inventory).
    #[arg(long, value_name = "UUID")]
    host_uuid: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Ask xapi every N seconds (in the background; scrapes read the last answer).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    xapi_refresh: u64,
    /// Sample checksums by capturing on this interface (repeatable; needs CAP_NET_RAW).
    #[arg(long, value_name = "IFACE")]
    capture: Vec<String>,
    /// Sample on every interface that is up.
    #[arg(long, conflicts_with = "capture")]
    capture_all: bool,
    /// Length of each capture sample.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    capture_seconds: u64,
    /// Time between the starts of two capture samples.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    capture_interval: u64,
}

/// How long one xapi call may take.
const XAPI_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `offloadctl exporter`.
pub fn run(args: Args) -> ExitCode {
    let selection = match Selection::new(
        Vec::new(),
        false,
        Targets::from_name(&args.targets).unwrap_or_default(),
        &args.kinds,
        args.include.clone(),
        args.exclude.clone(),
    ) {
        Ok(s) => s,
        Err(e) => return ethtool_common::fail("exporter", &e),
    };
    if args.capture_seconds == 0 || args.capture_interval == 0 || args.interval == Some(0) {
        return ethtool_common::usage(
            "exporter",
            "intervals and lengths must be at least 1 second",
        );
    }
    // A namespace that cannot be entered is a mistake to report now, not a
    // collector that stays down.
    if let Err(e) = offload_ethtool::netns::run_in(args.netns.as_deref(), || {
        Ok::<(), offload_ethtool::Error>(())
    }) {
        return ethtool_common::fail("exporter", &e);
    }
    let mut exporter = Exporter::new(args.netns.clone(), selection);
    match xapi_config(&args) {
        Ok(Some(config)) => {
            let source = XapiSource::start(config);
            if args.textfile.is_some() {
                // The file is written at once: with xapi's answer in it.
                source.wait_for_answer(XAPI_TIMEOUT + Duration::from_secs(1));
            }
            exporter.xapi = Some(source);
        }
        Ok(None) => {}
        Err(message) => return ethtool_common::usage("exporter", &message),
    }
    if args.capture_all || !args.capture.is_empty() {
        exporter.sampler = Some(Sampler::start(SamplerConfig {
            interfaces: args.capture.clone(),
            netns: args.netns.clone(),
            length: Duration::from_secs(args.capture_seconds),
            interval: Duration::from_secs(args.capture_interval),
        }));
    }
    let stop = ethtool_common::interrupt_flag();
    if let Some(dir) = &args.textfile {
        loop {
            let started = Instant::now();
            if let Err(e) = textfile::write(dir, &exporter.render()) {
                ethtool_common::print_error("exporter", &e.to_string());
                return ExitCode::from(code::NONE);
            }
            let Some(every) = args.interval else {
                return ExitCode::SUCCESS;
            };
            while started.elapsed() < Duration::from_secs(every) {
                if stop.load(Ordering::SeqCst) {
                    return ExitCode::SUCCESS;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let address = args.listen.unwrap_or_default();
    let listener = match TcpListener::bind(&address) {
        Ok(l) => l,
        Err(e) => {
            ethtool_common::print_error("exporter", &format!("listen on {address}: {e}"));
            return ExitCode::from(code::NONE);
        }
    };
    if let Ok(bound) = listener.local_addr() {
        // The bound address (port 0 picks one): for the log and for scripts.
        ethtool_common::print_error("exporter", &format!("listening on http://{bound}/metrics"));
    }
    match http::serve(&listener, Limits::default(), &stop, &|| exporter.render()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ethtool_common::print_error("exporter", &e.to_string());
            ExitCode::from(code::NONE)
        }
    }
}

/// The xapi source: None when not asked for and not in dom0.
fn xapi_config(args: &Args) -> Result<Option<XapiConfig>, String> {
    if args.no_xapi {
        return Ok(None);
    }
    let socket = match &args.xapi_socket {
        Some(path) => path.clone(),
        None => {
            let dom0 = PathBuf::from(offload_xapi::transport::DOM0_SOCKET);
            if !dom0.exists() {
                return Ok(None);
            }
            dom0
        }
    };
    let host_uuid = match &args.host_uuid {
        Some(uuid) => uuid.clone(),
        None => local::installation_uuid(std::path::Path::new(local::INVENTORY))
            .map_err(|e| format!("{e} (give --host-uuid)"))?,
    };
    // Monitoring needs a policy to compare with; the seed's is the default.
    let mut policy = args.policy.clone();
    if policy.preset.is_none() && policy.set.is_none() {
        policy.preset = Some("seed".into());
    }
    let policy = policy.policy().map_err(|e| e.to_string())?;
    Ok(Some(XapiConfig {
        socket,
        host_uuid,
        policy,
        refresh: Duration::from_secs(args.xapi_refresh),
        timeout: XAPI_TIMEOUT,
    }))
}
