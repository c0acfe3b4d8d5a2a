//! `offloadctl xapi`: the seed's `xe pif-param-set` / `xe vif-param-set`
//! loops for a whole pool, through XAPI directly.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use offload_xapi::ops::{self, BulkReport, RunOptions, Selection, Status};
use offload_xapi::policy::{PifFilter, Policy, VifFilter};
use offload_xapi::records::PifKind;
use offload_xapi::watch::{self, WatchEvent};
use offload_xapi::{Client, ConnectOptions, Endpoint, Error, Protocol, Trust};

/// Exit codes of `offloadctl xapi` (also in `--help`).
pub mod code {
    pub const OK: u8 = 0;
    /// Some objects failed, or `verify` found objects that differ.
    pub const SOME: u8 = 1;
    /// Every object failed.
    pub const NONE: u8 = 2;
    pub const USAGE: u8 = 64;
    /// The selection (VM name, host, network) matches nothing.
    pub const NO_MATCH: u8 = 67;
    /// Wrong user or password.
    pub const AUTH: u8 = 70;
    /// Host unreachable, connection refused or broken, timeout.
    pub const UNREACHABLE: u8 = 71;
    /// TLS failure or certificate fingerprint mismatch.
    pub const TLS: u8 = 72;
    /// The host is a pool member and the master could not be reached through it.
    pub const NOT_MASTER: u8 = 73;
    /// The server's answer was not valid XML-RPC/JSON-RPC, or an HTTP error.
    pub const PROTOCOL: u8 = 74;
    /// Another XAPI error.
    pub const API: u8 = 75;
    /// The password could not be read.
    pub const CREDENTIALS: u8 = 76;
    /// Interrupted (Ctrl-C); the report says what was done.
    pub const INTERRUPTED: u8 = 130;
}

const EXIT_CODES_HELP: &str = "\
Exit codes: 0 done (verify: all match); 1 some objects failed or differ; 2 all failed;
64 bad arguments; 67 selection matches nothing; 70 wrong user or password;
71 host unreachable or timeout; 72 TLS or fingerprint mismatch; 73 not the pool
master; 74 malformed answer or HTTP error; 75 other XAPI error; 76 password
unreadable; 130 interrupted.

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

#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Connection")]
struct Connection {
    /// Pool master URL: https://HOST, https://HOST:PORT, http://HOST:PORT or unix:/PATH.
    #[arg(long, global = true, env = "OFFLOAD_XAPI_URL", value_name = "URL")]
    url: Option<String>,
    /// xapi's local unix socket (dom0). Default when no --url: /var/lib/xcp/xapi.
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "url")]
    socket: Option<PathBuf>,
    /// User name.
    #[arg(long, global = true, env = "OFFLOAD_XAPI_USER", default_value = "root")]
    user: String,
    /// File whose first line is the password.
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Trust exactly this certificate (SHA-256, hex with or without colons).
    #[arg(long, global = true, value_name = "SHA256")]
    fingerprint: Option<String>,
    /// Do not check the host's certificate at all.
    #[arg(long, global = true, conflicts_with = "fingerprint")]
    insecure: bool,
    /// Speak JSON-RPC (/jsonrpc) instead of XML-RPC.
    #[arg(long, global = true)]
    json_rpc: bool,
    /// Seconds before a call times out.
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
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
    /// Keep a policy applied to PIFs and VIFs created later (event.from), until Ctrl-C.
    Watch(WatchArgs),
    /// Run the offload plugin in dom0 of each host (host.call_plugin): changes NICs and vifD.N now.
    Host {
        #[command(subcommand)]
        action: HostAction,
    },
}

/// `pif ...` and `vif ...`: the same four actions over their own selection
/// (`S`) and apply options (`A`).
#[derive(Debug, clap::Subcommand)]
enum Action<S: Select, A: ApplyArgs> {
    /// Show every ethtool-* key and whether the host will apply it.
    List(ListArgs<S>),
    /// Write the policy's keys where they differ.
    Apply(A),
    /// Check the keys against a policy, as the host will read them.
    Verify(VerifyArgs<S>),
    /// Remove the policy's keys (or all offload keys with --all-keys).
    Clear(ClearArgs<S>),
}

