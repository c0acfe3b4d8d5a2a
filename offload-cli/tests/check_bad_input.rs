//! `offloadctl check` on bad input: one clear line on stderr, exit code 2, and
//! for a damaged file the summary of what was read before the damage.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use offload_diagnose::pcap::{linktype, LegacyPcapWriter, PcapNgWriter};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("check_bad_input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .arg("check")
        .args(args)
        .output()
        .expect("running offloadctl")
}

/// A classic pcap with `n` copies of a minimal Ethernet/ARP frame (no checksums).
fn arp_pcap(n: u32) -> Vec<u8> {
    let mut frame = vec![0xffu8; 6];
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    frame.resize(60, 0);
    let mut w = LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
    for i in 0..n {
        w.write_packet(1_700_000_000 + i, 0, 60, &frame).unwrap();
    }
    w.into_inner().unwrap()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn nonexistent_file() {
    let out = check(&["/nonexistent/file.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("/nonexistent/file.pcap"), "{lines:?}");
}

#[test]
fn wrong_magic() {
    let path = scratch("notes.txt");
    std::fs::write(&path, "this is not a capture file\n").unwrap();
    let out = check(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("not a pcap or pcapng file"), "{lines:?}");
}

#[test]
fn truncated_file_still_summarises_what_was_read() {
    let bytes = arp_pcap(5);
    let path = scratch("truncated.pcap");
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    let out = check(&["--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("truncated"), "{lines:?}");
    assert!(lines[0].contains("4 packets"), "{lines:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packets"], 4);
    assert_eq!(json["errors"].as_array().unwrap().len(), 1);
}

#[test]
fn absurd_record_length() {
    let mut bytes = arp_pcap(2);
    let mut header = vec![0u8; 8];
    header.extend_from_slice(&0x4000_0000u32.to_le_bytes());
    header.extend_from_slice(&0x4000_0000u32.to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0; 100]);
    let path = scratch("absurd.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let out = check(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("record length 1073741824"), "{lines:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 packets"));
}

#[test]
fn unknown_link_type() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface("can0", 227, 0).unwrap(); // LINKTYPE_CAN_SOCKETCAN
    let path = scratch("can.pcapng");
    std::fs::write(&path, w.into_inner().unwrap()).unwrap();
    let out = check(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("link type 227 is not supported"),
        "{lines:?}"
    );
}

#[test]
fn good_file_next_to_a_bad_one_is_still_read() {
    let good = scratch("good.pcap");
    std::fs::write(&good, arp_pcap(3)).unwrap();
    let out = check(&["--json", good.to_str().unwrap(), "/nonexistent.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packets"], 3);
}
