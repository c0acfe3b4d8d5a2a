//! `offloadctl capture` errors: a nonexistent interface and a missing CAP_NET_RAW
//! are each one clear line and exit code 2; a short capture on loopback works and
//! `--write` saves a pcapng that `check` and tcpdump read.

use std::process::Command;

use offload_testkit::guard::is_root;
use offload_testkit::{require_program, require_root};

fn offloadctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_offloadctl"))
}

#[test]
fn nonexistent_interface() {
    let out = offloadctl()
        .args(["capture", "nosuch0pcap", "--seconds", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nosuch0pcap: no such interface"), "{err}");
}

#[test]
fn without_cap_net_raw_says_what_is_needed() {
    if !is_root() {
        // Unprivileged already: the plain run is the test.
        let out = offloadctl()
            .args(["capture", "lo", "--seconds", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("CAP_NET_RAW"));
        return;
    }
    require_program!("setpriv");
    // Drop to nobody with no capabilities.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["capture", "lo", "--seconds", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs CAP_NET_RAW"), "{err}");
}

#[test]
fn loopback_capture_writes_a_file_check_and_tcpdump_read() {
    require_root!();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(format!("capture_cli-{}.pcapng", std::process::id()));
    let child = offloadctl()
        .args(["capture", "lo", "--seconds", "1.5", "--json", "--write"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..5 {
        sock.send_to(b"capture test", "127.0.0.1:9").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "offload.diagnosis/1");
    assert!(json["packets"].as_u64().unwrap() >= 5, "{json}");
    assert!(
        json["offload_pending"].as_u64().unwrap() >= 5,
        "loopback UDP is CSUMNOTREADY: {json}"
    );
    let check = offloadctl()
        .args(["check", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    let checked: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(checked["packets"], json["packets"]);
    let tcpdump = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&file)
        .output();
    if let Ok(t) = tcpdump {
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn seconds_that_are_no_duration_are_a_usage_error() {
    for bad in ["1e30", "1e19", "inf", "nan", "0", "-1", "soon"] {
        let out = offloadctl()
            .args(["capture", "lo", &format!("--seconds={bad}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "--seconds {bad}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--seconds"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