type PifAction = Action<PifSelect, PifApply>;
type VifAction = Action<VifSelect, VifApply>;

#[derive(Debug, clap::Subcommand)]
enum HostAction {
    /// Apply a policy to NICs and/or vifD.N backends in dom0 now, on each host.
    Apply(HostApply),
    /// Report each host's offload state (the plugin's `report`).
    Report(HostSelect),
}

#[derive(Debug, Clone, clap::Args)]
struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// One line per object, also for unchanged ones.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Debug, Clone, clap::Args)]
struct PolicyArgs {
    /// A named policy: seed (the seed's six keys off) or tx-only (ethtool-tx=off on VIFs).
    #[arg(long, conflicts_with = "set", value_name = "NAME")]
    preset: Option<String>,
    /// Explicit settings, e.g. tx=off,sg=off (ethtool names or XAPI keys; on|off|true|false).
    #[arg(long, value_name = "KEY=VALUE,..")]
    set: Option<String>,
}

impl PolicyArgs {
    fn policy(&self) -> Result<Policy, Error> {
        match (&self.preset, &self.set) {
            (Some(name), _) => Policy::preset(name),
            (None, Some(spec)) => Policy::from_settings(spec),
            (None, None) => Err(Error::InvalidArgument {
                what: "policy".into(),
                message: "give --preset seed|tx-only or --set KEY=VALUE,..".into(),
            }),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Parallel connections.
    #[arg(long, default_value_t = 8)]
    workers: usize,
}

impl Default for RunArgs {
    fn default() -> RunArgs {
        RunArgs {
            dry_run: false,
            workers: 8,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
struct PifSelect {
    /// Only PIFs of these hosts (name, hostname or uuid; globs; repeatable).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Only these devices (globs, e.g. 'eth*'; repeatable).
    #[arg(long = "device", value_name = "DEVICE")]
    devices: Vec<String>,
    /// Only PIFs on these networks (name, bridge or uuid; globs; repeatable).
    #[arg(long = "network", value_name = "NETWORK")]
    networks: Vec<String>,
    /// Only these kinds (repeatable).
    #[arg(long = "kind", value_enum)]
    kinds: Vec<KindArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KindArg {
    Physical,
    Bond,
    Vlan,
}

impl PifSelect {
    fn selection(&self) -> Selection {
        Selection::Pifs(PifFilter {
            hosts: self.hosts.clone(),
            devices: self.devices.clone(),
            networks: self.networks.clone(),
            kinds: self
                .kinds
                .iter()
                .map(|k| match k {
                    KindArg::Physical => PifKind::Physical,
                    KindArg::Bond => PifKind::Bond,
                    KindArg::Vlan => PifKind::Vlan,
                })
                .collect(),
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
struct VifSelect {
    /// Only VMs whose name matches (globs; repeatable).
    #[arg(long = "vm", value_name = "NAME")]
    vm_names: Vec<String>,
    /// Only the VM with this uuid (repeatable).
    #[arg(long = "vm-uuid", value_name = "UUID")]
    vm_uuids: Vec<String>,
    /// Only VIFs on these networks (name, bridge or uuid; globs; repeatable).
    #[arg(long = "network", value_name = "NETWORK")]
    networks: Vec<String>,
}

impl VifSelect {
    fn selection(&self) -> Selection {
        Selection::Vifs(VifFilter {
            vm_names: self.vm_names.clone(),
            vm_uuids: self.vm_uuids.clone(),
            networks: self.networks.clone(),
        })
    }
}

/// `list`: a selection and an output format.
#[derive(Debug, clap::Args)]
struct ListArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    output: Output,
}

/// `verify`: a selection and a policy.
#[derive(Debug, clap::Args)]
struct VerifyArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    output: Output,
}

/// `clear`: the policy's keys, or all offload keys.
#[derive(Debug, clap::Args)]
struct ClearArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Remove every ethtool offload key (link settings stay).
    #[arg(long, conflicts_with_all = ["preset", "set"])]
    all_keys: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    output: Output,
}

/// A selection that becomes a [`Selection`].
trait Select: clap::Args {
    fn selection(&self) -> Selection;
}

impl Select for PifSelect {
    fn selection(&self) -> Selection {
        PifSelect::selection(self)
    }
}

impl Select for VifSelect {
    fn selection(&self) -> Selection {
        VifSelect::selection(self)
    }
}

impl<S: Select> ListArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::List,
            selection: self.select.selection(),
            policy: None,
            run: RunArgs::default(),
            output: self.output,
        }
    }
}

impl<S: Select> VerifyArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::Verify,
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: RunArgs::default(),
            output: self.output,
        }
    }
}

impl<S: Select> ClearArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::Clear,
            selection: self.select.selection(),
            policy: (!self.all_keys).then_some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

#[derive(Debug, clap::Args)]
struct PifApply {
    #[command(flatten)]
    select: PifSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Re-apply now with PIF.plug on attached PIFs (may briefly interrupt the link).
    #[arg(long)]
    replug: bool,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, clap::Args)]
