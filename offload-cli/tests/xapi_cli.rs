//! `offloadctl xapi` end to end against the XAPI simulator: the seed's
//! `xe pif-param-set` / `xe vif-param-set` loops, checked through the state
//! the simulated host runs, plus every bad-input path with its exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use offload_xapi_sim::{Faults, GenSpec, PoolDesc, SimConfig, SimHandle, Simulator};

const SEED_KEYS: [&str; 6] = [
    "ethtool-gso",
    "ethtool-ufo",
    "ethtool-tso",
    "ethtool-sg",
    "ethtool-tx",
    "ethtool-rx",
];

/// A pool with everything the seed's selection must skip: dom0 (always
/// there), a template, a snapshot, a halted VM and an HVM guest without hotplug.
const LAB_POOL: &str = r#"{
  "name_label": "lab", "seed": 7,
  "networks": [
    {"name_label": "Pool-wide network associated with eth0", "bridge": "xenbr0"},
    {"name_label": "storage", "bridge": "xenbr1"}
  ],
  "hosts": [
    {"name_label": "xen01", "address": "10.0.0.1", "pifs": [
      {"device": "eth0", "network": "Pool-wide network associated with eth0", "management": true},
      {"device": "eth1", "network": "storage"}]},
    {"name_label": "xen02", "address": "10.0.0.2", "pifs": [
      {"device": "eth0", "network": "Pool-wide network associated with eth0", "management": true},
      {"device": "eth1", "network": "storage"}]}
  ],
  "vms": [
    {"name_label": "pfsense-fw1", "power_state": "Running", "host": "xen01",
     "vifs": [{"network": "Pool-wide network associated with eth0"}, {"network": "storage"}]},
    {"name_label": "web-01", "power_state": "Running", "host": "xen02",
     "vifs": [{"network": "Pool-wide network associated with eth0"}]},
    {"name_label": "win-hvm", "power_state": "Running", "host": "xen02", "hotplug": false, "domain_type": "hvm",
     "vifs": [{"network": "Pool-wide network associated with eth0"}]},
    {"name_label": "db-halted", "power_state": "Halted",
     "vifs": [{"network": "storage"}]},
    {"name_label": "debian-template", "is_a_template": true,
     "vifs": [{"network": "Pool-wide network associated with eth0"}]},
    {"name_label": "web-01-snap", "snapshot_of": "web-01",
     "vifs": [{"network": "Pool-wide network associated with eth0"}]}
  ]
}"#;

fn offloadctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_offloadctl"))
}

struct Pool {
    sim: SimHandle,
    password_file: tempfile_lite::TempFile,
}

mod tempfile_lite {
    //! A file removed on drop (the test needs only this).
    use std::path::{Path, PathBuf};

    pub struct TempFile(PathBuf);

