//! `offloadctl exporter` against what users trust: a real Prometheus server
//! (Debian's `prometheus`) scraping it on loopback, its query API compared
//! with `ethtool -k` inside a namespace the test creates, `promtool check
//! metrics` on the output, `promtool check rules` / `test rules` on the rule
//! file the README shows; plus slow and garbage clients and SIGTERM.
//! Tests that need root, ethtool or prometheus say SKIPPED where they cannot run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use offload_core::features::LEGACY;
use offload_testkit::guard::Netns;
use offload_testkit::synth::{ethernet_frame, Fill, Spec};
use offload_testkit::{inject_frame, require_program, require_root};
use offload_xapi::records::PoolView;
use offload_xapi::wire::Value;
use offload_xapi::{Client, ConnectOptions, Endpoint};
use offload_xapi_sim::{GenSpec, Origin, PoolDesc, Reply, SimConfig, SimHandle, Simulator};

/// A scratch directory of this test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("offload-exporter-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) on drop, whatever the test did.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `offloadctl exporter --listen 127.0.0.1:0 ARGS`, and the address it bound.
fn start_exporter(args: &[&str]) -> (Running, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["exporter", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("offloadctl exporter: listening on http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap();
    (Running(child), address)
}

/// One HTTP/1.1 GET: (status code, body).
fn get(address: SocketAddr, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        // HTTP/1.0: the answer comes whole, never chunked.
        "GET {target} HTTP/1.0\r\nHost: {address}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    status_and_body(&response)
}

fn status_and_body(response: &str) -> (u16, String) {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server scraping `target` every second, on loopback.
struct Prometheus {
    address: SocketAddr,
    _process: Running,
}

impl Prometheus {
    fn start(scratch: &Scratch, target: SocketAddr) -> Prometheus {
        let config = scratch.0.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: offload\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let process = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                scratch.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .arg("--log.level=error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let prometheus = Prometheus {
            address,
            _process: Running(process),
        };
        wait_for("Prometheus to be ready", || {
            TcpStream::connect(address).is_ok() && get(address, "/-/ready").0 == 200
        });
        prometheus
    }

    /// An instant query: each series' labels and value.
    fn query(&self, expr: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let (status, body) = get(
            self.address,
            &format!("/api/v1/query?query={}", percent_encode(expr)),
        );
        assert_eq!(status, 200, "{expr}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["status"], "success", "{expr}: {body}");
        doc["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|series| {
                let labels = series["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let value = series["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// The value of a query that yields one series (None: no series yet).
    fn scalar(&self, expr: &str) -> Option<f64> {
        let result = self.query(expr);
        assert!(result.len() <= 1, "{expr}: {result:?}");
        result.first().map(|(_, v)| *v)
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `ready` every 100 ms for up to 20 s.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `ethtool -k IFACE` in `ns`: each legacy group's short name and state, as
/// ethtool prints the group line.
fn ethtool_groups(ns: &Netns, iface: &str) -> BTreeMap<String, bool> {
    let out = ethtool(ns, &["-k", iface]);
    let text = String::from_utf8_lossy(&out.stdout);
    LEGACY
        .iter()
        .filter_map(|group| {
            let line = text
                .lines()
                .find(|l| l.split(':').next() == Some(group.long_name))?;
            let on = line.split(": ").nth(1)?.starts_with("on");
            Some((group.short_name.to_string(), on))
        })
        .collect()
}

fn ethtool(ns: &Netns, args: &[&str]) -> Output {
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), "ethtool"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ethtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Prometheus's view of one interface's groups.
fn prometheus_groups(prometheus: &Prometheus, iface: &str) -> BTreeMap<String, bool> {
    prometheus
        .query(&format!("offload_feature_enabled{{interface=\"{iface}\"}}"))
        .into_iter()
        .map(|(labels, value)| (labels["feature"].clone(), value == 1.0))
        .collect()
}

/// Every group Prometheus has agrees with ethtool; the groups it lacks are
/// the ones the interface has no feature of (ethtool prints them "off").
fn assert_same_groups(
    ours: &BTreeMap<String, bool>,
    ethtool: &BTreeMap<String, bool>,
    iface: &str,
) {
    assert!(!ours.is_empty(), "{iface}: no series");
    for (group, on) in ethtool {
        assert_eq!(
            ours.get(group).copied().unwrap_or(false),
            *on,
            "{iface} {group}: ours {ours:?}, ethtool {ethtool:?}"
        );
    }
    for group in ours.keys() {
        assert!(
            ethtool.contains_key(group),
            "{iface} {group}: not an ethtool group line"
        );
    }
}

/// A simulated pool on a unix socket (as dom0's xapi), this host's uuid,
/// and the objects made to match the seed policy by raw XAPI calls.
struct Pool {
    sim: SimHandle,
    socket: PathBuf,
    host_uuid: String,
    /// (PIFs matching, PIFs not), (VIFs matching, VIFs not) on this host.
    expected: ((usize, usize), (usize, usize)),
}

/// A simulated pool answering on a unix socket in `scratch`, as dom0's xapi,
/// each request taking `latency`.
fn dom0_sim(scratch: &Scratch, size: GenSpec, latency: Duration) -> (SimHandle, PathBuf) {
    let socket = scratch.0.join("xapi.sock");
    let sim = Simulator::start(
        &PoolDesc::generate(size),
        SimConfig {
            socket: Some(socket.clone()),
            latency,
            ..SimConfig::default()
        },
    )
    .unwrap();
    (sim, socket)
}

fn simulated_pool(scratch: &Scratch) -> Pool {
    let size = GenSpec {
        hosts: 2,
        pifs_per_host: 2,
        vms: 6,
        vifs_per_vm: 2,
        seed: 15,
    };
    let (sim, socket) = dom0_sim(scratch, size, Duration::ZERO);
    let client = Client::connect(ConnectOptions::new(
        Endpoint::Unix(socket.clone()),
        "root",
        "",
    ))
    .unwrap();
    let view = PoolView::fetch(&client).unwrap();
    let (host_ref, host) = view.hosts.iter().next().unwrap();
    // The seed's keys, written the way `xe ...-param-set` would, on every
    // PIF of this host and on the VIFs of one guest running here.
    let policy = offload_xapi::policy::Policy::preset("seed").unwrap();
    let set = |class: &str, reference: &str, settings: &[offload_xapi::policy::Setting]| {
        for s in settings {
            client
                .call(
                    &format!("{class}.add_to_other_config"),
                    &[
                        Value::str(reference),
                        Value::str(s.key.as_str()),
                        Value::str(s.value.as_str()),
                    ],
                )
                .unwrap();
        }
    };
    let pifs: Vec<&String> = view
        .pifs
        .iter()
        .filter(|(_, p)| &p.host == host_ref)
        .map(|(r, _)| r)
        .collect();
    for pif in &pifs {
        set("PIF", pif, &policy.pif);
    }
    let guests: Vec<_> = view
        .vms
        .iter()
        .filter(|(r, vm)| vm.is_guest() && host.resident_vms.contains(r))
        .collect();
    let (_, chosen) = guests
        .iter()
        .find(|(_, vm)| {
            // VIF keys reach PV backends; an HVM guest without PV drivers has none.
            let emulated =
                vm.domain_type == "hvm" && offload_xapi::records::is_null(&vm.guest_metrics);
            !vm.vifs.is_empty() && !emulated
        })
        .expect("a PV guest with VIFs runs on the first host");
    for vif in &chosen.vifs {
        set("VIF", vif, &policy.vif);
    }
    let all_vifs: usize = guests.iter().map(|(_, vm)| vm.vifs.len()).sum();
    let _ = client.logout();
    Pool {
        sim,
        socket,
        host_uuid: host.uuid.clone(),
        expected: (
            (pifs.len(), 0),
            (chosen.vifs.len(), all_vifs - chosen.vifs.len()),
        ),
    }
}

#[test]
fn prometheus_shows_what_ethtool_shows_and_follows_changes() {
    require_root!();
    require_program!("ethtool");
    require_program!("prometheus");
    require_program!("nstat");
    let started = Instant::now();
    let scratch = Scratch::new("prom");
    let ns = Netns::new("ofexp-");
    // exb takes the address and MAC the synthetic frames go to, so the
    // kernel of the namespace receives them (exa has no address: a local
    // source address would make them martians).
    ns.ip(&["link", "add", "exa", "type", "veth", "peer", "name", "exb"]);
    ns.ip(&["link", "set", "exb", "address", "02:00:00:00:00:02"]);
    ns.ip(&["addr", "add", "10.1.0.2/16", "dev", "exb"]);
    ns.ip(&["link", "set", "exa", "up"]);
    ns.ip(&["link", "set", "exb", "up"]);
    ethtool(&ns, &["-K", "exa", "tx", "off", "gro", "off"]);
    let pool = simulated_pool(&scratch);
    let socket = pool.socket.display().to_string();
    let (_exporter, address) = start_exporter(&[
        "--netns",
        ns.name(),
        "--xapi-socket",
        &socket,
        "--host-uuid",
        &pool.host_uuid,
        "--xapi-refresh",
        "1",
        "--capture",
        "exb",
        "--capture-seconds",
        "1",
        "--capture-interval",
        "1",
    ]);
    let prometheus = Prometheus::start(&scratch, address);
    wait_for("the first scrape", || {
        prometheus.scalar("up{job=\"offload\"}") == Some(1.0)
    });

    for iface in ["exa", "exb"] {
        assert_same_groups(
            &prometheus_groups(&prometheus, iface),
            &ethtool_groups(&ns, iface),
            iface,
        );
    }
    let kinds = prometheus.query("offload_interface_info");
    assert_eq!(kinds.len(), 2, "two veths, no loopback: {kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|(l, _)| l["kind"] == "veth" && l["driver"] == "veth"),
        "{kinds:?}"
    );
    assert!(
        !prometheus_groups(&prometheus, "exa")["tx"],
        "tx was switched off"
    );

    // A change made with ethtool shows up in Prometheus at the next scrape.
    ethtool(&ns, &["-K", "exa", "tx", "on", "gro", "on"]);
    wait_for("tx on in Prometheus", || {
        prometheus_groups(&prometheus, "exa").get("tx") == Some(&true)
    });
    assert_same_groups(
        &prometheus_groups(&prometheus, "exa"),
        &ethtool_groups(&ns, "exa"),
        "exa",
    );

    // dom0: this host's PIFs and its guests' VIFs against the seed policy.
    wait_for("xapi up in Prometheus", || {
        prometheus.scalar("offload_xapi_up") == Some(1.0)
    });
    let count = |object: &str, state: &str| {
        prometheus
            .scalar(&format!(
                "offload_xapi_objects{{object=\"{object}\",policy=\"seed\",state=\"{state}\"}}"
            ))
            .map(|v| v as usize)
    };
    let ((pif_ok, pif_bad), (vif_ok, vif_bad)) = pool.expected;
    assert_eq!(
        (count("pif", "match"), count("pif", "mismatch")),
        (Some(pif_ok), Some(pif_bad))
    );
    assert_eq!(
        (count("vif", "match"), count("vif", "mismatch")),
        (Some(vif_ok), Some(vif_bad))
    );
    drop(pool.sim);
    wait_for("xapi down in Prometheus", || {
        prometheus.scalar("offload_xapi_up") == Some(0.0)
    });

    // Damaged UDP and TCP frames out of exa: the namespace's kernel drops
    // them (InCsumErrors), the capture on exb judges them really incorrect,
    // and none is offload-pending.
    let mut sent = [0u64; 2];
    wait_for("incorrect checksums in Prometheus", || {
        for _ in 0..10 {
            let udp = sent[0] <= sent[1];
            let i = sent[0] + sent[1];
            let frame = ethernet_frame(&Spec {
                protocol: if udp { 17 } else { 6 },
                payload: 32,
                fill: Fill::Corrupt,
                flow: 100 + (i % 1000) as u16,
                ..Spec::default()
            });
            inject_frame(Some(ns.name()), "exa", &frame).unwrap();
            sent[usize::from(!udp)] += 1;
        }
        prometheus
            .scalar("offload_capture_checksums_total{verdict=\"incorrect\"}")
            .is_some_and(|v| v > 0.0)
    });
    let [udp_sent, tcp_sent] = sent;
    let kernel = |counter: &str| {
        prometheus.scalar(&format!(
            "offload_kernel_checksum_errors_total{{counter=\"{counter}\"}}"
        ))
    };
    let nstat = ns.nstat();
    assert_eq!(
        (nstat["UdpInCsumErrors"], nstat["TcpInCsumErrors"]),
        (udp_sent, tcp_sent),
        "the kernel counted every damaged frame"
    );
    wait_for("the kernel's counters in Prometheus", || {
        kernel("UdpInCsumErrors") == Some(udp_sent as f64)
            && kernel("TcpInCsumErrors") == Some(tcp_sent as f64)
    });
    let all_sent = (udp_sent + tcp_sent) as f64;
    std::thread::sleep(Duration::from_millis(1500));
    let incorrect = prometheus
        .scalar("offload_capture_checksums_total{verdict=\"incorrect\"}")
        .unwrap();
    assert!(
        incorrect > 0.0 && incorrect <= all_sent,
        "{incorrect} of {all_sent}"
    );
    assert_eq!(
        prometheus.scalar("offload_capture_checksums_total{verdict=\"offload_pending\"}"),
        Some(0.0)
    );
    assert!(
        prometheus
            .scalar("offload_capture_sampled_seconds_total")
            .unwrap()
            > 0.0
    );

    // The README's dashboard query runs against the real server.
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../offload-exporter/README.md"),
    )
    .unwrap();
    let dashboard = readme_block(&readme, "promql");
    let mut still_on: BTreeMap<String, f64> = BTreeMap::new();
    for iface in ["exa", "exb"] {
        for (group, on) in ethtool_groups(&ns, iface) {
            if on {
                *still_on.entry(group).or_default() += 1.0;
            }
        }
    }
    let per_group: BTreeMap<String, f64> = prometheus
        .query(dashboard.trim())
        .into_iter()
        .map(|(labels, value)| (labels["feature"].clone(), value))
        .collect();
    assert_eq!(
        per_group, still_on,
        "the dashboard's count per group is ethtool's"
    );
    eprintln!(
        "exporter vs ethtool: 2 veths x {} groups agree; xapi pif {pif_ok}/{pif_bad} vif {vif_ok}/{vif_bad}; \
         kernel Udp/TcpInCsumErrors {udp_sent}/{tcp_sent} = nstat; capture {incorrect} incorrect of {all_sent} sent; \
         dashboard {per_group:?}; {:.1} s",
        prometheus_groups(&prometheus, "exa").len(),
        started.elapsed().as_secs_f64()
    );
}

/// The first fenced block of `lang` in a markdown text.
fn readme_block<'a>(text: &'a str, lang: &str) -> &'a str {
    let fence = format!("```{lang}\n");
    let start = text
        .find(&fence)
        .unwrap_or_else(|| panic!("no ```{lang} block"))
        + fence.len();
    let len = text[start..].find("```").unwrap();
    &text[start..start + len]
}

#[test]
fn promtool_accepts_the_served_and_the_textfile_output() {
    require_program!("promtool");
    let scratch = Scratch::new("lint");
    let pool = simulated_pool(&scratch);
    let socket = pool.socket.display().to_string();
    let xapi = [
        "--xapi-socket",
        socket.as_str(),
        "--host-uuid",
        pool.host_uuid.as_str(),
    ];
    // Loopback of our own namespace: read only, never changed.
    let mut args = vec!["--kinds", "loopback"];
    args.extend(xapi);
    let (_exporter, address) = start_exporter(&args);
    // xapi is asked in the background: the first scrapes may come before it answered.
    let mut served = String::new();
    wait_for("xapi's answer in a scrape", || {
        let (status, body) = get(address, "/metrics");
        assert_eq!(status, 200);
        served = body;
        served.contains("offload_xapi_up 1\n")
    });
    let ((pif_ok, pif_bad), (vif_ok, vif_bad)) = pool.expected;
    for (object, state, count) in [
        ("pif", "match", pif_ok),
        ("pif", "mismatch", pif_bad),
        ("vif", "match", vif_ok),
        ("vif", "mismatch", vif_bad),
    ] {
        let line = format!(
            "offload_xapi_objects{{object=\"{object}\",policy=\"seed\",state=\"{state}\"}} {count}\n"
        );
        assert!(served.contains(&line), "{line} in {served}");
    }
    promtool_check_metrics(&served);

    let dir = scratch.0.join("textfile");
    std::fs::create_dir(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["exporter", "--textfile"])
        .arg(&dir)
        .args(["--kinds", "loopback"])
        .args(xapi)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["offload.prom"], "no temporary file left behind");
    let written = std::fs::read_to_string(dir.join("offload.prom")).unwrap();
    promtool_check_metrics(&written);
    // Same series both ways (values such as the scrape time differ).
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("offload_scrape_duration_seconds"))
            .map(String::from)
            .collect()
    };
    assert_eq!(series(&written), series(&served));

    // Every second until SIGTERM: the file is replaced, never left half
    // written or with a temporary file beside it.
    let first = std::fs::metadata(dir.join("offload.prom"))
        .unwrap()
        .modified()
        .unwrap();
    let mut repeating = Running(
        Command::new(env!("CARGO_BIN_EXE_offloadctl"))
            .args(["exporter", "--textfile"])
            .arg(&dir)
            .args(["--interval", "1", "--kinds", "loopback", "--no-xapi"])
            .spawn()
            .unwrap(),
    );
    wait_for("the textfile to be rewritten", || {
        std::fs::metadata(dir.join("offload.prom"))
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > first)
    });
    promtool_check_metrics(&std::fs::read_to_string(dir.join("offload.prom")).unwrap());
    let term = Command::new("kill")
        .args(["-TERM", &repeating.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert_eq!(repeating.0.wait().unwrap().code(), Some(0));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

fn promtool_check_metrics(text: &str) {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{text}"
    );
}

#[test]
fn slow_and_garbage_clients_never_stop_the_server_and_sigterm_ends_it() {
    let (mut exporter, address) = start_exporter(&["--kinds", "loopback", "--no-xapi"]);
    // Clients that connect and say nothing, or trickle a byte at a time.
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    let mut trickler = TcpStream::connect(address).unwrap();
    trickler.write_all(b"GET /met").unwrap();
    // Meanwhile a real scrape is answered at once.
    let scrape = Instant::now();
    let (status, body) = get(address, "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains("offload_feature_enabled{interface=\"lo\""),
        "{body}"
    );
    assert!(
        scrape.elapsed() < Duration::from_secs(2),
        "{:?}",
        scrape.elapsed()
    );

    let raw = |request: &[u8]| -> u16 {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // The server may answer and close before reading everything.
        let _ = stream.write_all(request);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        status_and_body(&String::from_utf8_lossy(&response)).0
    };
    assert_eq!(raw(b"\x16\x03\x01\x02\x00garbage\r\n\r\n"), 400);
    assert_eq!(
        raw(b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
        405
    );
    assert_eq!(raw(b"GET /nothing HTTP/1.1\r\n\r\n"), 404);
    let mut huge = b"GET /metrics HTTP/1.1\r\n".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 64 * 1024));
    assert_eq!(raw(&huge), 431);
    // The trickler gets 408 once its 5 s are up, not a thread forever.
    trickler
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut response = String::new();
    let _ = trickler.read_to_string(&mut response);
    assert_eq!(status_and_body(&response).0, 408);
    assert_eq!(get(address, "/metrics").0, 200, "still serving");

    drop(idle);

    // SIGTERM while silent clients are still connected: they do not delay it.
    let silent: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));

    let term = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &exporter.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = exporter.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        term.elapsed() < Duration::from_secs(2),
        "{:?}",
        term.elapsed()
    );
    assert!(TcpStream::connect(address).is_err(), "the port is closed");
    drop(silent);
}

