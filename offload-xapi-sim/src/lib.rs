//! A XAPI simulator: a server that speaks xapi's XML-RPC and JSON-RPC
//! dialects (research/xapi.md) over a simulated pool, for tests, demos and
//! `cargo xtask compare xapi`.
//!
//! It owns the model of what a pool does and nothing else: the client, its
//! policies and every front-end live in `offload-xapi` and above, and never
//! depend on this crate outside tests and xtask. Not published.
//!
//! # Use
//!
//! ```no_run
//! use offload_xapi_sim::{GenSpec, PoolDesc, SimConfig, Simulator};
//!
//! let pool = PoolDesc::generate(GenSpec { hosts: 2, pifs_per_host: 2, vms: 10, vifs_per_vm: 2, seed: 1 });
//! let sim = Simulator::start(&pool, SimConfig::default()).unwrap();
//! println!("{}", sim.url()); // http://127.0.0.1:PORT, user root, password "secret"
//! let state = sim.state();   // what every PIF/VIF runs right now, call counts
//! assert_eq!(state.vifs.len(), 20);
//! drop(sim);                 // stops the listeners and closes connections
//! ```
//!
//! # What it models
//!
//! * Endpoints: XML-RPC on `POST /` and `/RPC2`, JSON-RPC 1.0/2.0 on
//!   `/jsonrpc` (one session store), keep-alive, `OPTIONS`, HTTP 500
//!   `text/html` naming the parse error for malformed bodies, a 300 KiB body
//!   limit (413). TCP on 127.0.0.1, optional TLS with a fresh self-signed
//!   certificate ([`SimHandle::fingerprint`]), optional unix socket that is
//!   pre-authenticated as root (any password logs in), optional pool-member
//!   listener answering `HOST_IS_SLAVE [master address]`.
//! * Classes `pool host network PIF VM VIF` with the wire fields of research
//!   §3.1; `get_all`, `get_all_records`, `get_all_where`,
//!   `get_all_records_where` (xapi's grammar, `name__label` columns),
//!   `get_record`, `get_by_uuid`, `get_<field>` for every modelled field,
//!   `set/add_to/remove_from_other_config`, `VM.get_by_name_label`,
//!   VM `start`/`clean_reboot`/`hard_reboot`/`clean_shutdown`/`hard_shutdown`,
//!   `clone`/`copy` (VIF `other_config` copied, as `Xapi_vif_helpers.copy`),
//!   `VIF.plug/unplug`, `PIF.plug/unplug`, `session.*` logins and logouts,
//!   `event.from` (+ `event.inject`), `host.call_plugin`,
//!   `system.listMethods`; every `Class_method` underscore alias.
//! * xapi's session limits (500 per originator, 400 for root without one,
//!   the oldest destroyed by a GC pass every 30 s; `session_gc.rs`).
//! * Dispatch order and error parameters of research §2.2–2.3.
//! * What the host runs: PIF `other_config:ethtool-*` keys take effect on
//!   `PIF.plug` (or at "boot", i.e. seeding); VIF keys when the VIF's backend
//!   comes online (VM start/reboot, `VIF.plug`); a network's keys reach its
//!   bridge on a host when a PIF of that network is plugged there. [`SimHandle::state`] and
//!   `GET /sim/state` (simulator-only, not XAPI) show this applied state.
//! * Each device's live offloads as networkd and `vif-real` leave them
//!   (`DeviceState::live`): a bring-up runs `ethtool -K` only for the keys
//!   present (`Nm.determine_ethtool_settings`), gro from `PIF.properties`
//!   when its key is absent (a bond slave gets its master's properties),
//!   `lro off` unless named (networkd's `Interface.set_ethtool_offload`); a
//!   NIC keeps its state while unplugged and after its keys are removed; a
//!   VIF's backend starts fresh. With `SimConfig::modelled_offload_plugin`
//!   the offload plugin's `get_features` answers from these devices.
//! * Knobs: latency per request, dropped connections (Nth request or a
//!   seeded probability), sessions invalidated after N calls, slow requests,
//!   per-method call counters.
//!
//! * Bonds as xapi has them: `Bond` objects, slaves with their own PIF and
//!   network, `CANNOT_PLUG_BOND_SLAVE`, the slaves' keys applied when the
//!   master is plugged; bond and VLAN PIFs get a device of their own only with
//!   `"network_backend": "bridge"` (xapi's default is openvswitch).
//!
//! * `Async.` calls answer a task (`task.get_record`, `task.destroy`) that
//!   stays pending while the call takes its simulated time
//!   (`SimConfig::lifecycle_duration` for VM lifecycle and VIF hotplug).
//!
//! Not modelled: VLAN/tunnel/SR/VM_guest_metrics objects (their refs on
//! PIFs and VMs point at nothing), task cancellation, RBAC.
#![forbid(unsafe_code)]

