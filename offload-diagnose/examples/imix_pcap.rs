//! Writes the benchmark capture of `cargo xtask compare pcap`: IMIX TCP/IPv4 in
//! Ethernet (7:4:1 of 40/576/1500-byte IP packets), 70 % correct, 29 %
//! offload-pending, 1 % corrupt checksums, in a classic pcap.
//!
//! usage: imix_pcap OUT.pcap PACKETS

use std::io::BufWriter;

use offload_diagnose::pcap::{linktype, LegacyPcapWriter};
use offload_testkit::synth::{ethernet_frame, Fill, Spec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, packets] = args.as_slice() else {
        return Err("usage: imix_pcap OUT.pcap PACKETS".into());
    };
    let packets: u32 = packets.parse()?;
    let file = std::fs::File::create(out)?;
    let mut w = LegacyPcapWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        linktype::ETHERNET,
        262_144,
        false,
        false,
    )?;
    // A fixed LCG so every run writes the same file.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    for i in 0..packets {
        let payload = match next() % 12 {
            0..=6 => 0,    // 40-byte IP packet
            7..=10 => 536, // 576
            _ => 1460,     // 1500
        };
        let fill = match next() % 100 {
            0..=69 => Fill::Correct,
            70..=98 => Fill::OffloadPending,
            _ => Fill::Corrupt,
        };
        let spec = Spec {
            protocol: 6,
            payload,
            fill,
            flow: (next() % 64) as u16,
            ..Spec::default()
        };
        let frame = ethernet_frame(&spec);
        w.write_packet(
            1_700_000_000 + i / 100_000,
            (i % 100_000) * 10_000,
            frame.len() as u32,
            &frame,
        )?;
    }
    w.into_inner()?;
    Ok(())
}