struct VifApply {
    #[command(flatten)]
    select: VifSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Unplug and plug changed VIFs of running VMs so the backend re-reads them now.
    #[arg(long)]
    replug: bool,
    /// Clean-reboot running VMs whose VIFs changed (after --replug, only where it failed).
    #[arg(long)]
    reboot: bool,
    /// At most this many reboots at once.
    #[arg(long, default_value_t = 2, value_name = "N")]
    reboot_limit: usize,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, clap::Args)]
struct WatchArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Watch PIFs only.
    #[arg(long, conflicts_with = "vifs_only")]
    pifs_only: bool,
    /// Watch VIFs only.
    #[arg(long)]
    vifs_only: bool,
    #[command(flatten)]
    vif_select: VifSelect,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct HostSelect {
    /// Every host of the pool.
    #[arg(long, conflicts_with = "hosts")]
    all_hosts: bool,
    /// Only these hosts (name or uuid; globs; repeatable).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct HostApply {
    #[command(flatten)]
    select: HostSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    /// What to change in dom0: nics, vifs or all.
    #[arg(long, default_value = "all", value_parser = ["nics", "vifs", "all"])]
    targets: String,
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
            ExitCode::from(exit_code_for(&e))
        }
    }
}

fn exit_code_for(error: &Error) -> u8 {
    match error {
        Error::InvalidArgument { what, message }
            if message.contains("matches no") || what.starts_with("--vm") =>
        {
            code::NO_MATCH
        }
        Error::InvalidArgument { .. } => code::USAGE,
        Error::Credentials { .. } => code::CREDENTIALS,
        Error::Transport { .. } | Error::Timeout { .. } => code::UNREACHABLE,
        Error::Tls { .. } | Error::CertificateMismatch { .. } => code::TLS,
        Error::Http { .. } | Error::Decode { .. } => code::PROTOCOL,
        Error::Api { code: c, .. } if c == "SESSION_AUTHENTICATION_FAILED" => code::AUTH,
        Error::Api { code: c, .. } if c == "HOST_IS_SLAVE" => code::NOT_MASTER,
        Error::Interrupted => code::INTERRUPTED,
        _ => code::API,
    }
}

