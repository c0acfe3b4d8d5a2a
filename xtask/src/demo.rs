//! `cargo xtask demo`: the seed procedure, end to end, on a lab that builds itself.
//!
//! The lab is a "dom0" network namespace with a NIC `eth0` and a VIF backend
//! `vif1.0`, each a veth whose other end sits in a "guest" namespace. Each step
//! runs the real `offloadctl` and prints what it finds. A watchdog process tears
//! the lab down when the demo ends for any reason, Ctrl-C included.
//!
//! The XAPI steps run `offloadctl xapi` against the simulator (`xapi-sim`)
//! seeded with a pool that matches the lab: host `lab-dom0` with PIF `eth0`,
//! VM `guest` (domid 1, so its VIF 0 is dom0's `vif1.0`), a template that
//! must stay untouched. With root the simulator runs inside the lab's dom0
//! namespace, so `host.call_plugin` runs the offload plugin there and it
//! changes the lab's own `eth0` and `vif1.0`.
//!
//! Without root (or with `--no-lab`) the capture check and the XAPI steps
//! (apply, verify against the simulator) run; the lab and the plugin are
//! skipped with a reason.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{self, cargo};

const SINK_PORT: u16 = 5201;

/// Everything the demo checked, so CI fails on any unexpected result.
#[derive(Default)]
struct Findings {
    failures: Vec<String>,
    skipped: Vec<String>,
}