mod clone;
mod db;
mod device_plugin;
mod dispatch;
mod error;
mod http;
mod plugin;
mod pool;
mod rng;
mod session_gc;
mod task;
pub mod where_expr;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use dispatch::{canonical_name, Origin, Reply};
pub use http::{Faults, MAX_BODY};
pub use plugin::XAPI_PLUGIN_PATH;
pub use pool::{GenSpec, HostDesc, NetworkDesc, PifDesc, PoolDesc, PowerState, VifDesc, VmDesc};

use db::{Class, Db};
use dispatch::State;
pub use error::{Error, Result};
use http::{Listener, Shared};
use offload_xapi::wire::Value;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// TCP address of the master (default `127.0.0.1:0`, an ephemeral port).
    pub listen: SocketAddr,
    /// Serve HTTPS with a fresh self-signed certificate.
    pub tls: bool,
    /// Also listen on this unix socket (pre-authenticated as root).
    pub socket: Option<PathBuf>,
    /// Also run a pool-member listener here, answering `HOST_IS_SLAVE`; port
    /// 0 is the master's port, as on a real pool (give another loopback
    /// address then, e.g. 127.0.0.2:0).
    pub slave_listen: Option<SocketAddr>,
    pub user: String,
    pub password: String,
    /// Sleep before answering a bad login (xapi: 5 s; default 0).
    pub auth_failure_delay: Duration,
    /// Sleep per API request (requests on different connections sleep concurrently).
    pub latency: Duration,
    /// Directory of `host.call_plugin` executables (xapi: `/etc/xapi.d/plugins`).
    pub plugin_dir: Option<PathBuf>,
    /// The PATH plugins run with (default: xapi's, [`XAPI_PLUGIN_PATH`]); a
    /// test's dom0 may keep its interpreters elsewhere. Nothing else of the
    /// simulator's environment reaches a plugin.
    pub plugin_path: Option<String>,
    /// How often xapi's session GC runs (default its 30 s; zero: before
    /// every call). It keeps the 500 most recently active sessions per
    /// originator, 400 of root without one.
    pub session_gc_interval: Duration,
    pub faults: Faults,
    /// How long VM lifecycle calls (start, reboot, shutdown) and VIF
    /// plug/unplug take: synchronous calls answer after it, `Async.` tasks
    /// stay pending for it (default 0).
    pub lifecycle_duration: Duration,
    /// Write XML-RPC struct member names unescaped, as xapi does (rpclib's
    /// `add_member`): an `other_config` key with `&` or `<` then makes every
    /// records answer that contains it invalid XML (default: escaped).
    pub unescaped_member_names: bool,
    /// Answer `host.call_plugin(host, "offload", "get_features", ...)` from
    /// the simulated host's devices (their live offloads) instead of running
    /// a plugin, which would read the interfaces of this machine.
    pub modelled_offload_plugin: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            socket: None,
            slave_listen: None,
            user: "root".into(),
            password: "secret".into(),
            auth_failure_delay: Duration::ZERO,
            latency: Duration::ZERO,
            plugin_dir: None,
            plugin_path: None,
            session_gc_interval: session_gc::GC_INTERVAL,
            faults: Faults::default(),
            lifecycle_duration: Duration::ZERO,
            unescaped_member_names: false,
            modelled_offload_plugin: false,
        }
    }
}