#[test]
fn the_readme_rules_are_valid_and_alert_only_on_real_checksum_errors() {
    require_program!("promtool");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../offload-exporter");
    let rules = std::fs::read_to_string(dir.join("prometheus/offload-rules.yml")).unwrap();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert_eq!(
        readme_block(&readme, "yaml"),
        rules,
        "the README shows the rule file as it is"
    );
    let run = |args: &[&str]| {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {args:?}: {said}");
        said
    };
    let checked = run(&["check", "rules", "prometheus/offload-rules.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run(&["test", "rules", "prometheus/offload-rules.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn arguments_that_cannot_work_are_refused_at_start() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_offloadctl"))
            .arg("exporter")
            .args(args)
            .output()
            .unwrap()
    };
    let scratch = Scratch::new("args");
    let dir = scratch.0.display().to_string();
    let missing = run(&["--textfile", &dir, "--netns", "offload-no-such-ns"]);
    assert_eq!(missing.status.code(), Some(5), "{missing:?}");
    assert_eq!(
        std::fs::read_dir(&scratch.0).unwrap().count(),
        0,
        "nothing written"
    );
    for usage in [
        &[][..],
        &["--listen", "127.0.0.1:0", "--textfile", &dir][..],
        &["--textfile", &dir, "--interval", "0"][..],
        &["--textfile", &dir, "--kinds", "nosuchkind"][..],
    ] {
        assert_eq!(run(usage).status.code(), Some(64), "{usage:?}");
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let busy = run(&["--listen", &address, "--no-xapi"]);
    assert_eq!(busy.status.code(), Some(2), "{busy:?}");
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("Address already in use"),
        "{busy:?}"
    );
}

#[test]
fn a_slow_xapi_never_slows_a_scrape() {
    let scratch = Scratch::new("slowxapi");
    let size = GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 1,
        vifs_per_vm: 1,
        seed: 3,
    };
    // Every XAPI request takes 400 ms: one check (login, records, two
    // verifications) takes seconds.
    let (sim, socket) = dom0_sim(&scratch, size, Duration::from_millis(400));
    // This host's uuid, asked in-process (no latency).
    let success = |reply| match reply {
        Reply::Success(v) => v,
        other => panic!("{other:?}"),
    };
    let session = success(sim.call(
        Origin::Local,
        "session.login_with_password",
        &[Value::str("root"), Value::str("")],
    ));
    let hosts = success(sim.call(Origin::Local, "host.get_all_records", &[session]));
    let host_uuid = hosts
        .as_struct()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_struct()
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let socket = socket.display().to_string();
    let (_exporter, address) = start_exporter(&[
        "--kinds",
        "loopback",
        "--xapi-socket",
        &socket,
        "--host-uuid",
        &host_uuid,
    ]);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut scrapes = 0;
    loop {
        let scrape = Instant::now();
        let (status, body) = get(address, "/metrics");
        slowest = slowest.max(scrape.elapsed());
        scrapes += 1;
        assert_eq!(status, 200);
        if body.contains("offload_xapi_up 1\n") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "slow xapi: answered after {:.1} s; {scrapes} scrapes meanwhile, slowest {:?}",
        started.elapsed().as_secs_f64(),
        slowest
    );
    assert!(
        started.elapsed() > Duration::from_millis(800),
        "the check took several calls"
    );
    assert!(
        slowest < Duration::from_millis(400),
        "a scrape waited for xapi: {slowest:?}"
    );
}