impl Findings {
    fn expect(&mut self, ok: bool, what: &str) {
        if ok {
            println!("    ok: {what}");
        } else {
            println!("    UNEXPECTED: {what}");
            self.failures.push(what.to_string());
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    // `--no-lab`: what a user without root gets (no namespaces, no interface changes).
    let no_lab = match args {
        [] => false,
        [flag] if flag == "--no-lab" => true,
        other => {
            return Err(format!(
                "usage: cargo xtask demo [--no-lab] (got {other:?})"
            ))
        }
    };
    let bins = build()?;
    let work = util::workspace_root().join("target/demo");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut findings = Findings::default();

    step(
        "0",
        "check a capture file (the seed's `tcpdump -v | grep incorrect`)",
    );
    pcap_check(&bins, &work, &mut findings)?;

    if util::is_root() && !no_lab {
        lab_demo(&bins, &work, &mut findings)?;
    } else {
        let why = if no_lab { "--no-lab" } else { "needs root" };
        findings.skipped.push(format!(
            "the live lab (namespaces, veth, capture, disable, the dom0 plugin): {why}"
        ));
        step("1", "the pool through XAPI (a simulated pool; no lab)");
        xapi_steps(&bins, &work, &mut findings, None)?;
    }

    println!();
    for s in &findings.skipped {
        println!("SKIPPED: {s}");
    }
    if findings.failures.is_empty() {
        println!("demo: every step gave the expected result");
        Ok(())
    } else {
        Err(format!(
            "demo: {} unexpected result(s): {}",
            findings.failures.len(),
            findings.failures.join("; ")
        ))
    }
}

struct Binaries {
    offloadctl: PathBuf,
    xtask: PathBuf,
    /// For the plugin's ctypes path (dom0 Python cannot load the pyo3 module).
    liboffload: PathBuf,
}

/// Builds what the demo runs: `offloadctl` and liboffload (the plugin loads
/// the cdylib). No `--bins` filter: it applies to every `-p` and would leave
/// liboffload.so unbuilt on a fresh clone.
fn build() -> Result<Binaries, String> {
    let mut c = cargo();
    c.args([
        "build",
        "--quiet",
        "-p",
        "offload-cli",
        "-p",
        "offload-capi",
    ]);
    util::run(c)?;
    let target = util::target_dir();
    Ok(Binaries {
        offloadctl: target.join("debug/offloadctl"),
        liboffload: target.join("debug/liboffload.so"),
        xtask: std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?,
    })
}

fn step(number: &str, title: &str) {
    println!();
    println!("=== step {number}: {title}");
}

/// Runs a command, prints it and its output indented, returns (success, stdout).
fn show(mut command: Command) -> Result<(bool, String), String> {
    let text = format!("{command:?}").replace('"', "");
    println!("$ {text}");
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {text}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in stdout
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
    {
        println!("    {line}");
    }
    Ok((out.status.success(), stdout))
}

fn in_netns(ns: &str, program: &Path) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(program);
    c
}

fn pcap_check(bins: &Binaries, work: &Path, findings: &mut Findings) -> Result<(), String> {
    let file = work.join("imix.pcap");
    let mut generate = cargo();
    generate
        .args([
            "run",
            "--quiet",
            "-p",
            "offload-diagnose",
            "--example",
            "imix_pcap",
            "--",
        ])
        .arg(&file)
        .arg("20000");
    util::run(generate)?;
    let mut check = Command::new(&bins.offloadctl);
    check.arg("check").arg(&file);
    let (ok, stdout) = show(check)?;
    findings.expect(
        !ok,
        "offloadctl check exits non-zero on a capture with corrupt packets",
    );
    findings.expect(
        stdout.contains("offload-pending"),
        "the summary separates offload-pending checksums from corrupt ones",
    );
    Ok(())
}

/// The lab's names, unique per run so parallel runs never collide.
struct Lab {
    dom0: String,
    guest: String,
    watchdog: Option<Child>,
    background: Vec<Child>,
}

impl Lab {
    fn create() -> Result<Lab, String> {
        let pid = std::process::id();
        let lab = Lab {
            dom0: format!("offdemo-dom0-{pid}"),
            guest: format!("offdemo-guest-{pid}"),
            watchdog: None,
            background: Vec::new(),
        };
        let mut lab = lab;
        lab.watchdog = Some(lab.spawn_watchdog()?);
        let (d, g) = (lab.dom0.clone(), lab.guest.clone());
        let script = format!(
            "set -e
ip netns add {d}
ip netns add {g}
ip -n {d} link set lo up
ip -n {g} link set lo up
ip link add eth0 netns {d} type veth peer name eth0 netns {g}
ip link add vif1.0 netns {d} type veth peer name eth1 netns {g}
ip -n {d} addr add 10.77.0.1/24 dev eth0
ip -n {g} addr add 10.77.0.2/24 dev eth0
ip -n {d} addr add 10.77.1.1/24 dev vif1.0
ip -n {g} addr add 10.77.1.2/24 dev eth1
for l in eth0 vif1.0; do ip -n {d} link set $l up; done
for l in eth0 eth1; do ip -n {g} link set $l up; done
"
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .status()
            .map_err(|e| format!("sh: {e}"))?;
        if !status.success() {
            return Err(format!("creating the lab namespaces {d} / {g} failed"));
        }
        println!("lab: namespace {d} (dom0: eth0, vif1.0) <-> namespace {g} (guest: eth0, eth1)");
        Ok(lab)
    }

    /// A detached shell that ignores Ctrl-C, waits for the demo to exit however it
    /// exits, then kills what runs in the lab and deletes the namespaces.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        let script = format!(
            "trap '' INT TERM HUP
while kill -0 {parent} 2>/dev/null; do sleep 0.5; done
for ns in {d} {g}; do
  for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p 2>/dev/null; done
  ip netns del $ns 2>/dev/null
done
exit 0",
            parent = std::process::id(),
            d = self.dom0,
            g = self.guest
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the lab watchdog: {e}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.background {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.dom0, &self.guest] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        println!("lab: torn down ({}, {})", self.dom0, self.guest);
    }
}

/// Throughput from the guest to dom0 over the NIC veth, in Gbit/s.
fn throughput(bins: &Binaries, lab: &Lab) -> Result<f64, String> {
    let mut send = in_netns(&lab.guest, &bins.xtask);
    send.args([
        "__traffic",
        "send",
        "10.77.0.1",
        &SINK_PORT.to_string(),
        "2",
    ]);
    let out = send.output().map_err(|e| format!("traffic: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("gbit_per_s="))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            format!(
                "traffic sender said: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Captures on dom0's interfaces while the guest sends TCP and UDP, returns the summary JSON.
fn capture_with_traffic(bins: &Binaries, lab: &Lab) -> Result<String, String> {
    let mut capture = in_netns(&lab.dom0, &bins.offloadctl);
    capture.args(["capture", "eth0", "vif1.0", "--seconds", "3", "--json"]);
    println!(
        "$ offloadctl capture eth0 vif1.0 --netns {} --seconds 3 --json",
        lab.dom0
    );
    let child = capture
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("capture: {e}"))?;
    std::thread::sleep(Duration::from_millis(500));
    guest_traffic(bins, lab);
    let out = child
        .wait_with_output()
        .map_err(|e| format!("capture: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        println!("    {line}");
    }
    Ok(stdout)
}

/// Guest -> dom0 traffic over both veths: a short TCP stream and UDP datagrams.
fn guest_traffic(bins: &Binaries, lab: &Lab) {
    for addr in ["10.77.0.1", "10.77.1.1"] {
        let mut tcp = in_netns(&lab.guest, &bins.xtask);
        tcp.args(["__traffic", "send", addr, &SINK_PORT.to_string(), "0.3"]);
        let _ = tcp.output();
        let mut udp = in_netns(&lab.guest, &bins.xtask);
        udp.args(["__traffic", "udp", addr, "9", "200"]);
        let _ = udp.output();
    }
}

/// `offloadctl doctor --netns DOM0 --seconds 2 --json` with guest traffic in
/// its window, saved to `saved`; then the saved report read back as text
/// (`--evidence`). Returns (exit code, JSON).
fn doctor(bins: &Binaries, lab: &Lab, saved: &Path) -> Result<(i32, String), String> {
    use std::io::BufRead;
    println!(
        "$ offloadctl doctor --netns {} --seconds 2 --json > {}",
        lab.dom0,
        saved.display()
    );
    let mut child = Command::new(&bins.offloadctl)
        .args(["doctor", "--netns", &lab.dom0, "--seconds", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("doctor: {e}"))?;
    let mut stderr = std::io::BufReader::new(child.stderr.take().ok_or("doctor: no stderr")?);
    let mut line = String::new();
    let _ = stderr.read_line(&mut line);
    println!("    {}", line.trim_end());
    guest_traffic(bins, lab);
    let out = child
        .wait_with_output()
        .map_err(|e| format!("doctor: {e}"))?;
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(saved, &json).map_err(|e| format!("{}: {e}", saved.display()))?;
    let mut text = Command::new(&bins.offloadctl);
    text.args(["doctor", "--evidence"]).arg(saved);
    show(text)?;
    Ok((out.status.code().unwrap_or(-1), json))
}

fn lab_demo(bins: &Binaries, work: &Path, findings: &mut Findings) -> Result<(), String> {
    step(
        "1",
        "build the lab: dom0 with a NIC and a VIF backend, and a guest",
    );
    let mut lab = Lab::create()?;
    let mut sink = in_netns(&lab.dom0, &bins.xtask);
    sink.args(["__traffic", "sink", &SINK_PORT.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    lab.background
        .push(sink.spawn().map_err(|e| format!("sink: {e}"))?);
    std::thread::sleep(Duration::from_millis(300));

    step(
        "2",
        "traffic with offloads on; capture and classify (seed: tcpdump -v | grep incorrect)",
    );
    let before_gbps = throughput(bins, &lab)?;
    let summary = capture_with_traffic(bins, &lab)?;
    println!("{summary}");
    let pending = util::json_number(&summary, "offload_pending").unwrap_or(0);
    let incorrect = util::json_number(&summary, "incorrect").unwrap_or(0);
    findings.expect(
        pending > 0,
        "with TX checksum offload on, the capture shows offload-pending checksums",
    );
    findings.expect(incorrect == 0, "none of them is corruption");
    println!("    is any fix needed at all? ask the doctor before changing anything:");
    let doctor_before = work.join("doctor-before.json");
    let (code, report) = doctor(bins, &lab, &doctor_before)?;
    findings.expect(
        code == 0 && report.contains("\"summary\": \"offload artefacts only, nothing to fix\""),
        "doctor before the change: offload artefacts only, nothing to fix (exit 0)",
    );
    findings.expect(
        report.contains("\"cause\": \"offload_pending_only\"")
            && !report.contains("\"severity\": \"problem\""),
        "doctor names the offload-pending checksums as artefacts and proposes no switch",
    );

    step(
        "3",
        "switch offloads off (seed: ethtool -k / -K loop, xe pif/vif-param-set, restart)",
    );
    for ns in [&lab.dom0, &lab.guest] {
        let mut show_cmd = Command::new(&bins.offloadctl);
        show_cmd.args(["show", "eth0", "--netns", ns]);
        show(show_cmd)?;
    }
    // The plan first: a dry run changes nothing and writes nothing.
    let mut plan = Command::new(&bins.offloadctl);
    plan.args(["disable", "--all", "--netns", &lab.dom0, "--dry-run"]);
    let (ok, _) = show(plan)?;
    findings.expect(ok, "offloadctl disable --all --dry-run printed the plan");
    // The seed's ethtool loop on dom0's NIC, saving what it changes for the
    // undo in step 5; the VIF backends are left to the pool's plugin below.
    let saved = work.join("before.json");
    // A snapshot left by an earlier run is never this lab's state.
    let _ = std::fs::remove_file(&saved);
    let mut disable = Command::new(&bins.offloadctl);
    disable
        .args([
            "disable",
            "--all",
            "--exclude",
            "vif*",
            "--netns",
            &lab.dom0,
            "--save",
        ])
        .arg(&saved);
    let (ok, _) = show(disable)?;
    findings.expect(
        ok,
        "offloadctl disable --all --save switched dom0's NIC off",
    );
    // The pool: persist the seed's keys in XAPI, then the plugin in dom0
    // switches the VIF backend off now.
    xapi_steps(bins, work, findings, Some(&lab))?;
    // The guest's own offloads stand for what netfront renegotiates after the VIF
    // settings take effect (the seed's VM restart).
    let mut disable_guest = Command::new(&bins.offloadctl);
    disable_guest.args(["disable", "--all", "--netns", &lab.guest]);
    let (ok, _) = show(disable_guest)?;
    findings.expect(ok, "offloadctl disable --all succeeded in the guest");

    step("4", "traffic again; every checksum should be correct");
    let summary = capture_with_traffic(bins, &lab)?;
    println!("{summary}");
    let pending = util::json_number(&summary, "offload_pending").unwrap_or(u64::MAX);
    let incorrect = util::json_number(&summary, "incorrect").unwrap_or(u64::MAX);
    let packets = util::json_number(&summary, "packets").unwrap_or(0);
    findings.expect(
        packets > 0 && pending == 0 && incorrect == 0,
        "after disable, every checksum is correct (no offload-pending, no incorrect)",
    );
    let doctor_after = work.join("doctor-after.json");
    let (code, report) = doctor(bins, &lab, &doctor_after)?;
    findings.expect(
        code == 0
            && report.contains("\"verdict\": \"nothing_wrong\"")
            && !report.contains("offload_pending_only"),
        "doctor after the change: no bad checksum at all (exit 0)",
    );
    let mut compare = Command::new(&bins.offloadctl);
    compare
        .args(["doctor", "--compare"])
        .arg(&doctor_before)
        .arg(&doctor_after);
    let (ok, text) = show(compare)?;
    findings.expect(
        ok && text.contains("no change: nothing wrong before or after"),
        "doctor --compare: the change fixed nothing, because nothing was wrong (here, on veth)",
    );
    let after_gbps = throughput(bins, &lab)?;
    println!(
        "throughput guest -> dom0 over veth: before {before_gbps:.2} Gbit/s, after {after_gbps:.2} Gbit/s (measured, 2 s each)"
    );
    if after_gbps < before_gbps {
        println!(
            "    note: veth has no faulty NIC, so here the software checksums and segmentation only\n    cost CPU; on hosts whose NIC or netback mangles offloaded packets, switching offloads\n    off is what stops the drops and retransmits the seed describes."
        );
    }

    step(
        "5",
        "undo: put back what the local disable changed in dom0 (offloadctl restore)",
    );
    let mut restore = Command::new(&bins.offloadctl);
    restore.arg("restore").arg(&saved);
    let (ok, _) = show(restore)?;
    findings.expect(ok, "offloadctl restore put back what disable changed");
    let mut check = Command::new(&bins.offloadctl);
    check.args(["show", "eth0", "--netns", &lab.dom0]);
    let (_, text) = show(check)?;
    findings.expect(
        text.contains("tx-checksumming: on"),
        "after restore, dom0's eth0 has TX checksumming on again",
    );
    println!(
        "    note: vif1.0 keeps the plugin's settings: its keys live in XAPI, so the undo\n    there is `offloadctl xapi vif clear` and a replug, not a local restore."
    );

    step("6", "tear down");
    drop(lab);
    Ok(())
}

/// The demo pool: one host whose PIF is the lab's `eth0`, one running guest
/// (domid 1: its VIF 0 is dom0's `vif1.0`), and a template that the seed's
/// selection must leave alone.
const LAB_POOL: &str = r#"{
  "name_label": "offload demo lab", "seed": 1,
  "networks": [{"name_label": "lab network", "bridge": "xenbr0"}],
  "hosts": [{"name_label": "lab-dom0", "address": "127.0.0.1",
             "pifs": [{"device": "eth0", "network": "lab network", "management": true}]}],
  "vms": [
    {"name_label": "guest", "power_state": "Running", "host": "lab-dom0",
     "vifs": [{"network": "lab network"}]},
    {"name_label": "pfsense-template", "is_a_template": true,
     "vifs": [{"network": "lab network"}]}
  ]
}"#;

/// A simulator process, stopped on drop.
struct Sim {
    child: Child,
    socket: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Starts `xapi-sim` on a unix socket (in the lab's dom0 namespace when
/// there is a lab, so plugins run there) and waits until it listens.
fn start_sim(
    bins: &Binaries,
    work: &Path,
    lab: Option<&Lab>,
    pool: &str,
    name: &str,
) -> Result<Sim, String> {
    let dom0 = install_dom0(bins, work)?;
    let pool_file = work.join(format!("{name}.json"));
    std::fs::write(&pool_file, pool).map_err(|e| format!("{}: {e}", pool_file.display()))?;
    let socket = work.join(format!("{name}.sock"));
    let ready = work.join(format!("{name}.ready"));
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&ready);
    let mut command = match lab {
        Some(lab) => in_netns(&lab.dom0, &bins.xtask),
        None => Command::new(&bins.xtask),
    };
    command
        .arg("xapi-sim")
        .arg("--pool")
        .arg(&pool_file)
        .args(["--listen", "127.0.0.1:0", "--socket"])
        .arg(&socket)
        .arg("--ready-file")
        .arg(&ready)
        .arg("--plugin-dir")
        .arg(&dom0.plugin_dir)
        .arg("--plugin-path")
        .arg(&dom0.path)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    println!(
        "$ cargo xtask xapi-sim --pool {name}.json --socket {} (XAPI simulator)",
        socket.display()
    );
    let child = command.spawn().map_err(|e| format!("xapi-sim: {e}"))?;
    let sim = Sim { child, socket };
    for _ in 0..200 {
        if ready.exists() {
            return Ok(sim);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the XAPI simulator did not start within 10 s".into())
}

/// A dom0's plugin directory and the PATH its plugins run with.
struct Dom0 {
    plugin_dir: PathBuf,
    path: String,
}

/// Lays out a dom0 under `work/dom0` as the RPM installs it (the plugin and
/// liboffload at their RPM paths), with a `python3` that has XenAPIPlugin
/// (the tests' stand-in) and XenAPI (the venv's official SDK) the way dom0's
/// Python has them in its own site-packages. The simulator gives a plugin
/// nothing but PATH, as xapi does, so this layout is all the plugin finds.
fn install_dom0(bins: &Binaries, work: &Path) -> Result<Dom0, String> {
    let root = work.join("dom0");
    let under_root = |file: &str| root.join(file.trim_start_matches('/'));
    let site = root.join("usr/lib/site-packages");
    let bin = root.join("usr/bin");
    let sources = util::workspace_root().join("offload-py");
    for (from, to) in [
        (
            sources.join("plugins/offload"),
            under_root(crate::dist::PLUGIN_FILE),
        ),
        (
            bins.liboffload.clone(),
            under_root(crate::dist::LIBRARY_FILE),
        ),
        (
            sources.join("tests/plugin/XenAPIPlugin.py"),
            site.join("XenAPIPlugin.py"),
        ),
    ] {
        let dir = to.parent().expect("installed files have a folder");
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::copy(&from, &to)
            .map_err(|e| format!("cp {} {}: {e}", from.display(), to.display()))?;
    }
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let python3 = bin.join("python3");
    let venv_python = util::ensure_venv()?.join("bin/python");
    let wrapper = format!(
        "#!/bin/sh\nPYTHONPATH='{}' exec '{}' \"$@\"\n",
        site.display(),
        venv_python.display()
    );
    std::fs::write(&python3, wrapper).map_err(|e| format!("{}: {e}", python3.display()))?;
    std::fs::set_permissions(&python3, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", python3.display()))?;
    let plugin_dir = under_root(crate::dist::PLUGIN_FILE)
        .parent()
        .expect("the plugin has a folder")
        .to_path_buf();
    Ok(Dom0 {
        plugin_dir,
        path: format!("{}:{}", bin.display(), offload_xapi_sim::XAPI_PLUGIN_PATH),
    })
}

fn xapi(bins: &Binaries, sim: &Sim, args: &[&str]) -> Result<(bool, String), String> {
    let mut c = Command::new(&bins.offloadctl);
    c.arg("xapi").arg("--socket").arg(&sim.socket).args(args);
    show(c)
}

/// The seed's `xe pif-param-set` / `xe vif-param-set` loops and its grep,
/// then (with a lab) the dom0 plugin through `host.call_plugin`.
fn xapi_steps(
    bins: &Binaries,
    work: &Path,
    findings: &mut Findings,
    lab: Option<&Lab>,
) -> Result<(), String> {
    let sim = start_sim(bins, work, lab, LAB_POOL, "lab-pool")?;
    let (ok, out) = xapi(bins, &sim, &["pif", "apply", "--preset", "seed"])?;
    findings.expect(
        ok && out.contains("1 changed"),
        "xapi pif apply --preset seed set the six keys on the PIF",
    );
    let (ok, out) = xapi(
        bins,
        &sim,
        &["vif", "apply", "--preset", "seed", "--replug"],
    )?;
    findings.expect(
        ok && out.contains("1 objects, 1 changed"),
        "xapi vif apply --preset seed changed the guest's VIF only (not the template's) and replugged it",
    );
    let (ok, out) = xapi(bins, &sim, &["pif", "verify", "--preset", "seed"])?;
    findings.expect(
        ok && out.contains("0 differ"),
        "xapi pif verify: every PIF carries the seed's keys",
    );
    let (ok, out) = xapi(bins, &sim, &["vif", "verify", "--preset", "seed"])?;
    findings.expect(
        ok && out.contains("0 differ"),
        "xapi vif verify: every guest VIF carries the seed's keys",
    );
    match lab {
        None => findings.skipped.push(
            "the dom0 plugin through host.call_plugin (xapi host apply): it changes interfaces, needs root and the lab".into(),
        ),
        Some(lab) => {
            let (ok, out) = xapi(bins, &sim, &["host", "apply", "--all-hosts", "--preset", "seed", "--json"])?;
            findings.expect(ok, "xapi host apply --all-hosts ran the offload plugin in dom0 through host.call_plugin");
            findings.expect(
                out.contains("\"vif1.0\"") && out.contains("\"changed\""),
                "the plugin switched the VIF backend vif1.0 off now (no VM restart)",
            );
            let mut check = Command::new(&bins.offloadctl);
            check.args(["show", "vif1.0", "--netns", &lab.dom0]);
            let (_, text) = show(check)?;
            findings.expect(
                text.contains("tx-checksumming: off") && text.contains("generic-segmentation-offload: off"),
                "after the plugin, dom0's vif1.0 runs with TX checksum and GSO off",
            );
            // The same doctor in every dom0 of the pool, through the plugin.
            let (ok, out) = xapi(bins, &sim, &["host", "doctor", "--all-hosts", "--seconds", "1"])?;
            findings.expect(
                ok && out.contains("== lab-dom0") && out.contains("doctor: nothing wrong"),
                "xapi host doctor --all-hosts ran doctor in dom0 through the plugin: nothing wrong",
            );
        }
    }
    drop(sim);
    bonded_pool_steps(bins, work, findings)
}

/// The simulator's lab pool (offload-xapi-sim/pools/lab.json): a bond over
/// eth2+eth3, a VLAN and a tunnel under openvswitch. Keys go on the slaves,
/// `--replug` plugs the bond master once and never a slave, and verify says
/// which PIFs' keys would change nothing.
fn bonded_pool_steps(bins: &Binaries, work: &Path, findings: &mut Findings) -> Result<(), String> {
    let pool =
        std::fs::read_to_string(util::workspace_root().join("offload-xapi-sim/pools/lab.json"))
            .map_err(|e| format!("offload-xapi-sim/pools/lab.json: {e}"))?;
    let sim = start_sim(bins, work, None, &pool, "bonded-pool")?;
    let (ok, out) = xapi(
        bins,
        &sim,
        &["pif", "apply", "--preset", "seed", "--replug"],
    )?;
    let plugged = |device: &str| {
        out.lines().any(|l| {
            l.contains("PIF.plug") && l.contains(" ok ") && l.ends_with(&format!("/{device}"))
        })
    };
    findings.expect(
        ok && plugged("bond0") && !plugged("eth2") && !plugged("eth3"),
        "xapi pif apply --replug on a bonded pool: keys on eth2/eth3, bond0 plugged once, no slave plugged",
    );
    let (ok, out) = xapi(bins, &sim, &["pif", "verify", "--preset", "seed"])?;
    findings.expect(
        ok && out.contains("the keys belong on the bond's slaves eth2, eth3")
            && out.contains("there is no eth1.100 device"),
        "xapi pif verify says bond-master and VLAN keys have no effect under openvswitch",
    );
    drop(sim);
    Ok(())
}
