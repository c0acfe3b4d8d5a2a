//! Per-packet verdicts over an IMIX mix (7:4:1 of 40/576/1500-byte IP packets in
//! Ethernet frames; 70 % correct, 29 % offload-pending, 1 % corrupt), cache-hot
//! and streaming from a buffer much larger than the last-level cache.
//!
//! `ours` is `offload_core::verdict::classify`; the peer is etherparse slicing
//! plus its IPv4 header and TCP checksum computation; `read_sum` is a plain
//! read of the same bytes, the memory ceiling any verifier has.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use offload_core::verdict::{classify, linktype, ChecksumHint, Verdict};
use offload_testkit::synth::{ethernet_frame, Fill, Spec};

/// Frames packed back to back, with their offsets.
struct Mix {
    bytes: Vec<u8>,
    frames: Vec<(usize, usize)>,
}

fn imix(min_bytes: usize) -> Mix {
    // 12-packet cycle: 7 x 40 B, 4 x 576 B, 1 x 1500 B (IP length; TCP payload = len - 40).
    const CYCLE: [usize; 12] = [40, 576, 40, 40, 1500, 40, 576, 40, 40, 576, 40, 576];
    let mut mix = Mix {
        bytes: Vec::new(),
        frames: Vec::new(),
    };
    let mut n = 0usize;
    while mix.bytes.len() < min_bytes {
        let fill = match n % 100 {
            0 => Fill::Corrupt,
            1..=29 => Fill::OffloadPending,
            _ => Fill::Correct,
        };
        let spec = Spec {
            payload: CYCLE[n % CYCLE.len()] - 40,
            fill,
            flow: (n % 1000) as u16,
            ..Spec::default()
        };
        let frame = ethernet_frame(&spec);
        mix.frames.push((mix.bytes.len(), frame.len()));
        mix.bytes.extend_from_slice(&frame);
        n += 1;
    }
    mix
}

fn ours(mix: &Mix) -> u64 {
    let mut bad = 0u64;
    for &(at, len) in &mix.frames {
        let frame = &mix.bytes[at..at + len];
        if let Ok(seen) = classify(linktype::ETHERNET, frame, ChecksumHint::None) {
            if let Some((_, Verdict::Incorrect { .. } | Verdict::OffloadPending { .. })) =
                seen.transport
            {
                bad += 1;
            }
        }
    }
    bad
}

fn etherparse(mix: &Mix) -> u64 {
    let mut bad = 0u64;
    for &(at, len) in &mix.frames {
        let frame = &mix.bytes[at..at + len];
        let Ok(packet) = SlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let Some(NetSlice::Ipv4(ip)) = packet.net else {
            continue;
        };
        let header = ip.header();
        if header.to_header().calc_header_checksum() != header.header_checksum() {
            bad += 1;
        }
        if let Some(TransportSlice::Tcp(tcp)) = packet.transport {
            let computed = tcp.calc_checksum_ipv4(header.source(), header.destination());
            if computed.ok() != Some(tcp.checksum()) {
                bad += 1;
            }
        }
    }
    bad
}

fn read_sum(mix: &Mix) -> u64 {
    let mut sum = 0u64;
    for chunk in mix.bytes.chunks_exact(8) {
        sum = sum.wrapping_add(u64::from_ne_bytes(chunk.try_into().unwrap()));
    }
    sum
}

fn bench(c: &mut Criterion, name: &str, mix: &Mix) {
    // Agree before timing: both flag the 30 % offload-pending or corrupt packets.
    assert_eq!(
        ours(mix),
        etherparse(mix),
        "ours and etherparse disagree on the mix"
    );
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(mix.frames.len() as u64));
    group.bench_function("ours", |b| b.iter(|| ours(black_box(mix))));
    group.bench_function("etherparse", |b| b.iter(|| etherparse(black_box(mix))));
    group.bench_function("read_sum", |b| b.iter(|| read_sum(black_box(mix))));
    group.finish();
}

fn verdicts(c: &mut Criterion) {
    bench(c, "verdict_hot", &imix(64 << 10));
    bench(c, "verdict_stream", &imix(256 << 20));
}

criterion_group!(benches, verdicts);
criterion_main!(benches);
