//! The doctor's rules and knowledge matching on recorded evidence (the same
//! JSON `offloadctl doctor --json` writes under `evidence`): no hardware, so
//! every branch (faulty TX offload, corruption on the path, GRO artefact or
//! trouble, offload-pending only, known driver problems) is reachable.

use offload_diagnose::doctor::knowledge::Knowledge;
use offload_diagnose::doctor::report::{compare, Change, Report, Verdict};
use offload_diagnose::doctor::rules::{Cause, Severity};
use offload_diagnose::doctor::Evidence;

fn evidence(dom0: bool, counters: &str, device: &str) -> Evidence {
    let text = format!(
        r#"{{"schema": "offload.doctor.evidence/1", "kernel": "6.1.0", "dom0": {dom0}, "seconds": 5.0,
            "namespaces": [{{"netns": null, "captured": true, "counters": {counters}, "devices": [{device}]}}]}}"#
    );
    serde_json::from_str(&text).expect("recorded evidence parses")
}

fn nic(driver: &str, traffic: &str) -> String {
    format!(
        r#"{{"name": "eth0", "kind": "physical", "driver": "{driver}", "mtu": 1500,
            "pci": {{"vendor": 32902, "device": 5488, "subsystem_vendor": 32902, "subsystem_device": 0}},
            "offloads_on": ["tx", "rx", "gro", "tso", "gso", "tx-checksum-ip-generic"],
            "traffic": {traffic}}}"#
    )
}

const CLEAN: &str = r#"{"TcpInCsumErrors": 0, "UdpInCsumErrors": 0}"#;

fn traffic(sent_bad: u64, sent_pending: u64, rx_bad: u64, oversize: u64) -> String {
    format!(
        r#"{{"received": {{"packets": 100, "correct": 90, "incorrect": {rx_bad}, "offload_pending": 0}},
            "sent": {{"packets": 100, "correct": 50, "incorrect": {sent_bad}, "offload_pending": {sent_pending}}},
            "oversize_incorrect": {oversize}}}"#
    )
}

#[test]
fn offload_pending_only_is_nothing_to_fix() {
    let ev = evidence(false, CLEAN, &nic("ixgbe", &traffic(0, 50, 0, 0)));
    let r = Report::from_evidence(ev, &Knowledge::builtin());
    assert_eq!(r.verdict, Verdict::NothingWrong, "{}", r.render_text());
    assert_eq!(r.summary, "offload artefacts only, nothing to fix");
    assert_eq!(r.findings[0].cause, Cause::OffloadPendingOnly);
    assert!(r.findings.iter().all(|f| f.fix.is_empty()));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn received_corruption_is_the_path_not_offload() {
    let counters = r#"{"TcpInCsumErrors": 4, "UdpInCsumErrors": 4}"#;
    let ev = evidence(false, counters, &nic("ixgbe", &traffic(0, 0, 8, 0)));
    let r = Report::from_evidence(ev, &Knowledge::builtin());
    assert_eq!(r.verdict, Verdict::ProblemFound);
    let f = &r.findings[0];
    assert_eq!(
        (f.severity, f.cause),
        (Severity::Problem, Cause::CorruptionOnPath)
    );
    assert!(
        f.fix.is_empty(),
        "no offload switch fixes corruption: {:?}",
        f.fix
    );
    assert!(f.evidence.iter().any(|e| e == "kernel TcpInCsumErrors +4"));
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn faulty_tx_offload_gets_the_smallest_fix_and_dom0_commands() {
    let ev = evidence(true, CLEAN, &nic("e1000e", &traffic(7, 0, 0, 0)));
    let r = Report::from_evidence(ev, &Knowledge::builtin());
    let f = &r.findings[0];
    assert_eq!(f.cause, Cause::FaultyTxOffload, "{}", r.render_text());
    assert_eq!(
        f.fix,
        [
            "offloadctl set eth0 tx off",
            "offloadctl xapi pif apply --set tx=off --device eth0"
        ]
    );
    assert_eq!(f.knowledge[0].id, "tx-side-incorrect");
    // The e1000e entry shows up as advice (throughput cannot be seen in counters).
    let advice = r
        .findings
        .iter()
        .find(|f| f.severity == Severity::Advice)
        .unwrap();
    assert_eq!(advice.knowledge[0].id, "e1000e-i219-tso");
    assert_eq!(advice.fix[0], "offloadctl set eth0 tso off gso off");
}

#[test]
fn oversize_segments_are_gro_artefacts_unless_the_kernel_drops_them() {
    let ev = evidence(false, CLEAN, &nic("ixgbe", &traffic(0, 0, 3, 3)));
    let r = Report::from_evidence(ev, &Knowledge::builtin());
    assert_eq!(r.verdict, Verdict::NothingWrong, "{}", r.render_text());
    assert_eq!(r.findings[0].cause, Cause::GroArtefact);
    assert!(r.findings[0].fix.is_empty());
    let drops = r#"{"TcpInCsumErrors": 3}"#;
    let ev = evidence(false, drops, &nic("ixgbe", &traffic(0, 0, 3, 3)));
    let r = Report::from_evidence(ev, &Knowledge::builtin());
    assert_eq!(r.findings[0].cause, Cause::GroTrouble);
    assert_eq!(r.findings[0].fix, ["offloadctl set eth0 gro off"]);
}

#[test]
fn a_knowledge_file_keyed_on_a_test_driver_matches() {
    let dir = std::env::temp_dir().join(format!("doctor-knowledge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lab.json");
    std::fs::write(
        &file,
        r#"{"schema": "offload.knowledge/1", "entries": [{
            "id": "lab-veth-tso", "drivers": ["veth"], "kernel": {"from": "5.0"},
            "object": "pif", "signal": "present", "symptom": "lab: veth TSO",
            "keys": ["tso"], "sources": ["https://example.org/lab"]}]}"#,
    )
    .unwrap();
    let mut knowledge = Knowledge::builtin();
    knowledge.extend_from_file(&file).unwrap();
    // The same id twice is refused, and the knowledge is left as it was.
    assert!(knowledge.extend_from_file(&file).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    let veth = r#"{"name": "lab0", "kind": "veth", "driver": "veth", "mtu": 1500,
                  "offloads_on": ["tso"], "traffic": null}"#;
    let r = Report::from_evidence(evidence(false, CLEAN, veth), &knowledge);
    let f = &r.findings[0];
    assert_eq!((f.severity, f.cause), (Severity::Advice, Cause::KnownIssue));
    assert_eq!(f.knowledge[0].id, "lab-veth-tso");
    assert_eq!(f.fix, ["offloadctl set lab0 tso off"]);
    assert_eq!(r.verdict, Verdict::NothingWrong);
}

#[test]
fn compare_says_whether_the_change_helped() {
    let before = Report::from_evidence(
        evidence(false, CLEAN, &nic("ixgbe", &traffic(7, 0, 0, 0))),
        &Knowledge::builtin(),
    );
    let after = Report::from_evidence(
        evidence(false, CLEAN, &nic("ixgbe", &traffic(0, 0, 0, 0))),
        &Knowledge::builtin(),
    );
    let c = compare(&before, &after);
    assert_eq!(c.change, Change::Helped, "{}", c.render_text());
    assert_eq!(c.resolved, ["eth0: faulty_tx_offload"]);
    assert_eq!(c.exit_code(), 0);
    let c = compare(&after, &before);
    assert_eq!(c.change, Change::Worse);
    assert_eq!(c.exit_code(), 1);
    // A report survives its own JSON.
    let json = serde_json::to_string(&before).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, before);
}