    impl TempFile {
        pub fn with(contents: &str) -> TempFile {
            static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path =
                std::env::temp_dir().join(format!("offload-xapi-cli-{}-{n}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            // Password files as a careful admin keeps them (offloadctl warns otherwise).
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            TempFile(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl Pool {
    fn start(desc: &PoolDesc, config: SimConfig) -> Pool {
        let password = config.password.clone();
        let sim = Simulator::start(desc, config).unwrap();
        Pool {
            sim,
            password_file: tempfile_lite::TempFile::with(&format!("{password}\n")),
        }
    }

    fn lab() -> Pool {
        Pool::start(
            &PoolDesc::from_json(LAB_POOL).unwrap(),
            SimConfig::default(),
        )
    }

    /// `offloadctl xapi --url .. --password-file .. <args>`.
    /// A logged-in client, for setting up what a test needs.
    fn client(&self) -> offload_xapi::Client {
        offload_xapi::Client::connect(offload_xapi::ConnectOptions::new(
            offload_xapi::Endpoint::parse(&self.sim.url()).unwrap(),
            "root",
            "secret",
        ))
        .unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_at(&self.sim.url(), args)
    }

    fn run_at(&self, url: &str, args: &[&str]) -> Output {
        Command::new(offloadctl())
            .args(["xapi", "--url", url, "--password-file"])
            .arg(self.password_file.path())
            .args(args)
            .env_remove("OFFLOAD_XAPI_PASSWORD")
            .env_remove("OFFLOAD_XAPI_URL")
            .output()
            .unwrap()
    }

    /// Guest VIFs keyed by "vm-name/device".
    fn vif_other_config(&self, vm_name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        let state = self.sim.state();
        let vm = state.vms.iter().find(|v| v.name_label == vm_name).unwrap();
        state
            .vifs
            .iter()
            .filter(|v| v.owner == vm.reference)
            .map(|v| v.other_config.clone())
            .collect()
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn has_seed_keys(config: &std::collections::BTreeMap<String, String>) -> bool {
    SEED_KEYS
        .iter()
        .all(|k| config.get(*k).map(String::as_str) == Some("off"))
}

#[test]
fn vif_apply_seed_selects_like_the_seed_and_reports_pending_restarts() {
    let pool = Pool::lab();
    let before = pool.run(&["vif", "verify", "--preset", "seed"]);
    assert_eq!(
        code(&before),
        1,
        "verify before apply must report differences: {}",
        stdout(&before)
    );

    let out = pool.run(&["vif", "apply", "--preset", "seed", "--json"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = json(&out);
    let objects = report["report"]["objects"].as_array().unwrap();
    // pfsense-fw1 (2), web-01, win-hvm, db-halted: 5 guest VIFs; never dom0, template, snapshot.
    assert_eq!(objects.len(), 5, "{report:#}");
    assert!(objects.iter().all(|o| o["status"] == "changed"));
    for vm in ["pfsense-fw1", "web-01", "win-hvm", "db-halted"] {
        assert!(pool.vif_other_config(vm).iter().all(has_seed_keys), "{vm}");
    }
    for untouched in ["debian-template", "web-01-snap"] {
        assert!(
            pool.vif_other_config(untouched)
                .iter()
                .all(|c| c.is_empty()),
            "{untouched}"
        );
    }
    // Running VMs keep the old settings until the backend comes online again.
    let pending: Vec<_> = objects
        .iter()
        .filter(|o| o["pending"].is_string())
        .collect();
    assert_eq!(
        pending.len(),
        4,
        "db-halted has nothing pending: {report:#}"
    );
    let state = pool.sim.state();
    assert!(state
        .vifs
        .iter()
        .filter_map(|v| v.applied.as_ref())
        .all(|a| a.is_empty()));

    // Six writes per VIF (keys were absent: one add each), four reads (host, network, VM, VIF).
    assert_eq!(report["report"]["calls"].as_u64().unwrap(), 5 * 6 + 4);

    let again = pool.run(&["vif", "apply", "--preset", "seed", "--json"]);
    assert_eq!(code(&again), 0);
    let again = json(&again);
    assert!(again["report"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "unchanged"));
    assert_eq!(
        again["report"]["calls"].as_u64().unwrap(),
        4,
        "a second run only reads"
    );

    let verify = pool.run(&["vif", "verify", "--preset", "seed"]);
    assert_eq!(code(&verify), 0, "{}", stdout(&verify));
    // win-hvm has no PV drivers: its traffic uses the emulated tapD.N,
    // which no key reaches (xenopsd's vif-real), so verify says so.
    let text = stdout(&verify);
    assert!(
        text.contains("4 match, 0 differ, 1 where keys have no effect"),
        "{text}"
    );
    assert!(
        text.contains("win-hvm/VIF 0  emulated NIC: no effect until PV drivers are installed"),
        "{text}"
    );
}

#[test]
fn replug_applies_now_where_the_guest_allows_and_reboot_covers_the_rest() {
    let pool = Pool::lab();
    let out = pool.run(&[
        "vif", "apply", "--preset", "tx-only", "--vm", "*", "--replug", "--reboot", "--json",
    ]);
    let report = json(&out);
    let actions = report["actions"].as_array().unwrap();
    // win-hvm has no PV drivers: its replug fails (VM_MISSING_PV_DRIVERS,
    // xapi_vif_helpers.ml) and it gets a clean reboot instead, which xapi
    // refuses too; the report names the VM and the error (a hard reboot
    // needs a human).
    let failed_replug: Vec<_> = actions
        .iter()
        .filter(|a| a["action"] == "VIF.unplug+plug" && a["ok"] == false)
        .collect();
    assert_eq!(failed_replug.len(), 1, "{report:#}");
    assert_eq!(failed_replug[0]["error"]["code"], "VM_MISSING_PV_DRIVERS");
    let reboots: Vec<_> = actions
        .iter()
        .filter(|a| a["action"] == "VM.clean_reboot")
        .collect();
    assert_eq!(
        reboots.len(),
        1,
        "only the VM whose replug failed: {report:#}"
    );
    assert_eq!(reboots[0]["label"], "win-hvm");
    assert_eq!(
        reboots[0]["error"]["code"], "VM_LACKS_FEATURE",
        "{report:#}"
    );
    assert_eq!(code(&out), 1, "failed follow-ups make the run partial");
    let state = pool.sim.state();
    for vif in &state.vifs {
        if let Some(applied) = &vif.applied {
            let vm = state.vms.iter().find(|v| v.reference == vif.owner).unwrap();
            if vm.is_control_domain || vm.name_label == "win-hvm" {
                continue;
            }
            assert_eq!(
                applied.get("tx"),
                Some(&false),
                "{} runs with tx off now",
                vm.name_label
            );
        }
    }
}

#[test]
fn pif_apply_then_replug_reapplies_on_the_host() {
    let pool = Pool::lab();
    let out = pool.run(&["pif", "apply", "--preset", "seed", "--device", "eth1"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("2 objects, 2 changed"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("still run with the old settings"),
        "{}",
        stdout(&out)
    );
    let state = pool.sim.state();
    let eth1: Vec<_> = state.pifs.iter().filter(|p| p.device == "eth1").collect();
    assert!(eth1.iter().all(|p| has_seed_keys(&p.other_config)));
    assert!(state
        .pifs
        .iter()
        .filter(|p| p.device == "eth0")
        .all(|p| p.other_config.is_empty()));

    let out = pool.run(&[
        "pif", "apply", "--preset", "seed", "--device", "eth1", "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let state = pool.sim.state();
    for p in state.pifs.iter().filter(|p| p.device == "eth1") {
        let applied = p.applied.as_ref().unwrap();
        assert_eq!(applied.get("tx"), Some(&false), "{p:?}");
    }
}

#[test]
fn list_and_verify_read_keys_as_the_host_does() {
    let pool = Pool::lab();
    // What copy-pasting from a blog leaves behind.
    let client = pool.client();
    let vifs = client.call("VIF.get_all_records", &[]).unwrap();
    let web_vif = vifs
        .as_struct()
        .unwrap()
        .iter()
        .find(|(_, r)| {
            let vm = r.get("VM").and_then(|v| v.as_str()).unwrap();
            client
                .call("VM.get_name_label", &[vm.into()])
                .unwrap()
                .as_str()
                == Some("web-01")
        })
        .map(|(reference, _)| reference.clone())
        .unwrap();
    for (k, v) in [
        ("ethtool-tx", "\u{201d}off\u{201d}"),
        ("ethtool-gro", "off"),
        ("ethtool-sgo", "off"),
        ("ethtool-sg", "false"),
    ] {
        client
            .call(
                "VIF.add_to_other_config",
                &[web_vif.as_str().into(), k.into(), v.into()],
            )
            .unwrap();
    }
    drop(client);

    let list = pool.run(&["vif", "list", "--vm", "web-01"]);
    assert_eq!(
        code(&list),
        1,
        "ignored keys are problems: {}",
        stdout(&list)
    );
    let text = stdout(&list);
    assert!(text.contains("quotes"), "{text}");
    assert!(text.contains("xenopsd passes only"), "{text}");
    assert!(text.contains("did you mean ethtool-sg?"), "{text}");
    assert!(
        text.contains("ethtool-sg=\"false\"  applied (off)"),
        "{text}"
    );

    let verify = pool.run(&[
        "vif",
        "verify",
        "--set",
        "tx=off,sg=off",
        "--vm",
        "web-01",
        "--json",
    ]);
    assert_eq!(code(&verify), 1);
    let doc = json(&verify);
    let keys = doc["objects"][0]["keys"].as_array().unwrap();
    assert_eq!(keys[0]["key"], "ethtool-tx");
    assert_eq!(keys[0]["ok"], false);
    assert_eq!(keys[1]["ok"], true, "false counts as off: {doc:#}");

    // Applying fixes the pasted value (remove, then add, like xe).
    let fix = pool.run(&["vif", "apply", "--set", "tx=off", "--vm", "web-01"]);
    assert_eq!(code(&fix), 0, "{}", stdout(&fix));
    assert_eq!(pool.vif_other_config("web-01")[0]["ethtool-tx"], "off");
}

#[test]
fn clear_removes_only_what_was_asked() {
    let pool = Pool::lab();
    assert_eq!(code(&pool.run(&["vif", "apply", "--preset", "seed"])), 0);
    let out = pool.run(&["vif", "clear", "--set", "tx=off", "--vm", "pfsense*"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    for c in pool.vif_other_config("pfsense-fw1") {
        assert!(
            !c.contains_key("ethtool-tx") && c.contains_key("ethtool-gso"),
            "{c:?}"
        );
    }
    let out = pool.run(&["vif", "clear", "--all-keys"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(pool.vif_other_config("web-01").iter().all(|c| c.is_empty()));
    assert!(
        stdout(&out).contains("Not undone: running VMs keep the removed settings"),
        "{}",
        stdout(&out)
    );

    // PIFs: networkd runs ethtool -K only for keys present, so clearing
    // switches nothing back on; clear says so and offers no replug hint.
    assert_eq!(code(&pool.run(&["pif", "apply", "--preset", "seed"])), 0);
    let out = pool.run(&["pif", "clear", "--preset", "seed"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(
        text.contains("Not undone: removing PIF keys switches nothing back on"),
        "{text}"
    );
    assert!(!text.contains("Use --replug"), "{text}");
    let out = pool.run(&["pif", "clear", "--preset", "seed", "--json"]);
    assert!(json(&out)["report"]["clear_leaves"]
        .as_str()
        .unwrap()
        .contains("until a host reboot or a driver reload"));
}

#[test]
fn dry_run_writes_nothing() {
    let pool = Pool::lab();
    let out = pool.run(&["pif", "apply", "--preset", "seed", "--dry-run", "--json"]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert!(doc["report"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "would-change"));
    assert!(pool
        .sim
        .state()
        .pifs
        .iter()
        .all(|p| p.other_config.is_empty()));
}

#[test]
fn bad_input_gets_one_line_and_a_distinct_exit_code() {
    let pool = Pool::lab();
    let pin = format!("--fingerprint={}", "ab".repeat(32));
    let cases: [(&[&str], i32, &str); 8] = [
        // Resolved by offload-xapi's PolicySpec / TrustSpec, as in C and Python.
        (&["vif", "apply"], 64, "no policy"),
        (
            &["vif", "apply", "--preset", "seed", "--set", "tx=off"],
            64,
            "either a preset or settings",
        ),
        (
            &["pif", "verify", "--preset", "seed", "--insecure", &pin],
            64,
            "either a fingerprint to pin or insecure",
        ),
        (
            &["vif", "apply", "--set", "sgo=off"],
            64,
            "did you mean sg?",
        ),
        (
            &["vif", "apply", "--set", "gro=off"],
            64,
            "ignores this key on VIFs",
        ),
        (&["vif", "apply", "--preset", "fast"], 64, "unknown preset"),
        (
            &[
                "vif",
                "apply",
                "--preset",
                "seed",
                "--vm",
                "nothing-like-this*",
            ],
            67,
            "matches no VM",
        ),
        (
            &["pif", "apply", "--preset", "seed", "--host", "xen99"],
            67,
            "matches no PIF",
        ),
    ];
    for (args, expected, needle) in cases {
        let out = pool.run(args);
        let err = stderr(&out);
        assert_eq!(code(&out), expected, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // Nothing was written by any of them.
    assert!(pool
        .sim
        .state()
        .vifs
        .iter()
        .all(|v| v.other_config.is_empty()));

    let wrong = tempfile_lite::TempFile::with("not-the-password\n");
    let out = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(wrong.path())
        .args(["vif", "list"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 70, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SESSION_AUTHENTICATION_FAILED [root, Authentication failure]"),
        "{}",
        stderr(&out)
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = pool.run_at(&closed, &["vif", "list"]);
    assert_eq!(code(&out), 71, "{}", stderr(&out));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));

    let out = Command::new(offloadctl())
        .args([
            "xapi",
            "--url",
            &pool.sim.url(),
            "--password-file",
            "/nonexistent/pw",
            "vif",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 76, "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/pw"), "{}", stderr(&out));
}

/// Credentials and bounds are refused before any call reaches the host:
/// user info in a URL (its password never echoed), an empty or endless
/// password file, a world-readable one is only warned about, and counts of 0.
#[test]
fn credentials_and_bounds_are_refused_before_logging_in() {
    use std::os::unix::fs::PermissionsExt;
    let pool = Pool::lab();
    let logins = |pool: &Pool| {
        pool.sim
            .state()
            .calls
            .get("session.login_with_password")
            .copied()
            .unwrap_or(0)
    };
    let port = pool.sim.url().rsplit(':').next().unwrap().to_string();
    let with_user = format!("http://root:s3cret@127.0.0.1:{port}");
    let out = pool.run_at(&with_user, &["vif", "list"]);
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    let empty = tempfile_lite::TempFile::with("\n");
    for file in [empty.path(), std::path::Path::new("/dev/zero")] {
        let out = Command::new(offloadctl())
            .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
            .arg(file)
            .args(["vif", "list"])
            .env_remove("OFFLOAD_XAPI_PASSWORD")
            .output()
            .unwrap();
        assert_eq!(code(&out), 76, "{file:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }

    for args in [
        &["vif", "apply", "--preset", "seed", "--workers", "0"][..],
        &[
            "vif",
            "apply",
            "--preset",
            "seed",
            "--reboot",
            "--reboot-limit",
            "0",
        ][..],
    ] {
        let out = pool.run(args);
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("at least 1"), "{}", stderr(&out));
    }
    assert_eq!(logins(&pool), 0, "nothing above may log in");
    assert_eq!(pool.sim.state().calls.get("VM.clean_reboot"), None);

    let loose = tempfile_lite::TempFile::with("secret\n");
    std::fs::set_permissions(loose.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(loose.path())
        .args(["vif", "list"])
        .env_remove("OFFLOAD_XAPI_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn tls_pinning_accepts_the_pinned_host_only() {
    let pool = Pool::start(
        &PoolDesc::from_json(LAB_POOL).unwrap(),
        SimConfig {
            tls: true,
            ..SimConfig::default()
        },
    );
    let url = pool.sim.url();
    assert!(url.starts_with("https://"), "{url}");
    let good = pool.sim.fingerprint().unwrap().to_string();
    let out = pool.run(&["--fingerprint", &good, "pif", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bad = format!("00{}", &pool.sim.fingerprint_hex().unwrap()[2..]);
    let out = pool.run(&["--fingerprint", &bad, "pif", "list"]);
    assert_eq!(code(&out), 72, "{}", stderr(&out));
    assert!(stderr(&out).contains("not the pinned"), "{}", stderr(&out));
    let out = pool.run(&["pif", "list"]);
    assert_eq!(
        code(&out),
        72,
        "self-signed is refused without a pin: {}",
        stderr(&out)
    );
    let out = pool.run(&["--insecure", "pif", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_pool_member_sends_us_to_the_master() {
    let config = SimConfig {
        slave_listen: Some("127.0.0.2:0".parse().unwrap()),
        ..SimConfig::default()
    };
    let pool = Pool::start(&PoolDesc::from_json(LAB_POOL).unwrap(), config);
    let member = pool.sim.slave_url().unwrap();
    let out = pool.run_at(&member, &["vif", "apply", "--preset", "seed"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(pool.vif_other_config("web-01").iter().all(has_seed_keys));
}

#[test]
fn a_dropped_connection_mid_run_is_reported_object_by_object() {
    let desc = PoolDesc::generate(GenSpec {
        hosts: 2,
        pifs_per_host: 2,
        vms: 40,
        vifs_per_vm: 2,
        seed: 3,
    });
    // Requests 1-4 are the login and the reads; drop a write in the middle.
    let faults = Faults {
        drop_requests: vec![60, 61, 62, 63],
        ..Faults::default()
    };
    let pool = Pool::start(
        &desc,
        SimConfig {
            faults,
            ..SimConfig::default()
        },
    );
    let out = pool.run(&[
        "vif",
        "apply",
        "--preset",
        "seed",
        "--workers",
        "1",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let doc = json(&out);
    let objects = doc["report"]["objects"].as_array().unwrap();
    let failed: Vec<_> = objects.iter().filter(|o| o["status"] == "failed").collect();
    assert!(!failed.is_empty(), "{doc:#}");
    // The report is exact: each object carries exactly the keys it says were written.
    let state = pool.sim.state();
    for o in objects {
        let uuid = o["uuid"].as_str().unwrap();
        let vif = state.vifs.iter().find(|v| v.uuid == uuid).unwrap();
        let written: Vec<&str> = o["written"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let present: Vec<&str> = SEED_KEYS
            .iter()
            .copied()
            .filter(|k| vif.other_config.contains_key(*k))
            .collect();
        let mut written_sorted = written.clone();
        written_sorted.sort();
        let mut present_sorted = present.clone();
        present_sorted.sort();
        assert_eq!(written_sorted, present_sorted, "{o:#}");
    }
    // A second run finishes the job.
    let again = pool.run(&["vif", "apply", "--preset", "seed"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
}

#[test]
fn sessions_dropped_mid_run_cost_one_login() {
    let desc = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 30,
        vifs_per_vm: 2,
        seed: 5,
    });
    let faults = Faults {
        invalidate_sessions_after: Some(50),
        ..Faults::default()
    };
    let pool = Pool::start(
        &desc,
        SimConfig {
            faults,
            ..SimConfig::default()
        },
    );
    let out = pool.run(&["vif", "apply", "--preset", "seed", "--workers", "8"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let logins = pool
        .sim
        .calls()
        .get("session.login_with_password")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        logins, 2,
        "one initial login and one shared re-login, not one per worker"
    );
    assert!(
        pool.sim
            .state()
            .vifs
            .iter()
            .filter(|v| !v.other_config.is_empty())
            .count()
            >= 60
    );
}

#[test]
fn json_rpc_and_unix_socket_work_the_same() {
    let socket = std::env::temp_dir().join(format!("offload-xapi-sock-{}", std::process::id()));
    let config = SimConfig {
        socket: Some(socket.clone()),
        ..SimConfig::default()
    };
    let pool = Pool::start(&PoolDesc::from_json(LAB_POOL).unwrap(), config);
    let out = pool.run(&[
        "--json-rpc",
        "pif",
        "apply",
        "--preset",
        "seed",
        "--device",
        "eth0",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // The socket is pre-authenticated: no password needed.
    let out = Command::new(offloadctl())
        .args(["xapi", "--socket"])
        .arg(&socket)
        .args(["pif", "verify", "--preset", "seed", "--device", "eth0"])
        .env_remove("OFFLOAD_XAPI_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    drop(pool);
    let _ = std::fs::remove_file(&socket);
}

#[test]
fn ctrl_c_stops_and_reports_what_was_done() {
    let desc = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 200,
        vifs_per_vm: 1,
        seed: 9,
    });
    let config = SimConfig {
        latency: Duration::from_millis(5),
        ..SimConfig::default()
    };
    let pool = Pool::start(&desc, config);
    let child = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(pool.password_file.path())
        .args([
            "vif",
            "apply",
            "--preset",
            "seed",
            "--workers",
            "2",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once writing has started (however loaded the machine is).
    let started = std::time::Instant::now();
    while pool
        .sim
        .state()
        .vifs
        .iter()
        .all(|v| v.other_config.is_empty())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "offloadctl never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY-free: send SIGINT with the kill command, as a user's Ctrl-C would.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let doc = json(&out);
    let objects = doc["report"]["objects"].as_array().unwrap();
    let done = objects.iter().filter(|o| o["status"] == "changed").count();
    let not_done = objects
        .iter()
        .filter(|o| o["status"] == "not-attempted")
        .count();
    assert!(done > 0 && not_done > 0, "done {done}, not done {not_done}");
    let changed_in_state = pool
        .sim
        .state()
        .vifs
        .iter()
        .filter(|v| !v.other_config.is_empty())
        .count();
    assert_eq!(changed_in_state, done, "the report matches the pool");
    assert_eq!(
        pool.sim.calls().get("session.logout").copied(),
        Some(1),
        "logged out after Ctrl-C"
    );
    let _ = std::io::stdout().flush();
}

#[test]
fn watch_keeps_the_policy_applied_until_stopped() {
    let pool = Pool::lab();
    let all_tx_off = || {
        ["pfsense-fw1", "web-01", "win-hvm", "db-halted"]
            .iter()
            .all(|vm| {
                pool.vif_other_config(vm)
                    .iter()
                    .all(|c| c.get("ethtool-tx").map(String::as_str) == Some("off"))
            })
    };
    let events = watch_events(&pool, &["--preset", "tx-only"], |wait_for| {
        wait_for("apply the policy at start", &all_tx_off);
        // Someone removes the key (a new VIF would arrive the same way, as an event).
        let client = pool.client();
        let vifs = client.call("VIF.get_all", &[]).unwrap();
        for vif in vifs.as_array().unwrap() {
            client
                .call(
                    "VIF.remove_from_other_config",
                    &[vif.clone(), "ethtool-tx".into()],
                )
                .unwrap();
        }
        drop(client);
        wait_for("put the removed keys back", &all_tx_off);
    });
    assert_eq!(events[0]["event"], "connected");
    assert!(events
        .iter()
        .any(|e| e["event"] == "applied" && e["reason"] == "start"));
    assert!(
        events.iter().any(|e| e["event"] == "applied"
            && e["reason"].as_str().unwrap().starts_with("changed: vif")),
        "{events:#?}"
    );
    // Template and snapshot VIFs stay untouched.
    for untouched in ["debian-template", "web-01-snap"] {
        assert!(
            pool.vif_other_config(untouched)
                .iter()
                .all(|c| c.is_empty()),
            "{untouched}"
        );
    }
}

/// Runs `xapi watch ARGS --json`, calls `during` with a waiter (what, done:
/// up to 10 s), stops it with Ctrl-C (exit 130) and returns its events.
fn watch_events(
    pool: &Pool,
    args: &[&str],
    during: impl FnOnce(&dyn Fn(&str, &dyn Fn() -> bool)),
) -> Vec<serde_json::Value> {
    let mut child = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(pool.password_file.path())
        .arg("watch")
        .args(args)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        for _ in 0..100 {
            if done() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        panic!("watch did not {what} within 10 s");
    };
    during(&wait_for);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let waited = (0..50).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    let Some(status) = waited else {
        let _ = child.kill();
        panic!("watch did not stop within 5 s of Ctrl-C");
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Xen Orchestra writes `ethtool-tx` as true/false, and XO 6 writes
/// `ethtool-tx=true` on every VIF it creates.
fn xo_writes(pool: &Pool, vm: &str, key: &str, value: &str) {
    let client = pool.client();
    let vm_ref = client
        .call("VM.get_by_name_label", &[vm.into()])
        .unwrap()
        .as_array()
        .unwrap()[0]
        .clone();
    let vifs = client.call("VM.get_VIFs", &[vm_ref]).unwrap();
    for vif in vifs.as_array().unwrap() {
        let _ = client.call("VIF.remove_from_other_config", &[vif.clone(), key.into()]);
        client
            .call(
                "VIF.add_to_other_config",
                &[vif.clone(), key.into(), value.into()],
            )
            .unwrap();
    }
}

#[test]
fn other_writers_values_are_read_as_the_host_reads_them() {
    let pool = Pool::lab();
    xo_writes(&pool, "pfsense-fw1", "ethtool-tx", "false");
    xo_writes(&pool, "web-01", "ethtool-tx", "true");
    let out = pool.run(&["vif", "verify", "--preset", "tx-only", "--json"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let objects = json(&out)["objects"].as_array().unwrap().clone();
    let of = |label: &str| {
        objects
            .iter()
            .find(|o| o["label"].as_str().unwrap().starts_with(label))
            .unwrap()
            .clone()
    };
    assert_eq!(of("pfsense-fw1/")["ok"], true, "false reads as off");
    assert_eq!(of("web-01/")["keys"][0]["problem"], "is on");
    // apply does not rewrite false as off: the host already reads it so.
    let out = pool.run(&[
        "vif",
        "apply",
        "--preset",
        "tx-only",
        "--vm",
        "pfsense-fw1",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(json(&out)["report"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["status"] == "unchanged"));
}

#[test]
fn watch_leaves_a_contradicting_explicit_value_unless_told_to_override() {
    let pool = Pool::lab();
    xo_writes(&pool, "web-01", "ethtool-tx", "true");
    let tx_of = |vm: &str| -> Vec<Option<String>> {
        pool.vif_other_config(vm)
            .iter()
            .map(|c| c.get("ethtool-tx").cloned())
            .collect()
    };
    let events = watch_events(&pool, &["--preset", "seed", "--vifs-only"], |wait_for| {
        wait_for("apply the policy at start", &|| {
            pool.vif_other_config("web-01")
                .iter()
                .all(|c| c.get("ethtool-sg").map(String::as_str) == Some("off"))
        });
        // A second event pass must not report it again.
        xo_writes(&pool, "pfsense-fw1", "ethtool-sg", "off");
        std::thread::sleep(Duration::from_millis(500));
    });
    assert_eq!(tx_of("web-01"), [Some("true".to_string())], "left as set");
    assert_eq!(tx_of("pfsense-fw1"), vec![Some("off".to_string()); 2]);
    let left: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "left-as-set")
        .collect();
    assert_eq!(left.len(), 1, "reported once: {events:#?}");
    assert_eq!(left[0]["object"]["label"], "web-01/VIF 0");
    assert_eq!(left[0]["keys"][0]["key"], "ethtool-tx");
    assert_eq!(left[0]["keys"][0]["found"], "true");

    let events = watch_events(
        &pool,
        &["--preset", "seed", "--vifs-only", "--override"],
        |wait_for| {
            wait_for("enforce the policy", &|| {
                tx_of("web-01") == [Some("off".to_string())]
            })
        },
    );
    assert!(!events.iter().any(|e| e["event"] == "left-as-set"));
}

#[test]
fn a_pinned_pool_member_vouches_for_the_masters_certificate() {
    // Member and master have their own self-signed certificates; the admin
    // pinned the member's. The member names the master's thumbprint (xapi's
    // x-xenapi-response-host-certificate-thumbprint), so the redirect works
    // without --insecure, and only that certificate is trusted.
    let config = SimConfig {
        tls: true,
        slave_listen: Some("127.0.0.2:0".parse().unwrap()),
        ..SimConfig::default()
    };
    let pool = Pool::start(&PoolDesc::from_json(LAB_POOL).unwrap(), config);
    let member = pool.sim.slave_url().unwrap();
    let member_pin = pool.sim.slave_fingerprint().unwrap().to_string();
    assert_ne!(Some(member_pin.as_str()), pool.sim.fingerprint());
    let out = pool.run_at(
        &member,
        &[
            "--fingerprint",
            &member_pin,
            "vif",
            "apply",
            "--preset",
            "seed",
        ],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(pool.vif_other_config("web-01").iter().all(has_seed_keys));
    // Pinning the master's certificate while talking to the member is refused.
    let master_pin = pool.sim.fingerprint().unwrap().to_string();
    let out = pool.run_at(&member, &["--fingerprint", &master_pin, "vif", "list"]);
    assert_eq!(code(&out), 72, "{}", stderr(&out));
}

#[test]
fn a_server_that_answers_garbage_is_a_protocol_error() {
    use std::io::{BufRead, BufReader, Read};
    // Something that is not xapi behind the URL (a web server, a broken proxy):
    // a truncated XML-RPC answer, then an HTML error page.
    for body in [
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>",
        "<html><body>Bad Gateway</body></html>",
    ] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let body = body.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut request = vec![0; length];
                reader.read_exact(&mut request).unwrap();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = std::io::Write::write_all(&mut &stream, reply.as_bytes());
            }
        });
        let password = tempfile_lite::TempFile::with("secret\n");
        let out = Command::new(offloadctl())
            .args(["xapi", "--url", &url, "--password-file"])
            .arg(password.path())
            .args(["vif", "list"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 74, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("bad response to session.login_with_password"),
            "{err}"
        );
    }
}

/// The project's lab pool: bond0 over eth2+eth3 (each slave on its own
/// network), a VLAN and a tunnel on eth1, openvswitch (xapi's default).
fn bonded_lab() -> Pool {
    Pool::start(
        &PoolDesc::from_json(include_str!("../../offload-xapi-sim/pools/lab.json")).unwrap(),
        SimConfig::default(),
    )
}

#[test]
fn bonds_get_keys_on_their_slaves_and_one_plug_of_the_master() {
    let pool = bonded_lab();
    for run in 0..2 {
        let out = pool.run(&["pif", "apply", "--preset", "seed", "--replug", "--json"]);
        assert_eq!(code(&out), 0, "run {run}: {}{}", stdout(&out), stderr(&out));
        let report = json(&out);
        let status = |label: &str| {
            report["report"]["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["label"] == label)
                .unwrap_or_else(|| panic!("{label} in {report:#}"))["status"]
                .clone()
        };
        for skipped in [
            "lab-host-1/bond0",
            "lab-host-1/eth1.100",
            "lab-host-1/tunnel0",
        ] {
            assert_eq!(status(skipped), "no-effect", "{skipped}");
        }
        let mut plugs: Vec<&str> = report["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["action"], "PIF.plug");
                assert_eq!(a["ok"], true, "{a}");
                a["label"].as_str().unwrap()
            })
            .collect();
        plugs.sort_unstable();
        // The master once, never a slave (CANNOT_PLUG_BOND_SLAVE), no VLAN or tunnel.
        assert_eq!(
            plugs,
            ["lab-host-1/bond0", "lab-host-1/eth0", "lab-host-1/eth1"],
            "run {run}"
        );
    }
    let state = pool.sim.state();
    let device = |name: &str| {
        state
            .pifs
            .iter()
            .find(|p| p.device == name && p.other_config.contains_key("ethtool-tx"))
            .unwrap_or_else(|| panic!("{name} carries the keys"))
    };
    for slave in ["eth2", "eth3"] {
        assert_eq!(
            device(slave).applied.as_ref().unwrap().get("tx"),
            Some(&false)
        );
    }
    let bond0 = state.pifs.iter().find(|p| p.device == "bond0").unwrap();
    assert!(
        bond0.other_config.is_empty(),
        "nothing written where it does nothing"
    );
    assert_eq!(bond0.applied, None, "no bond0 device under openvswitch");

    let verify = pool.run(&["pif", "verify", "--preset", "seed"]);
    let text = stdout(&verify);
    assert_eq!(code(&verify), 0, "{text}");
    assert!(
        text.contains("lab-host-1/bond0  no effect under openvswitch: the keys belong on the bond's slaves eth2, eth3"),
        "{text}"
    );
    assert!(
        text.contains("lab-host-1/eth1.100  no effect under openvswitch: there is no eth1.100 device; the keys belong on eth1"),
        "{text}"
    );
    assert!(
        text.contains("lab-host-1/tunnel0  no effect: tunnel PIFs"),
        "{text}"
    );
}

#[test]
fn a_selected_bond_master_writes_its_slaves() {
    let pool = bonded_lab();
    let out = pool.run(&[
        "pif", "apply", "--set", "tx=off", "--device", "bond0", "--json",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let state = pool.sim.state();
    let with_tx: Vec<&str> = state
        .pifs
        .iter()
        .filter(|p| p.other_config.get("ethtool-tx").map(String::as_str) == Some("off"))
        .map(|p| p.device.as_str())
        .collect();
    assert_eq!(with_tx, ["eth2", "eth3"]);
}

/// Running guests on one host, for the follow-up tests.
fn running_guests(vms: usize) -> PoolDesc {
    PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        // Every fifth generated VM is an HVM guest without hotplug: stay below.
        vms,
        vifs_per_vm: 1,
        seed: 11,
    })
}

#[test]
fn reboots_that_outlive_the_timeout_stay_within_the_limit() {
    // Each reboot takes 1.5 s on the host, longer than the 1 s read timeout:
    // a synchronous VM.clean_reboot would time out and the next one start.
    let config = SimConfig {
        lifecycle_duration: Duration::from_millis(1500),
        ..SimConfig::default()
    };
    let pool = Pool::start(&running_guests(4), config);
    let out = pool.run(&[
        "--timeout",
        "1",
        "vif",
        "apply",
        "--preset",
        "tx-only",
        "--reboot",
        "--reboot-limit",
        "2",
        "--json",
    ]);
    let report = json(&out);
    let reboots: Vec<_> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "VM.clean_reboot")
        .collect();
    assert_eq!(reboots.len(), 4, "{report:#}");
    assert!(reboots.iter().all(|a| a["ok"] == true), "{report:#}");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(pool.sim.max_tasks_in_flight("VM.clean_reboot"), 2);
    let calls = pool.sim.calls();
    assert_eq!(calls.get("VM.clean_reboot"), None, "only Async. calls");
    assert_eq!(calls["Async.VM.clean_reboot"], 4);
    assert_eq!(calls["task.destroy"], 4, "every finished task is destroyed");
}

fn replug_with_failing_plugs(failures: u32) -> (Pool, Output) {
    let mut faults = Faults::default();
    faults.fail_calls.insert("VIF.plug".into(), failures);
    let pool = Pool::start(
        &running_guests(1),
        SimConfig {
            faults,
            ..SimConfig::default()
        },
    );
    let out = pool.run(&["vif", "apply", "--preset", "tx-only", "--replug"]);
    (pool, out)
}

#[test]
fn a_plug_failing_after_the_unplug_is_retried() {
    let (pool, out) = replug_with_failing_plugs(1);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let state = pool.sim.state();
    let guest = state
        .vifs
        .iter()
        .find(|v| v.other_config.contains_key("ethtool-tx"))
        .unwrap();
    assert!(guest.currently_attached);
    assert_eq!(guest.applied.as_ref().unwrap().get("tx"), Some(&false));
}

#[test]
fn a_vif_left_unplugged_is_reported_with_the_command_that_fixes_it() {
    let (pool, out) = replug_with_failing_plugs(2);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    let state = pool.sim.state();
    let guest = state
        .vifs
        .iter()
        .find(|v| v.other_config.contains_key("ethtool-tx"))
        .unwrap();
    assert!(
        !guest.currently_attached,
        "the simulated host refused both plugs"
    );
    assert!(
        text.contains(&format!(
            "needs attention; run: xe vif-plug uuid={}",
            guest.uuid
        )),
        "{text}"
    );
}

/// xapi writes XML-RPC member names unescaped (rpclib's add_member): one
/// other_config key with `&` anywhere makes VIF.get_all_records invalid XML.
/// The client reads it again over JSON-RPC and carries on.
#[test]
fn a_key_that_breaks_xml_rpc_records_does_not_break_the_run() {
    let pool = Pool::start(
        &running_guests(2),
        SimConfig {
            unescaped_member_names: true,
            ..SimConfig::default()
        },
    );
    let client = pool.client();
    let vifs = client.call("VIF.get_all", &[]).unwrap();
    let vif = vifs.as_array().unwrap()[0].clone();
    let key = offload_xapi::wire::Value::str("ethtool-tx&rx");
    let off = offload_xapi::wire::Value::str("off");
    client
        .call("VIF.add_to_other_config", &[vif, key, off])
        .unwrap();
    let before = pool
        .sim
        .calls()
        .get("VIF.get_all_records")
        .copied()
        .unwrap_or(0);
    let out = pool.run(&["vif", "list"]);
    let text = stdout(&out);
    assert_eq!(
        code(&out),
        1,
        "a key the host ignores: {text}{}",
        stderr(&out)
    );
    assert!(text.contains("ethtool-tx&rx=\"off\"  IGNORED"), "{text}");
    assert_eq!(
        pool.sim.calls()["VIF.get_all_records"] - before,
        2,
        "once over XML-RPC (invalid XML), once over JSON-RPC"
    );
}

/// The lab pool with the offload plugin's `get_features` answered from the
/// simulated devices, and xen02's eth1 with `PIF.properties:gro=off`.
fn undo_lab() -> Pool {
    let mut desc = PoolDesc::from_json(LAB_POOL).unwrap();
    desc.hosts[1].pifs[1]
        .properties
        .insert("gro".into(), "off".into());
    Pool::start(
        &desc,
        SimConfig {
            modelled_offload_plugin: true,
            ..SimConfig::default()
        },
    )
}

fn live_of(pool: &Pool, host: &str, device: &str) -> std::collections::BTreeMap<String, bool> {
    let hosts = pool.client().call("host.get_all_records", &[]).unwrap();
    let host_ref = hosts
        .as_struct()
        .unwrap()
        .iter()
        .find(|(_, h)| h.get("name_label").and_then(|n| n.as_str()) == Some(host))
        .map(|(r, _)| r.clone())
        .unwrap();
    pool.sim
        .state()
        .pifs
        .iter()
        .find(|p| p.owner == host_ref && p.device == device)
        .and_then(|p| p.live.clone())
        .unwrap_or_else(|| panic!("no live state for {host}/{device}"))
}

fn pif_config(pool: &Pool, device: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    pool.sim
        .state()
        .pifs
        .iter()
        .filter(|p| p.device == device)
        .map(|p| p.other_config.clone())
        .collect()
}

#[test]
fn clear_leaves_a_nic_off_as_networkd_does() {
    let pool = undo_lab();
    let before = live_of(&pool, "xen01", "eth1");
    assert_eq!(before.get("tx"), Some(&true));
    let out = pool.run(&[
        "pif", "apply", "--preset", "seed", "--device", "eth1", "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(live_of(&pool, "xen01", "eth1").get("tx"), Some(&false));
    // gro is not in the seed: it comes from PIF.properties at each plug.
    assert_eq!(live_of(&pool, "xen01", "eth1").get("gro"), Some(&true));
    assert_eq!(live_of(&pool, "xen02", "eth1").get("gro"), Some(&false));

    let out = pool.run(&["pif", "clear", "--preset", "seed", "--device", "eth1"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("removing PIF keys switches nothing back on")
            && stdout(&out).contains("xapi restore FILE"),
        "{}",
        stdout(&out)
    );
    assert!(pif_config(&pool, "eth1").iter().all(|c| c.is_empty()));
    // A plug after the clear runs ethtool -K only for what is present: tx stays off.
    let out = pool.run(&[
        "pif", "apply", "--set", "gro=on", "--device", "eth1", "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(live_of(&pool, "xen01", "eth1").get("tx"), Some(&false));
}

#[test]
fn apply_save_then_restore_gives_a_nic_that_had_tx_on_its_tx_back() {
    let pool = undo_lab();
    let dir = std::env::temp_dir().join(format!("offload-xapi-undo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("before.json");
    let file_arg = file.to_str().unwrap();
    // eth1 of xen01 had tso off through a key already; eth0 no keys.
    pool.client()
        .call(
            "PIF.add_to_other_config",
            &[
                offload_xapi::wire::Value::str(
                    pool.sim
                        .state()
                        .pifs
                        .iter()
                        .find(|p| p.device == "eth1")
                        .unwrap()
                        .reference
                        .as_str(),
                ),
                offload_xapi::wire::Value::str("ethtool-tso"),
                offload_xapi::wire::Value::str("false"),
            ],
        )
        .unwrap();
    let original: Vec<_> = pif_config(&pool, "eth1");

    let out = pool.run(&[
        "pif", "apply", "--preset", "seed", "--save", file_arg, "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(live_of(&pool, "xen01", "eth0").get("tx"), Some(&false));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["schema"], "offload.xapi-undo/1");
    let eth0 = saved["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["label"] == "xen01/eth0")
        .unwrap();
    assert_eq!(eth0["keys"]["ethtool-tx"], serde_json::Value::Null);
    assert_eq!(eth0["device"]["ifname"], "eth0");
    assert_eq!(eth0["device"]["offloads"]["tx"], true);

    // A second save never loses the first one's state.
    let again = pool.run(&[
        "pif",
        "apply",
        "--set",
        "tx=off,gro=off",
        "--save",
        file_arg,
    ]);
    assert_eq!(code(&again), 77, "{}{}", stdout(&again), stderr(&again));
    let again = pool.run(&[
        "pif",
        "apply",
        "--set",
        "tx=off,gro=off",
        "--save",
        file_arg,
        "--force",
        "--replug",
    ]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let eth0 = merged["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["label"] == "xen01/eth0")
        .unwrap();
    assert_eq!(eth0["device"]["offloads"]["tx"], true, "first save kept");
    assert_eq!(
        eth0["keys"]["ethtool-gro"],
        serde_json::Value::Null,
        "new key added"
    );
    assert_eq!(live_of(&pool, "xen01", "eth0").get("gro"), Some(&false));

    let out = pool.run(&["restore", file_arg]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    for host in ["xen01", "xen02"] {
        for device in ["eth0", "eth1"] {
            let live = live_of(&pool, host, device);
            assert_eq!(live.get("tx"), Some(&true), "{host} {device}: {live:?}");
            assert_eq!(live.get("sg"), Some(&true), "{host} {device}: {live:?}");
        }
    }
    // xen01/eth1 keeps its own tso=false; gro back as PIF.properties say.
    assert_eq!(live_of(&pool, "xen01", "eth1").get("tso"), Some(&false));
    assert_eq!(live_of(&pool, "xen01", "eth0").get("gro"), Some(&true));
    assert_eq!(live_of(&pool, "xen02", "eth1").get("gro"), Some(&false));
    assert_eq!(
        pif_config(&pool, "eth1"),
        original,
        "exactly the keys before"
    );
    assert!(pif_config(&pool, "eth0").iter().all(|c| c.is_empty()));

    // A damaged file is refused before anything is written.
    std::fs::write(&file, "{\"schema\": \"offload.xapi-undo/1\", \"obj").unwrap();
    let out = pool.run(&[
        "pif", "apply", "--preset", "seed", "--save", file_arg, "--force",
    ]);
    assert_eq!(code(&out), 78, "{}{}", stdout(&out), stderr(&out));
    assert!(pif_config(&pool, "eth0").iter().all(|c| c.is_empty()));
    let out = pool.run(&["restore", file_arg]);
    assert_eq!(code(&out), 78, "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn vif_restore_removes_new_keys_and_a_replug_gives_netback_defaults() {
    let pool = undo_lab();
    let file = std::env::temp_dir().join(format!("offload-xapi-vif-undo-{}", std::process::id()));
    let file_arg = file.to_str().unwrap();
    let out = pool.run(&[
        "vif",
        "apply",
        "--preset",
        "seed",
        "--vm",
        "pfsense-fw1",
        "--save",
        file_arg,
        "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let live = |pool: &Pool| -> Vec<std::collections::BTreeMap<String, bool>> {
        let state = pool.sim.state();
        let vm = state
            .vms
            .iter()
            .find(|v| v.name_label == "pfsense-fw1")
            .unwrap();
        state
            .vifs
            .iter()
            .filter(|v| v.owner == vm.reference)
            .map(|v| v.live.clone().unwrap())
            .collect()
    };
    assert!(live(&pool).iter().all(|l| !l["tx"]));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["device"]["ifname"].as_str().unwrap().starts_with("vif")));
    let out = pool.run(&["restore", file_arg, "--replug"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(pool
        .vif_other_config("pfsense-fw1")
        .iter()
        .all(|c| c.is_empty()));
    assert!(live(&pool).iter().all(|l| l["tx"] && l["sg"]));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn network_keys_and_pif_properties_are_listed_verified_and_applied() {
    let mut desc = PoolDesc::from_json(LAB_POOL).unwrap();
    desc.hosts[1].pifs[1]
        .properties
        .insert("gro".into(), "off".into());
    desc.networks.push(offload_xapi_sim::NetworkDesc {
        name_label: "private".into(),
        bridge: "xapi9".into(),
        mtu: 1500,
        other_config: [("ethtool-tx".to_string(), "off".to_string())].into(),
    });
    let pool = Pool::start(&desc, SimConfig::default());

    let out = pool.run(&["network", "list", "--json"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let listed = json(&out)["objects"].as_array().unwrap().clone();
    let private = listed
        .iter()
        .find(|o| o["label"] == "private (xapi9)")
        .unwrap();
    assert_eq!(private["class"], "network");
    assert!(private["effect"]
        .as_str()
        .unwrap()
        .contains("internal network"));
    assert_eq!(private["keys"][0]["verdict"], "applied");

    let out = pool.run(&["pif", "list", "--device", "eth1", "-v"]);
    assert!(
        stdout(&out).contains("PIF.properties gro=\"off\"  applied at every plug"),
        "{}",
        stdout(&out)
    );
    // PIF gro: an absent key counts as PIF.properties, as networkd reads it.
    let out = pool.run(&[
        "pif", "verify", "--set", "gro=off", "--device", "eth1", "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let checked = json(&out)["objects"].as_array().unwrap().clone();
    let of = |host: &str| {
        checked
            .iter()
            .find(|o| o["label"] == format!("{host}/eth1"))
            .unwrap()
    };
    assert_eq!(of("xen02")["ok"], true);
    assert_eq!(
        of("xen01")["keys"][0]["problem"],
        "missing: the host applies PIF.properties gro=on"
    );

    let out = pool.run(&[
        "network",
        "apply",
        "--set",
        "tx=off,sg=off",
        "--network",
        "storage",
        "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("PIF.plug"), "{}", stdout(&out));
    let state = pool.sim.state();
    let bridges: Vec<_> = state
        .bridges
        .iter()
        .filter(|b| b.device == "xenbr1")
        .collect();
    assert_eq!(bridges.len(), 2, "one bridge per host");
    for bridge in bridges {
        assert_eq!(
            bridge.other_config.get("ethtool-tx").map(String::as_str),
            Some("off")
        );
        let live = bridge.live.as_ref().unwrap();
        assert!(!live["tx"] && !live["sg"], "{bridge:?}");
    }
    let out = pool.run(&[
        "network",
        "verify",
        "--set",
        "tx=off,sg=off",
        "--network",
        "xenbr1",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let out = pool.run(&["network", "verify", "--set", "tx=off"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("where keys have no effect"),
        "{}",
        stdout(&out)
    );

    let out = pool.run(&[
        "network",
        "clear",
        "--set",
        "tx=off,sg=off",
        "--network",
        "storage",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("removing network keys switches nothing back on"),
        "{}",
        stdout(&out)
    );
    let out = pool.run(&["network", "apply", "--preset", "seed", "--network", "nope"]);
    assert_eq!(code(&out), 67, "{}", stderr(&out));
}

#[test]
fn watch_includes_custom_templates_and_reports_vms_that_started_first() {
    use offload_xapi::wire::Value;
    use offload_xapi_sim::{Origin, Reply};
    let mut desc = PoolDesc::from_json(LAB_POOL).unwrap();
    desc.vms.push(
        serde_json::from_value(serde_json::json!({
            "name_label": "Debian Bookworm 12", "is_a_template": true, "is_default_template": true,
            "vifs": [{"network": "storage"}]
        }))
        .unwrap(),
    );
    // Each HTTP request waits 300 ms: the test's in-process clone and start
    // land long before the watcher's next read.
    let pool = Pool::start(
        &desc,
        SimConfig {
            latency: Duration::from_millis(300),
            ..SimConfig::default()
        },
    );
    let call = |method: &str, params: &[Value]| match pool.sim.call(Origin::Network, method, params)
    {
        Reply::Success(v) => v,
        other => panic!("{method}: {other:?}"),
    };
    let session = call(
        "session.login_with_password",
        &[Value::str("root"), Value::str("secret")],
    );
    let vm_named = |name: &str| {
        call("VM.get_by_name_label", &[session.clone(), Value::str(name)])
            .as_array()
            .unwrap()[0]
            .clone()
    };
    let tx_of = |vm: &str| -> Vec<Option<String>> {
        pool.vif_other_config(vm)
            .iter()
            .map(|c| c.get("ethtool-tx").cloned())
            .collect()
    };
    let off = vec![Some("off".to_string())];
    let events = watch_events(
        &pool,
        &["--preset", "tx-only", "--vifs-only", "--include-templates"],
        |wait_for| {
            wait_for("write the custom template", &|| {
                tx_of("debian-template") == off
            });
            // A VM made from a built-in template and started at once.
            let fresh = call(
                "VM.clone",
                &[
                    session.clone(),
                    vm_named("Debian Bookworm 12"),
                    Value::str("fresh-vm"),
                ],
            );
            call(
                "VM.set_is_a_template",
                &[session.clone(), fresh.clone(), Value::Bool(false)],
            );
            call(
                "VM.start",
                &[
                    session.clone(),
                    fresh,
                    Value::Bool(false),
                    Value::Bool(false),
                ],
            );
            wait_for("write the fresh VM", &|| tx_of("fresh-vm") == off);
        },
    );
    assert_eq!(
        tx_of("Debian Bookworm 12"),
        [None],
        "built-in templates are never written"
    );
    assert!(
        pool.vif_other_config("web-01-snap")
            .iter()
            .all(|c| c.is_empty()),
        "snapshots neither"
    );
    let running_without: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "running-without")
        .map(|e| e["object"]["label"].as_str().unwrap())
        .collect();
    assert!(running_without.contains(&"fresh-vm/VIF 0"), "{events:#?}");
    assert!(!running_without
        .iter()
        .any(|l| l.starts_with("debian-template")));
    // The fresh VM's backend came up without the key: it runs with netback's tx.
    let state = pool.sim.state();
    let fresh = state
        .vms
        .iter()
        .find(|v| v.name_label == "fresh-vm")
        .unwrap();
    let vif = state
        .vifs
        .iter()
        .find(|v| v.owner == fresh.reference)
        .unwrap();
    assert!(vif.live.as_ref().unwrap()["tx"]);

    // With the watcher stopped, a VM made from the custom template has the
    // keys from the start: VM.clone copies VIF other_config.
    let made = call(
        "VM.clone",
        &[
            session.clone(),
            vm_named("debian-template"),
            Value::str("from-template"),
        ],
    );
    assert_eq!(tx_of("from-template"), off);
    call(
        "VM.set_is_a_template",
        &[session.clone(), made.clone(), Value::Bool(false)],
    );
    call(
        "VM.start",
        &[
            session.clone(),
            made,
            Value::Bool(false),
            Value::Bool(false),
        ],
    );
    let state = pool.sim.state();
    let made = state
        .vms
        .iter()
        .find(|v| v.name_label == "from-template")
        .unwrap();
    let vif = state
        .vifs
        .iter()
        .find(|v| v.owner == made.reference)
        .unwrap();
    assert!(
        !vif.live.as_ref().unwrap()["tx"],
        "applied at its first start"
    );
}

#[test]
fn restore_plugs_a_bond_master_once_and_keeps_keys_of_a_pif_not_attached() {
    let pool = Pool::start(
        &PoolDesc::from_json(include_str!("../../offload-xapi-sim/pools/lab.json")).unwrap(),
        SimConfig {
            modelled_offload_plugin: true,
            ..SimConfig::default()
        },
    );
    let file = std::env::temp_dir().join(format!("offload-xapi-bond-undo-{}", std::process::id()));
    let file_arg = file.to_str().unwrap();
    let live = |device: &str| -> std::collections::BTreeMap<String, bool> {
        pool.sim
            .state()
            .pifs
            .iter()
            .find(|p| p.device == device && p.live.is_some())
            .and_then(|p| p.live.clone())
            .unwrap()
    };
    let out = pool.run(&[
        "pif", "apply", "--preset", "seed", "--save", file_arg, "--replug",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    for slave in ["eth2", "eth3"] {
        assert!(!live(slave)["tx"], "{slave}");
    }
    // eth1 goes down before the restore: its explicit values must stay.
    let eth1 = pool
        .sim
        .state()
        .pifs
        .iter()
        .find(|p| p.device == "eth1" && p.other_config.contains_key("ethtool-tx"))
        .unwrap()
        .reference
        .clone();
    let client = pool.client();
    client.call("PIF.unplug", &[eth1.as_str().into()]).unwrap();

    let out = pool.run(&["restore", file_arg, "--json"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = json(&out)["report"].clone();
    let plugs: Vec<&str> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        plugs.iter().filter(|l| l.ends_with("/bond0")).count(),
        1,
        "the master once, never a slave: {plugs:?}"
    );
    assert!(!plugs
        .iter()
        .any(|l| l.ends_with("/eth2") || l.ends_with("/eth3")));
    for slave in ["eth2", "eth3"] {
        assert!(live(slave)["tx"] && live(slave)["sg"], "{slave}");
    }
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0]["reason"].as_str().unwrap().contains("not attached"));
    let eth1_config = |pool: &Pool| {
        pool.sim
            .state()
            .pifs
            .iter()
            .find(|p| p.reference == eth1)
            .unwrap()
            .other_config
            .clone()
    };
    assert_eq!(
        eth1_config(&pool)["ethtool-tx"],
        "on",
        "explicit until its plug"
    );
    assert_eq!(
        eth1_config(&pool)["ethtool-tso"],
        "off",
        "lab.json's own value back"
    );

    client.call("PIF.plug", &[eth1.as_str().into()]).unwrap();
    let out = pool.run(&["restore", file_arg]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let config = eth1_config(&pool);
    assert_eq!(
        config.keys().collect::<Vec<_>>(),
        ["ethtool-tso"],
        "only the key it had before"
    );
    let _ = std::fs::remove_file(&file);
}

/// `offloadctl xapi vif list | head -1` or `> /dev/full`: a reader that went
/// away is not a crash (print!'s panic was exit 101), a full disk is said once.
#[test]
fn a_closed_or_full_stdout_is_no_crash() {
    let pool = Pool::lab();
    let mut child = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(pool.password_file.path())
        .args(["vif", "list"])
        .env_remove("OFFLOAD_XAPI_PASSWORD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(offloadctl())
        .args(["xapi", "--url", &pool.sim.url(), "--password-file"])
        .arg(pool.password_file.path())
        .args(["vif", "list"])
        .env_remove("OFFLOAD_XAPI_PASSWORD")
        .stdout(full)
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(
        stderr(&out)
            .matches("writing to standard output: No space left on device")
            .count(),
        1,
        "{}",
        stderr(&out)
    );
}
