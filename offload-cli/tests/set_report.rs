//! `offloadctl set --dry-run` / `--json`: the plan is what the change then
//! does, a dry run changes nothing, and a second identical set is `unchanged`
//! with exit 0 (what idempotent callers such as Ansible's host_offload need).
//! Checked against ethtool 6.1's `-k` in a private namespace. Root only.

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

fn report(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "offload.set/1");
    doc["interfaces"][0].clone()
}

fn names(outcome: &serde_json::Value) -> Vec<String> {
    outcome["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_plan_is_what_the_change_does_and_a_second_set_is_unchanged() {
    require_root!();
    require_program!("ethtool");
    let ns = Netns::new("ofset");
    ns.add_veth("ta", "tb");
    let before = ethtool_k(&ns, "ta");
    assert!(before.contains("tx-checksum-ip-generic: on"), "{before}");

    // Options after the feature words, as with --netns.
    let plan = report(&offloadctl(&[
        "set",
        "ta",
        "tx",
        "off",
        "sg",
        "off",
        "--netns",
        ns.name(),
        "--dry-run",
        "--json",
    ]));
    assert_eq!(plan["status"], "planned");
    let planned = names(&plan);
    assert!(
        planned.contains(&"tx-checksum-ip-generic".to_string())
            && planned.contains(&"tx-scatter-gather".to_string()),
        "{planned:?}"
    );
    assert_eq!(ethtool_k(&ns, "ta"), before, "a dry run changed features");

    let done = report(&offloadctl(&[
        "set",
        "ta",
        "tx",
        "off",
        "sg",
        "off",
        "--netns",
        ns.name(),
        "--json",
    ]));
    assert_eq!(done["status"], "changed");
    assert_eq!(names(&done), planned, "the change differs from its plan");
    let after = ethtool_k(&ns, "ta");
    assert!(
        after.contains("tx-checksum-ip-generic: off") && after.contains("tx-scatter-gather: off"),
        "{after}"
    );

    // Again: nothing to do, exit 0.
    let again = report(&offloadctl(&[
        "set",
        "ta",
        "tx",
        "off",
        "sg",
        "off",
        "--netns",
        ns.name(),
        "--json",
    ]));
    assert_eq!(again["status"], "unchanged");
    assert!(names(&again).is_empty());
    let replan = report(&offloadctl(&[
        "set",
        "ta",
        "tx",
        "off",
        "--netns",
        ns.name(),
        "--dry-run",
        "--json",
    ]));
    assert!(names(&replan).is_empty(), "{replan}");
}

#[test]
fn an_unknown_feature_changes_nothing_and_a_missing_interface_is_json() {
    require_root!();
    let ns = Netns::new("ofset");
    ns.add_veth("ua", "ub");
    let out = offloadctl(&["set", "ua", "bogus", "off", "--netns", ns.name(), "--json"]);
    assert_eq!(out.status.code(), Some(64));
    let out = offloadctl(&["set", "nosuch", "tx", "off", "--netns", ns.name(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "offload.error/1");
}