fn connect_options(c: &Connection) -> Result<ConnectOptions, Error> {
    let endpoint = match (&c.url, &c.socket) {
        (Some(url), _) => Endpoint::parse(url)?,
        (None, Some(path)) => Endpoint::Unix(path.clone()),
        (None, None) => {
            let dom0 = PathBuf::from(offload_xapi::transport::DOM0_SOCKET);
            if !dom0.exists() {
                return Err(Error::InvalidArgument {
                    what: "connection".into(),
                    message: format!(
                        "give --url or --socket (no {} here: not a dom0)",
                        dom0.display()
                    ),
                });
            }
            Endpoint::Unix(dom0)
        }
    };
    let password = match (&endpoint, &c.password_file) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Credentials {
                source: path.display().to_string(),
                message: e.to_string(),
            })?;
            text.lines().next().unwrap_or("").to_string()
        }
        (_, None) if std::env::var_os("OFFLOAD_XAPI_PASSWORD").is_some() => {
            std::env::var("OFFLOAD_XAPI_PASSWORD").map_err(|_| Error::Credentials {
                source: "OFFLOAD_XAPI_PASSWORD".into(),
                message: "not valid UTF-8".into(),
            })?
        }
        // The local socket is pre-authenticated: any password works.
        (Endpoint::Unix(_), None) => String::new(),
        (Endpoint::Tcp { .. }, None) => {
            if !std::io::stdin().is_terminal() {
                return Err(Error::Credentials {
                    source: "prompt".into(),
                    message: "no terminal to ask on: use --password-file or OFFLOAD_XAPI_PASSWORD"
                        .into(),
                });
            }
            rpassword::prompt_password(format!("Password for {}@{}: ", c.user, endpoint.display()))
                .map_err(|e| Error::Credentials {
                    source: "prompt".into(),
                    message: e.to_string(),
                })?
        }
    };
    let mut options = ConnectOptions::new(endpoint, c.user.clone(), password);
    options.trust = match (&c.fingerprint, c.insecure) {
        (Some(fp), _) => Trust::Pinned(offload_xapi::tls::parse_fingerprint(fp)?),
        (None, true) => Trust::Insecure,
        (None, false) => Trust::System,
    };
    options.protocol = if c.json_rpc {
        Protocol::JsonRpc
    } else {
        Protocol::XmlRpc
    };
    options.timeout = Duration::from_secs(c.timeout.max(1));
    Ok(options)
}

fn run_inner(args: Args, cancel: Arc<AtomicBool>) -> Result<u8, Error> {
    // Check everything local before touching the network.
    let options = connect_options(&args.connection)?;
    let job = match args.command {
        XapiCommand::Watch(w) => return watch_pool(&options, &w, cancel),
        XapiCommand::Host { action } => {
            let (select, function, plugin_args) = host_job(action)?;
            let client = Client::connect(options)?;
            let result = host(&client, &select, function, &plugin_args);
            let _ = client.logout();
            return result;
        }
        XapiCommand::Pif { action } => Job::from(action),
        XapiCommand::Vif { action } => Job::from(action),
    };
    let policy = job.policy()?;
    let client = Client::connect(options)?;
    let result = job.run(&client, policy.as_ref(), cancel);
    // Logout on every path, errors included.
    let _ = client.logout();
    result
}

/// What `pif ...` and `vif ...` ask for, with the class folded into the selection.
struct Job {
    op: Op,
    selection: Selection,
    policy: Option<PolicyArgs>,
    run: RunArgs,
    output: Output,
}

enum Op {
    List,
    Apply {
        replug: bool,
        reboot: bool,
        reboot_limit: usize,
    },
    Verify,
    Clear,
}

/// The apply options of `pif apply` / `vif apply`, as a [`Job`].
trait ApplyArgs: clap::Args {
    fn job(self) -> Job;
}