/// One PIF or VIF as the simulated host runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceState {
    #[serde(rename = "ref")]
    pub reference: String,
    pub uuid: String,
    /// Host ref (PIF) or VM ref (VIF).
    pub owner: String,
    /// `ethN` (PIF) or the VIF device number.
    pub device: String,
    pub currently_attached: bool,
    pub other_config: BTreeMap<String, String>,
    /// Offloads (`tx`, `gso`, ...) the last bring-up applied; `None` when no
    /// device exists right now (VIF of a halted VM, unplugged).
    pub applied: Option<BTreeMap<String, bool>>,
    /// The device's whole offload state now, as `ethtool -k` shows it: what
    /// the last `ethtool -K` left (a bring-up changes only what it names).
    /// A NIC keeps it while unplugged; `None` when no device exists.
    pub live: Option<BTreeMap<String, bool>>,
    /// How many times the device was brought up.
    pub bring_ups: u64,
}

/// One VM's power facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmState {
    #[serde(rename = "ref")]
    pub reference: String,
    pub uuid: String,
    pub name_label: String,
    pub power_state: String,
    pub domid: i64,
    pub is_control_domain: bool,
    pub is_a_template: bool,
    pub is_a_snapshot: bool,
    pub hotplug: bool,
    /// Starts and reboots, counting the initial boot of running VMs.
    pub boots: u64,
}

/// A snapshot of the simulator (also served as JSON on `GET /sim/state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimState {
    pub pifs: Vec<DeviceState>,
    /// One entry per network bridge brought up on a host: `ref` is the
    /// network, `owner` the host, `device` the bridge (`xenbr0`).
    pub bridges: Vec<DeviceState>,
    pub vifs: Vec<DeviceState>,
    pub vms: Vec<VmState>,
    pub calls: BTreeMap<String, u64>,
    pub total_calls: u64,
    pub sessions: usize,
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Seeds a pool and starts the listeners; they run until the handle is dropped.
    pub fn start(pool: &PoolDesc, config: SimConfig) -> Result<SimHandle> {
        let mut db = Db::new(pool.seed);
        pool::seed(&mut db, pool).map_err(|m| Error::invalid("pool description", m))?;
        let mut state = State::new(db, config.user.clone(), config.password.clone());
        state.auth_failure_delay = config.auth_failure_delay;
        state.plugins = plugin::Runner {
            dir: config.plugin_dir.clone(),
            path: config.plugin_path.clone(),
        };
        state.modelled_offload_plugin = config.modelled_offload_plugin;
        state.invalidate_sessions_after = config.faults.invalidate_sessions_after;
        state.session_gc_interval = config.session_gc_interval;
        state.lifecycle_duration = config.lifecycle_duration;
        state.fail_calls = std::sync::Mutex::new(config.faults.fail_calls.clone());
        let state = Arc::new(state);

        let bind = |addr: SocketAddr| {
            if !addr.ip().is_loopback() {
                return Err(Error::invalid(
                    "listen address",
                    format!("{addr}: the simulator binds to loopback addresses only"),
                ));
            }
            TcpListener::bind(addr).map_err(|source| Error::Transport {
                target: addr.to_string(),
                source,
            })
        };
        let master = bind(config.listen)?;
        let addr = local_addr(&master)?;
        // HOST_IS_SLAVE names the master's Host.address, an address without
        // a port (session_check.ml; Pool_role.get_master_address at login):
        // clients keep their own scheme and port.
        *state
            .master_address
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = addr.ip().to_string();

        let (tls, fingerprint) = if config.tls {
            let (tls, fp) = tls_config()?;
            (Some(tls), Some(fp))
        } else {
            (None, None)
        };
        let (member_tls, member_fingerprint) = match (config.tls, config.slave_listen) {
            (true, Some(_)) => {
                let (tls, fp) = tls_config()?;
                (Some(tls), Some(fp))
            }
            _ => (None, None),
        };
        let master_thumbprint = fingerprint.as_ref().map(|f| f.colons.to_ascii_uppercase());
        let shared = Arc::new(Shared {
            state: Arc::clone(&state),
            latency: config.latency,
            unescaped_member_names: config.unescaped_member_names,
            rng: Mutex::new(rng::Rng::new(config.faults.seed)),
            faults: config.faults.clone(),
            requests: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            tls,
            member_tls,
            master_thumbprint,
            open: Mutex::new(Default::default()),
            next_conn: AtomicU64::new(0),
            state_json: Box::new(|s| {
                serde_json::to_string_pretty(&snapshot(s)).unwrap_or_else(|_| "{}".into())
            }),
        });
        let mut wakers = vec![Waker::Tcp(addr)];
        let mut threads = vec![http::spawn(
            Arc::clone(&shared),
            Listener::Tcp(master, Origin::Network),
        )];
        let mut slave_addr = None;
        if let Some(mut slave) = config.slave_listen {
            // Every host of a pool serves on the same port: port 0 means the
            // master's (so the member needs another loopback address).
            if slave.port() == 0 {
                slave.set_port(addr.port());
            }
            let listener = bind(slave)?;
            let a = local_addr(&listener)?;
            slave_addr = Some(a);
            wakers.push(Waker::Tcp(a));
            threads.push(http::spawn(
                Arc::clone(&shared),
                Listener::Tcp(listener, Origin::Member),
            ));
        }
        if let Some(path) = &config.socket {
            let _ = std::fs::remove_file(path);
            let listener = UnixListener::bind(path).map_err(|source| Error::Transport {
                target: path.display().to_string(),
                source,
            })?;
            wakers.push(Waker::Unix(path.clone()));
            threads.push(http::spawn(Arc::clone(&shared), Listener::Unix(listener)));
        }
        Ok(SimHandle {
            shared,
            addr,
            slave_addr,
            socket: config.socket.clone(),
            fingerprint,
            member_fingerprint,
            wakers,
            threads,
        })
    }
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr> {
    listener.local_addr().map_err(|source| Error::Transport {
        target: "listener".into(),
        source,
    })
}

