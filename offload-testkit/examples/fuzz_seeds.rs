//! Writes the synthetic half of the committed fuzz corpus (`fuzz/corpus/`):
//! small frames from [`offload_testkit::synth`] for `classify_frame` (a
//! selector byte, then the frame) and tiny classic pcap files of the same
//! frames, in both byte orders and both time resolutions, for
//! `capture_reader`. The real captures beside them come from `tcpdump -w` and
//! `offloadctl capture --write` (see `fuzz/corpus/README.md`).
//!
//! usage: cargo run -p offload-testkit --example fuzz_seeds -- fuzz/corpus

use std::path::Path;

use offload_testkit::synth::{ethernet_frame, ip_packet, Fill, Spec};

/// Link-type selectors of the `classify_frame` target (index into its table).
const ETHERNET: u8 = 1;
const RAW: u8 = 2;

fn specs() -> Vec<(&'static str, Spec)> {
    let base = Spec {
        payload: 16,
        ..Spec::default()
    };
    vec![
        ("tcp4-correct", base),
        (
            "tcp4-pending",
            Spec {
                fill: Fill::OffloadPending,
                ..base
            },
        ),
        (
            "udp4-corrupt",
            Spec {
                protocol: 17,
                fill: Fill::Corrupt,
                ..base
            },
        ),
        (
            "udp4-zero",
            Spec {
                protocol: 17,
                fill: Fill::Zero,
                ..base
            },
        ),
        (
            "tcp6-pending",
            Spec {
                v6: true,
                fill: Fill::OffloadPending,
                ..base
            },
        ),
        (
            "icmp6-correct",
            Spec {
                v6: true,
                protocol: 58,
                ..base
            },
        ),
        (
            "tcp4-vlan-bad-ip",
            Spec {
                vlan: Some(42),
                bad_ip_checksum: true,
                ..base
            },
        ),
        (
            "udp6-fragment",
            Spec {
                v6: true,
                protocol: 17,
                fragment: Some((true, 0)),
                ..base
            },
        ),
    ]
}

/// A classic pcap file (Ethernet) holding `frames`.
fn classic_pcap(frames: &[Vec<u8>], big_endian: bool, nanosecond: bool) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let magic = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    out.extend(u32b(magic));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0)); // thiszone
    out.extend(u32b(0)); // sigfigs
    out.extend(u32b(262_144)); // snaplen
    out.extend(u32b(1)); // LINKTYPE_ETHERNET
    for (i, frame) in frames.iter().enumerate() {
        out.extend(u32b(1_700_000_000 + i as u32));
        out.extend(u32b(i as u32 * 1000));
        out.extend(u32b(frame.len() as u32));
        out.extend(u32b(frame.len() as u32));
        out.extend(frame);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".into());
    let out = Path::new(&out);
    let classify = out.join("classify_frame");
    let mut frames = Vec::new();
    for (name, spec) in specs() {
        let frame = ethernet_frame(&spec);
        write(
            &classify,
            &format!("synth-eth-{name}"),
            &[&[ETHERNET][..], &frame].concat(),
        )?;
        let packet = ip_packet(&spec);
        // Top bits 0b10: the kernel's "checksum not ready" hint.
        write(
            &classify,
            &format!("synth-raw-{name}"),
            &[&[RAW | 0x80][..], &packet].concat(),
        )?;
        frames.push(frame);
    }
    let reader = out.join("capture_reader");
    write(
        &reader,
        "synth-le-usec.pcap",
        &classic_pcap(&frames, false, false),
    )?;
    write(
        &reader,
        "synth-be-nsec.pcap",
        &classic_pcap(&frames[..3], true, true),
    )?;
    Ok(())
}