impl ApplyArgs for PifApply {
    fn job(self) -> Job {
        Job {
            op: Op::Apply {
                replug: self.replug,
                reboot: false,
                reboot_limit: 0,
            },
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

impl ApplyArgs for VifApply {
    fn job(self) -> Job {
        Job {
            op: Op::Apply {
                replug: self.replug,
                reboot: self.reboot,
                reboot_limit: self.reboot_limit,
            },
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

impl<S: Select, A: ApplyArgs> From<Action<S, A>> for Job {
    fn from(action: Action<S, A>) -> Job {
        match action {
            Action::List(a) => a.job(),
            Action::Verify(a) => a.job(),
            Action::Clear(a) => a.job(),
            Action::Apply(a) => a.job(),
        }
    }
}

impl Job {
    /// The policy, checked before anything is read or written (a typo or a
    /// key the host ignores on this kind of object fails here).
    fn policy(&self) -> Result<Option<Policy>, Error> {
        let Some(args) = &self.policy else {
            return Ok(None);
        };
        let policy = args.policy()?;
        policy.check_for(self.selection.object())?;
        Ok(Some(policy))
    }

    fn run(
        self,
        client: &Client,
        policy: Option<&Policy>,
        cancel: Arc<AtomicBool>,
    ) -> Result<u8, Error> {
        let missing = || Error::InvalidArgument {
            what: "policy".into(),
            message: "missing".into(),
        };
        match self.op {
            Op::List => list(client, &self.selection, &self.output),
            Op::Verify => verify(
                client,
                policy.ok_or_else(missing)?,
                &self.selection,
                &self.output,
            ),
            Op::Clear => clear(
                client,
                policy,
                &self.selection,
                &self.run,
                &self.output,
                cancel,
            ),
            Op::Apply {
                replug,
                reboot,
                reboot_limit,
            } => {
                let policy = policy.ok_or_else(missing)?;
                apply(
                    client,
                    policy,
                    &self.selection,
                    &self.run,
                    &self.output,
                    cancel,
                    (replug, reboot, reboot_limit),
                )
            }
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn list(client: &Client, selection: &Selection, output: &Output) -> Result<u8, Error> {
    let objects = ops::list(client, selection)?;
    if output.json {
        print_json(&serde_json::json!({"schema": "offload.xapi.list/1", "objects": objects}));
    } else {
        for object in &objects {
            if object.keys.is_empty() && !output.verbose {
                continue;
            }
            println!(
                "{} {} {}",
                object.target.class, object.target.uuid, object.target.label
            );
            for key in &object.keys {
                let verdict = match &key.verdict {
                    offload_xapi::policy::KeyVerdict::Applied { on } => {
                        format!("applied ({})", if *on { "on" } else { "off" })
                    }
                    offload_xapi::policy::KeyVerdict::IgnoredValue { reason } => {
                        format!("IGNORED: {reason}")
                    }
                    offload_xapi::policy::KeyVerdict::IgnoredKey { reason } => {
                        format!("IGNORED: {reason}")
                    }
                    offload_xapi::policy::KeyVerdict::LinkSetting => "link setting".to_string(),
                };
                println!("    {}={:?}  {verdict}", key.key, key.value);
            }
        }
        let with_keys = objects.iter().filter(|o| !o.keys.is_empty()).count();
        let problems: usize = objects.iter().map(|o| o.problems()).sum();
        println!(
            "{} objects, {with_keys} with ethtool keys, {problems} keys the host ignores",
            objects.len()
        );
    }
    Ok(if objects.iter().any(|o| o.problems() > 0) {
        code::SOME
    } else {
        code::OK
    })
}

fn run_options(run: &RunArgs, cancel: Arc<AtomicBool>, json: bool) -> RunOptions {
    let progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>> =
        (!json && std::io::stderr().is_terminal()).then(|| {
            Arc::new(|done: usize, total: usize| {
                let width = 30;
                let filled = done * width / total.max(1);
                eprint!(
                    "\r[{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
                if done == total {
                    eprintln!();
                }
            }) as Arc<dyn Fn(usize, usize) + Send + Sync>
        });
    RunOptions {
        workers: run.workers,
        dry_run: run.dry_run,
        cancel: Some(cancel),
        progress,
    }
}

fn print_report(report: &BulkReport, output: &Output) {
    let verb = if report.dry_run {
        "would change"
    } else {
        "changed"
    };
    for o in &report.objects {
        let keys = o
            .changes
            .iter()
            .map(|c| match &c.to {
                Some(v) => format!("{}={v}", c.key),
                None => format!("-{}", c.key),
            })
            .collect::<Vec<_>>()
            .join(" ");
        match o.status {
            Status::Failed => {
                let error = o
                    .error
                    .as_ref()
                    .map_or(String::new(), |e| e.message.clone());
                let written = if o.written.is_empty() {
                    "nothing".to_string()
                } else {
                    o.written.join(" ")
                };
                println!(
                    "  FAILED     {} {}  {error}; written before the failure: {written}",
                    o.target.uuid, o.target.label
                );
            }
            Status::NotAttempted => println!(
                "  not done   {} {}  (interrupted)",
                o.target.uuid, o.target.label
            ),
            Status::Changed | Status::WouldChange
                if output.verbose || report.objects.len() <= 50 =>
            {
                println!("  {verb:<10} {} {}  {keys}", o.target.uuid, o.target.label)
            }
            Status::Unchanged if output.verbose => {
                println!("  unchanged  {} {}", o.target.uuid, o.target.label)
            }
            _ => {}
        }
    }
    let changed = report.count(Status::Changed) + report.count(Status::WouldChange);
    println!(
        "{} {} (policy {}): {} objects, {changed} {verb}, {} unchanged, {} failed, {} not done; {} calls in {:.2} s",
        report.class,
        if report.dry_run { "dry run" } else { "done" },
        report.policy,
        report.objects.len(),
        report.count(Status::Unchanged),
        report.count(Status::Failed),
        report.count(Status::NotAttempted),
        report.calls,
        report.seconds
    );
    let pending: Vec<_> = report
        .objects
        .iter()
        .filter(|o| o.pending.is_some())
        .collect();
    if !pending.is_empty() && !report.dry_run {
        let (when, hint) = if report.class == "PIF" {
            (
                "the host applies them at the next PIF.plug or host boot",
                "--replug (PIF.plug)",
            )
        } else {
            (
                "their VMs run: applied at the next VIF plug, VM start or API reboot",
                "--replug or --reboot",
            )
        };
        let management = pending
            .iter()
            .filter(|o| {
                o.pending
                    .as_deref()
                    .is_some_and(|p| p.contains("management"))
            })
            .count();
        let management = if management > 0 {
            format!(" ({management} management PIFs: a replug briefly interrupts them)")
        } else {
            String::new()
        };
        println!(
            "{} {}s still run with the old settings: {when}{management}. Use {hint} to apply now.",
            pending.len(),
            report.class
        );
    }
}

fn tally(report: &BulkReport) -> u8 {
    let attempted = report
        .objects
        .iter()
        .filter(|o| o.status != Status::Unchanged)
        .count();
    let bad = report
        .objects
        .iter()
        .filter(|o| matches!(o.status, Status::Failed | Status::NotAttempted))
        .count();
    if bad == 0 {
        code::OK
    } else if bad < attempted {
        code::SOME
    } else {
        code::NONE
    }
}

/// `(replug, reboot, reboot_limit)`.
type FollowUp = (bool, bool, usize);

fn apply(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    run: &RunArgs,
    output: &Output,
    cancel: Arc<AtomicBool>,
    (replug, reboot, reboot_limit): FollowUp,
) -> Result<u8, Error> {
    let report = ops::apply(
        client,
        policy,
        selection,
        &run_options(run, cancel.clone(), output.json),
    )?;
    let actions = if (replug || reboot) && !report.dry_run && !cancel.load(Ordering::SeqCst) {
        ops::take_effect(client, &report, replug, reboot, reboot_limit)?
    } else {
        Vec::new()
    };
    if output.json {
        print_json(
            &serde_json::json!({"schema": "offload.xapi.apply/1", "report": report, "actions": actions}),
        );
    } else {
        print_report(&report, output);
        for a in &actions {
            match &a.error {
                None => println!("  {:<16} ok      {} {}", a.action, a.uuid, a.label),
                Some(e) => println!(
                    "  {:<16} FAILED  {} {}  {}",
                    a.action, a.uuid, a.label, e.message
                ),
            }
        }
    }
    let code = tally(&report);
    Ok(if code == code::OK && actions.iter().any(|a| !a.ok) {
        code::SOME
    } else {
        code
    })
}

fn clear(
    client: &Client,
    policy: Option<&Policy>,
    selection: &Selection,
    run: &RunArgs,
    output: &Output,
    cancel: Arc<AtomicBool>,
) -> Result<u8, Error> {
    let report = ops::clear(
        client,
        policy,
        selection,
        &run_options(run, cancel, output.json),
    )?;
    if output.json {
        print_json(&serde_json::json!({"schema": "offload.xapi.clear/1", "report": report}));
    } else {
        print_report(&report, output);
    }
    Ok(tally(&report))
}

fn verify(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    output: &Output,
) -> Result<u8, Error> {
    let objects = ops::verify(client, policy, selection)?;
    let differ = objects.iter().filter(|o| !o.ok).count();
    if output.json {
        print_json(
            &serde_json::json!({"schema": "offload.xapi.verify/1", "policy": policy, "objects": objects}),
        );
    } else {
        for o in &objects {
            if o.ok && !output.verbose {
                continue;
            }
            let problems = o
                .keys
                .iter()
                .filter(|k| !k.ok)
                .map(|k| format!("{} {}", k.key, k.problem.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("; ");
            println!(
                "  {} {} {}  {}",
                if o.ok { "ok     " } else { "DIFFERS" },
                o.target.uuid,
                o.target.label,
                problems
            );
        }
        println!(
            "{} objects checked against policy {}: {} match, {differ} differ",
            objects.len(),
            policy.name,
            objects.len() - differ
        );
    }
    Ok(if differ == 0 { code::OK } else { code::SOME })
}

/// The plugin function and arguments of `host apply|report`, checked locally.
fn host_job(
    action: HostAction,
) -> Result<(HostSelect, &'static str, BTreeMap<String, String>), Error> {
    let (select, function, args) = match action {
        HostAction::Apply(a) => {
            // Checked here so a typo fails before any host is touched; the
            // plugin gets the words as given.
            a.policy.policy()?;
            let mut args = BTreeMap::new();
            if let Some(preset) = &a.policy.preset {
                args.insert("preset".to_string(), preset.clone());
            } else if let Some(settings) = &a.policy.set {
                args.insert("settings".to_string(), settings.clone());
            }
            args.insert("targets".to_string(), a.targets.clone());
            (a.select, "apply", args)
        }
        HostAction::Report(s) => (s, "report", BTreeMap::new()),
    };
    if !select.all_hosts && select.hosts.is_empty() {
        return Err(Error::InvalidArgument {
            what: "host selection".into(),
            message: "give --all-hosts or --host NAME".into(),
        });
    }
    Ok((select, function, args))
}

fn host(
    client: &Client,
    select: &HostSelect,
    function: &str,
    args: &BTreeMap<String, String>,
) -> Result<u8, Error> {
    let outcomes = ops::call_plugin_on_hosts(client, &select.hosts, "offload", function, args)?;
    if select.json {
        let hosts: Vec<_> = outcomes
            .iter()
            .map(|o| {
                let output = o.output.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
                serde_json::json!({"host": o.host, "uuid": o.uuid, "ok": o.ok, "result": output.or(o.output.clone().map(serde_json::Value::String)), "error": o.error})
            })
            .collect();
        print_json(
            &serde_json::json!({"schema": "offload.xapi.host/1", "function": function, "hosts": hosts}),
        );
    } else {
        for o in &outcomes {
            match (&o.output, &o.error) {
                (_, Some(e)) => println!("{}: FAILED {}", o.host, e.message),
                (Some(out), None) => println!("{}: {}", o.host, out),
                (None, None) => println!("{}: ok", o.host),
            }
        }
    }
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    Ok(if failed == 0 {
        code::OK
    } else if failed < outcomes.len() {
        code::SOME
    } else {
        code::NONE
    })
}

fn watch_pool(
    options: &ConnectOptions,
    args: &WatchArgs,
    cancel: Arc<AtomicBool>,
) -> Result<u8, Error> {
    let policy = args.policy.policy()?;
    let mut selections = Vec::new();
    if !args.vifs_only && !policy.pif.is_empty() {
        selections.push(Selection::Pifs(PifFilter::default()));
    }
    if !args.pifs_only && !policy.vif.is_empty() {
        selections.push(args.vif_select.selection());
    }
    let json = args.json;
    watch::watch(options, &policy, &selections, cancel, |event| match event {
        WatchEvent::Connected { target } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "connected", "target": target})
                );
            } else {
                eprintln!("watching {target} (Ctrl-C to stop)");
            }
        }
        WatchEvent::Applied { reason, report } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "applied", "reason": reason, "report": report})
                );
            } else {
                println!(
                    "{}: {} {}: {} changed, {} unchanged, {} failed",
                    reason,
                    report.class,
                    report.policy,
                    report.count(Status::Changed),
                    report.count(Status::Unchanged),
                    report.count(Status::Failed)
                );
            }
        }
        WatchEvent::Failed { error, retry_in } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "failed", "error": error.to_string(), "retry_in_s": retry_in.as_secs()})
                );
            } else {
                eprintln!(
                    "offloadctl xapi watch: {error}; retrying in {} s",
                    retry_in.as_secs()
                );
            }
        }
    })?;
    Ok(code::OK)
}
