//! `offloadctl doctor` in a namespace lab with real faults.
//!
//! * Frames with damaged checksums injected through a packet socket at one
//!   end of a veth make the other namespace's kernel count InCsumErrors:
//!   doctor must report corruption on that path (exit 1), not offload, with
//!   kernel deltas equal to what `nstat` reads before and after.
//! * Real UDP traffic over a veth with TX checksum offload on shows
//!   offload-pending checksums only: doctor must say nothing needs fixing (exit 0).
//! * The recorded evidence of that run, with a knowledge file keyed on the
//!   driver "veth", matches the entry and proposes its fix.
//! * `--compare` of the two reports says the change helped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use offload_testkit::guard::Netns;
use offload_testkit::lab::PathLab;
use offload_testkit::{require_program, require_root};
use serde_json::Value;

/// The kernel counter `name` in `ns`, as `nstat` reads it.
fn nstat(ns: &Netns, name: &str) -> u64 {
    ns.nstat().get(name).copied().unwrap_or(0)
}

/// Runs doctor with `args`; once its window opens, runs `during`; returns
/// the exit code and the JSON report.
fn doctor(args: &[&str], during: impl FnOnce()) -> (i32, Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .arg("doctor")
        .args(args)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("watching for"), "{line}");
    during();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code().unwrap(), report, text)
}

fn findings<'a>(report: &'a Value, cause: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cause"] == cause)
        .collect()
}

#[test]
fn doctor_tells_corruption_from_offload_artefacts() {
    require_root!();
    for program in ["nstat", "python3"] {
        require_program!(program);
    }
    let lab = PathLab::new("dc");
    let dir = std::env::temp_dir().join(format!("doctor-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // 1. Damaged frames into B: corruption on the path into vb.
    let before = (
        nstat(&lab.b, "UdpInCsumErrors"),
        nstat(&lab.b, "TcpInCsumErrors"),
    );
    let (code, corrupt, corrupt_text) =
        doctor(&["--netns", lab.b.name(), "--seconds", "1.5"], || {
            lab.inject_damaged(5, 300);
        });
    let after = (
        nstat(&lab.b, "UdpInCsumErrors"),
        nstat(&lab.b, "TcpInCsumErrors"),
    );
    assert_eq!(code, 1, "{corrupt_text}");
    assert_eq!(corrupt["verdict"], "problem_found");
    let path = findings(&corrupt, "corruption_on_path");
    assert_eq!(path.len(), 1, "{corrupt_text}");
    assert_eq!(path[0]["device"], lab.vb.as_str());
    assert_eq!(
        path[0]["fix"],
        serde_json::json!([]),
        "no offload switch fixes corruption"
    );
    assert!(findings(&corrupt, "faulty_tx_offload").is_empty());
    let ns = &corrupt["evidence"]["namespaces"][0];
    let udp = ns["counters"]["UdpInCsumErrors"].as_i64().unwrap() as u64;
    let tcp = ns["counters"]["TcpInCsumErrors"].as_i64().unwrap() as u64;
    assert_eq!((udp, tcp), (after.0 - before.0, after.1 - before.1));
    assert_eq!((udp, tcp), (5, 5));
    let vb = &ns["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == lab.vb.as_str())
        .unwrap();
    assert_eq!(vb["traffic"]["received"]["incorrect"], 10, "{corrupt_text}");
    eprintln!(
        "lab corruption: doctor UdpInCsumErrors +{udp} TcpInCsumErrors +{tcp}; nstat {:?} -> {:?}; captured incorrect {}; rx_packets +{}",
        before, after, vb["traffic"]["received"]["incorrect"], vb["link_counters"]["rx_packets"]
    );

    // 2. Real UDP over the veth (TX checksum offload on): artefacts only.
    let send = "import socket\nfor i in range(20):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.sendto(b'doctor %d' % i * 20, ('10.1.0.2', 5300))\n";
    let (code, pending, pending_text) = doctor(
        &[
            "--netns",
            lab.a.name(),
            "--netns",
            lab.b.name(),
            "--seconds",
            "1",
        ],
        || {
            lab.a.stdout("python3", &["-c", send]);
        },
    );
    assert_eq!(code, 0, "{pending_text}");
    assert_eq!(pending["summary"], "offload artefacts only, nothing to fix");
    let artefacts = findings(&pending, "offload_pending_only");
    assert!(
        artefacts.iter().any(|f| f["device"] == lab.va.as_str()),
        "{pending_text}"
    );
    assert!(pending["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["fix"] == serde_json::json!([])));

    // 3. The recorded evidence with a knowledge file keyed on "veth".
    let recorded = dir.join("pending.json");
    std::fs::write(&recorded, &pending_text).unwrap();
    let knowledge = dir.join("veth.json");
    std::fs::write(
        &knowledge,
        r#"{"schema": "offload.knowledge/1", "entries": [{"id": "lab-veth-tx", "drivers": ["veth"],
            "object": "pif", "signal": "tx_offload_pending", "symptom": "lab: a veth peer that mishandles partial checksums",
            "keys": ["tx"], "sources": ["https://example.org/lab"]}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["doctor", "--json", "--evidence"])
        .arg(&recorded)
        .arg("--knowledge")
        .arg(&knowledge)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let matched: Value = serde_json::from_slice(&out.stdout).unwrap();
    let known = findings(&matched, "known_issue");
    let on_va = known
        .iter()
        .find(|f| f["device"] == lab.va.as_str())
        .expect("the veth entry matched");
    assert_eq!(on_va["knowledge"][0]["id"], "lab-veth-tx");
    assert_eq!(
        on_va["fix"][0],
        format!("offloadctl set {} tx off --netns {}", lab.va, lab.a.name()).as_str()
    );

    // 4. Before (corruption) and after (artefacts only): the change helped.
    let first = dir.join("corrupt.json");
    std::fs::write(&first, &corrupt_text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["doctor", "--compare"])
        .arg(&first)
        .arg(&recorded)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the change helped"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
