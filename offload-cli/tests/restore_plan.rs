//! `offloadctl restore --dry-run`: the plan names what the restore then puts
//! back, changes nothing, and is empty once restored (what idempotent callers
//! such as Ansible's host_offload need). Checked against ethtool 6.1's `-k`
//! in a private namespace. Root only.

use std::process::{Command, Output};

use offload_testkit::guard::Netns;
use offload_testkit::{require_program, require_root};

fn offloadctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(args)
        .output()
        .unwrap()
}

fn ethtool_k(ns: &Netns, ifname: &str) -> String {
    ns.stdout("ethtool", &["-k", ifname])
}

/// The sorted `changed` names of every interface, and the statuses.
fn outcome(out: &Output) -> (Vec<String>, Vec<String>) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut changed = Vec::new();
    let mut statuses = Vec::new();
    for interface in doc["interfaces"].as_array().unwrap() {
        statuses.push(interface["status"].as_str().unwrap().to_string());
        for name in interface["changed"].as_array().unwrap() {
            changed.push(format!(
                "{}:{}",
                interface["ifname"],
                name.as_str().unwrap()
            ));
        }
    }
    changed.sort();
    (changed, statuses)
}

#[test]
fn the_restore_plan_is_what_restore_puts_back_and_then_empty() {
    require_root!();
    require_program!("ethtool");
    let ns = Netns::new("ofrplan");
    ns.add_veth("ra", "rb");
    let original = ethtool_k(&ns, "ra");
    let dir = std::env::temp_dir().join(format!("offload-rplan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let snap = dir.join("before.json");
    let snap = snap.to_str().unwrap();

    let (disabled, _) = outcome(&offloadctl(&[
        "disable",
        "--netns",
        ns.name(),
        "--save",
        snap,
        "--json",
    ]));
    assert!(!disabled.is_empty());
    let off = ethtool_k(&ns, "ra");

    let (planned, statuses) = outcome(&offloadctl(&["restore", snap, "--dry-run", "--json"]));
    assert!(statuses.iter().all(|s| s == "planned"), "{statuses:?}");
    assert_eq!(ethtool_k(&ns, "ra"), off, "a dry run changed features");
    assert!(!planned.is_empty());

    let (restored, _) = outcome(&offloadctl(&["restore", snap, "--json"]));
    assert_eq!(restored, planned, "the restore differs from its plan");
    assert_eq!(ethtool_k(&ns, "ra"), original);

    let (again, _) = outcome(&offloadctl(&["restore", snap, "--dry-run", "--json"]));
    assert!(again.is_empty(), "{again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
