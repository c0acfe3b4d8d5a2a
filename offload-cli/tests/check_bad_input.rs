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

/// A classic pcap with one TCP/IPv4 packet whose TCP checksum is really wrong.
fn corrupt_pcap() -> Vec<u8> {
    use offload_testkit::synth::{ethernet_frame, Fill, Spec};
    let frame = ethernet_frame(&Spec {
        fill: Fill::Corrupt,
        payload: 100,
        ..Spec::default()
    });
    let mut w = LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
    w.write_packet(1_700_000_000, 0, frame.len() as u32, &frame)
        .unwrap();
    w.into_inner().unwrap()
}

#[test]
fn each_error_is_printed_once() {
    let bytes = arp_pcap(5);
    let path = scratch("cut-once.pcap");
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    let out = check(&[path.to_str().unwrap(), "/nonexistent/once.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(all.matches("truncated").count(), 1, "{all}");
    assert_eq!(all.matches("/nonexistent/once.pcap:").count(), 1, "{all}");
}

#[test]
fn corruption_wins_over_a_damaged_file() {
    let corrupt = scratch("corrupt.pcap");
    std::fs::write(&corrupt, corrupt_pcap()).unwrap();
    let damaged = scratch("damaged.pcap");
    let bytes = arp_pcap(3);
    std::fs::write(&damaged, &bytes[..bytes.len() - 7]).unwrap();
    for args in [
        [corrupt.to_str().unwrap(), damaged.to_str().unwrap()],
        [damaged.to_str().unwrap(), corrupt.to_str().unwrap()],
        [corrupt.to_str().unwrap(), "/nonexistent/x.pcap"],
    ] {
        let out = check(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(stderr_lines(&out).len(), 1, "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("really incorrect"));
    }
    // Alone, the corrupt file is exit 1 and the damaged one exit 2.
    assert_eq!(check(&[corrupt.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(check(&[damaged.to_str().unwrap()]).status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("corruption seen takes precedence"));
}

#[test]
fn gzip_compressed_capture_is_read() {
    let plain = scratch("arp.pcap");
    std::fs::write(&plain, arp_pcap(7)).unwrap();
    let gz = scratch("arp.pcap.gz");
    let zipped = Command::new("gzip")
        .args(["-c", plain.to_str().unwrap()])
        .output()
        .expect("gzip");
    assert!(zipped.status.success());
    std::fs::write(&gz, &zipped.stdout).unwrap();
    let out = check(&["--json", gz.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["packets"], 7);
    // Cut short, the decompressed stream ends inside a record.
    let cut = scratch("cut.pcap.gz");
    std::fs::write(&cut, &zipped.stdout[..zipped.stdout.len() - 12]).unwrap();
    let out = check(&[cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(stderr_lines(&out).len(), 1, "{out:?}");
}

#[test]
fn dash_reads_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    for bytes in [arp_pcap(4), corrupt_pcap()] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
            .args(["check", "--json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["source"]["files"][0], "-");
        let corrupt = json["incorrect"] != 0;
        assert_eq!(out.status.code(), Some(i32::from(corrupt)), "{out:?}");
        assert_eq!(json["packets"], if corrupt { 1 } else { 4 });
    }
}

#[test]
fn huge_block_length_is_printed_in_the_section_byte_order() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
    let mut bytes = w.into_inner().unwrap();
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 40]);
    let path = scratch("huge-block.pcapng");
    std::fs::write(&path, &bytes).unwrap();
    let out = check(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(&0xffff_fff0u32.to_string()), "{lines:?}");
}

#[test]
fn a_file_cut_inside_its_header_says_so() {
    let bytes = arp_pcap(1);
    let mut ng = PcapNgWriter::new(Vec::new()).unwrap();
    ng.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
    let ng = ng.into_inner().unwrap();
    for (name, cut) in [("cut20.pcap", &bytes[..20]), ("cut20.pcapng", &ng[..20])] {
        let path = scratch(name);
        std::fs::write(&path, cut).unwrap();
        let out = check(&[path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("inside the file header"), "{lines:?}");
        assert!(!lines[0].contains("record"), "{lines:?}");
    }
}

/// An interface description block whose `if_tsoffset` is `offset` seconds.
fn idb_with_tsoffset(offset: i64) -> Vec<u8> {
    let mut options = Vec::new();
    options.extend_from_slice(&14u16.to_le_bytes()); // if_tsoffset
    options.extend_from_slice(&8u16.to_le_bytes());
    options.extend_from_slice(&offset.to_le_bytes());
    options.extend_from_slice(&[0; 4]); // opt_endofopt
    let total = 20 + options.len() as u32;
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u32.to_le_bytes());
    idb.extend_from_slice(&total.to_le_bytes());
    idb.extend_from_slice(&linktype::ETHERNET.to_le_bytes());
    idb.extend_from_slice(&[0; 2]);
    idb.extend_from_slice(&0u32.to_le_bytes());
    idb.extend_from_slice(&options);
    idb.extend_from_slice(&total.to_le_bytes());
    idb
}

#[test]
fn huge_timestamp_offset_is_not_a_crash() {
    let mut frame = vec![0xffu8; 6];
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    frame.resize(60, 0);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
    let mut bytes = w.into_inner().unwrap();
    bytes.extend_from_slice(&idb_with_tsoffset(i64::MAX - 5));
    // Packets on interface 1 (the huge offset), then on interface 0 (normal).
    let packets = {
        let mut pw = Vec::new();
        for (iface, sec) in [(1u32, 1_700_000_000i64), (1, 1), (0, 1_700_000_000)] {
            let mut one = PcapNgWriter::new(Vec::new()).unwrap();
            one.write_packet(iface, sec, 0, 60, &frame).unwrap();
            pw.extend_from_slice(&one.into_inner().unwrap()[28..]);
        }
        pw
    };
    bytes.extend_from_slice(&packets);
    let path = scratch("tsoffset.pcapng");
    std::fs::write(&path, &bytes).unwrap();
    let out = check(&["--verdicts", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("[Error converting time]").count(), 2, "{text}");
    assert!(text.contains("3 packets"), "{text}");
    let out = check(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