fn tls_config() -> Result<(Arc<rustls::ServerConfig>, Fingerprint)> {
    let tls_error = |e: &dyn std::fmt::Display| Error::Tls {
        target: "simulator".into(),
        message: e.to_string(),
    };
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(|e| tls_error(&e))?;
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(&e))?
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .map_err(|e| tls_error(&e))?;
    let digest = Sha256::digest(cert.as_ref());
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((
        Arc::new(config),
        Fingerprint {
            colons: hex.join(":"),
            der: cert.as_ref().to_vec(),
        },
    ))
}

#[derive(Debug, Clone)]
struct Fingerprint {
    colons: String,
    der: Vec<u8>,
}

enum Waker {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A running simulator. Dropping it stops the listeners and closes connections.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    slave_addr: Option<SocketAddr>,
    socket: Option<PathBuf>,
    fingerprint: Option<Fingerprint>,
    member_fingerprint: Option<Fingerprint>,
    wakers: Vec<Waker>,
    threads: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (or `https://` with TLS), no trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.fingerprint.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The master's TCP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// URL of the pool-member listener, if any.
    pub fn slave_url(&self) -> Option<String> {
        let scheme = if self.fingerprint.is_some() {
            "https"
        } else {
            "http"
        };
        self.slave_addr.map(|a| format!("{scheme}://{a}"))
    }

    pub fn socket_path(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// SHA-256 of the TLS certificate, lowercase hex with colons (`ab:cd:..`).
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_ref().map(|f| f.colons.as_str())
    }

    /// The pool member listener's own certificate fingerprint (TLS with
    /// `slave_listen`), lowercase hex with colons.
    pub fn slave_fingerprint(&self) -> Option<&str> {
        self.member_fingerprint.as_ref().map(|f| f.colons.as_str())
    }

    /// The same fingerprint as plain lowercase hex.
    pub fn fingerprint_hex(&self) -> Option<String> {
        self.fingerprint().map(|f| f.replace(':', ""))
    }

    /// The TLS certificate (DER).
    pub fn certificate_der(&self) -> Option<&[u8]> {
        self.fingerprint.as_ref().map(|f| f.der.as_slice())
    }

