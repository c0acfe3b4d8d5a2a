//! Writes the synthetic seeds of the `classify_frame` fuzz target
//! (`fuzz/corpus/classify_frame/`): small frames from
//! [`offload_testkit::synth`], each behind the target's selector byte. The
//! other seeds (capture files) are listed in `fuzz/corpus/README.md`.
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
    }
    Ok(())
}