    /// Calls per method (`Class.method`) so far.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.shared.state.calls()
    }

    pub fn total_calls(&self) -> u64 {
        self.shared.state.total_calls()
    }

    /// The most `Async.` tasks of one call (`VM.clean_reboot`) that were
    /// pending at the same time so far.
    pub fn max_tasks_in_flight(&self, method: &str) -> usize {
        self.shared.state.task_high_water(method)
    }

    /// PIFs, VIFs and VMs as the host runs them, plus call counts.
    pub fn state(&self) -> SimState {
        snapshot(&self.shared.state)
    }

    /// Forgets all sessions now (clients get `SESSION_INVALID`).
    pub fn invalidate_sessions(&self) {
        self.shared.state.invalidate_sessions();
    }

    /// Handles one call in-process, without HTTP (for tests of dispatch).
    pub fn call(&self, origin: Origin, method: &str, params: &[Value]) -> Reply {
        self.shared.state.call(origin, method, params)
    }

    /// The `/sim/state` JSON document.
    pub fn state_json(&self) -> String {
        (self.shared.state_json)(&self.shared.state)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown();
        for waker in &self.wakers {
            match waker {
                Waker::Tcp(a) => drop(TcpStream::connect_timeout(a, Duration::from_secs(1))),
                Waker::Unix(p) => drop(UnixStream::connect(p)),
            }
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.shared.shutdown();
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn snapshot(state: &State) -> SimState {
    let db = state.db();
    let device = |class: Class, r: &String| {
        let obj = db.get(r)?;
        let applied = db.applied.get(r).cloned().unwrap_or_default();
        Some(DeviceState {
            reference: r.clone(),
            uuid: obj.str("uuid").into(),
            owner: obj
                .str(if class == Class::Pif { "host" } else { "VM" })
                .into(),
            device: obj.str("device").into(),
            currently_attached: obj.bool("currently_attached"),
            other_config: obj.string_map("other_config"),
            applied: applied.offloads,
            live: applied.live,
            bring_ups: applied.bring_ups,
        })
    };
    let pifs = db
        .all(Class::Pif)
        .iter()
        .filter_map(|r| device(Class::Pif, r))
        .collect();
    let mut bridges = Vec::new();
    for net in db.all(Class::Network) {
        let Some(obj) = db.get(net) else { continue };
        for host in db.all(Class::Host) {
            if let Some(applied) = db.applied.get(&db::bridge_key(net, host)) {
                bridges.push(DeviceState {
                    reference: net.clone(),
                    uuid: obj.str("uuid").into(),
                    owner: host.clone(),
                    device: obj.str("bridge").into(),
                    currently_attached: applied.offloads.is_some(),
                    other_config: obj.string_map("other_config"),
                    applied: applied.offloads.clone(),
                    live: applied.live.clone(),
                    bring_ups: applied.bring_ups,
                });
            }
        }
    }
    let vifs = db
        .all(Class::Vif)
        .iter()
        .filter_map(|r| device(Class::Vif, r))
        .collect();
    let vms = db
        .all(Class::Vm)
        .iter()
        .filter_map(|r| {
            let obj = db.get(r)?;
            let sim = db.vm_sim.get(r).cloned().unwrap_or_default();
            Some(VmState {
                reference: r.clone(),
                uuid: obj.str("uuid").into(),
                name_label: obj.str("name_label").into(),
                power_state: obj.str("power_state").into(),
                domid: obj
                    .fields
                    .get("domid")
                    .and_then(Value::as_int)
                    .unwrap_or(-1),
                is_control_domain: obj.bool("is_control_domain"),
                is_a_template: obj.bool("is_a_template"),
                is_a_snapshot: obj.bool("is_a_snapshot"),
                hotplug: sim.hotplug,
                boots: sim.boots,
            })
        })
        .collect();
    drop(db);
    SimState {
        pifs,
        bridges,
        vifs,
        vms,
        calls: state.calls(),
        total_calls: state.total_calls(),
        sessions: state.session_count(),
    }
}
