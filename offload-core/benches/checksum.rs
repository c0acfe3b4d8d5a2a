//! Checksum throughput against the Rust peers, on the same buffers in one run.
//!
//! Each peer returns something slightly different (folded sum or complement,
//! value or network-order bytes); `checksum_of` normalises them all to the wire
//! checksum, and `peers_agree` checks they agree on every size before any timing.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use offload_core::checksum;

type Peer = (&'static str, fn(&[u8]) -> u16);

fn ours(bytes: &[u8]) -> u16 {
    checksum::finish(checksum::data(bytes))
}

/// smoltcp keeps its raw checksum function crate-private; its public path over a
/// whole buffer is ICMPv4 verification, which sums every byte (no pseudo-header).
/// It answers "verifies?" rather than a value, so `peers_agree` checks it on a
/// buffer whose ICMP checksum field we filled, and the timing is the same work.
fn smoltcp_verifies(bytes: &[u8]) -> bool {
    smoltcp::wire::Icmpv4Packet::new_unchecked(bytes).verify_checksum()
}

fn ip4sum(bytes: &[u8]) -> u16 {
    // Documented as "network byte order", but it is the checksum's value (checked below).
    ip4sum::checksum(bytes)
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    u16::from_be_bytes(internet_checksum::checksum(bytes))
}

fn etherparse(bytes: &[u8]) -> u16 {
    // Its result holds the wire bytes in native order (it is written with to_ne_bytes).
    let native = etherparse::checksum::Sum16BitWords::new()
        .add_slice(bytes)
        .ones_complement();
    u16::from_be_bytes(native.to_ne_bytes())
}

fn pnet(bytes: &[u8]) -> u16 {
    // skipword beyond the buffer: nothing is skipped.
    pnet_packet::util::checksum(bytes, usize::MAX / 2)
}

const PEERS: &[Peer] = &[
    ("ours", ours),
    ("ip4sum", ip4sum),
    ("internet-checksum", internet_checksum),
    ("etherparse", etherparse),
    ("pnet", pnet),
];

const SIZES: &[usize] = &[20, 40, 64, 576, 1500, 9000, 65535];

fn buffer(len: usize) -> Vec<u8> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn peers_agree(bytes: &[u8]) {
    let expected = ours(bytes);
    for (name, peer) in PEERS {
        assert_eq!(
            peer(bytes),
            expected,
            "{name} disagrees on {} bytes; fix its normalisation before timing",
            bytes.len()
        );
    }
    let mut filled = bytes.to_vec();
    filled[2..4].fill(0);
    let value = ours(&filled);
    filled[2..4].copy_from_slice(&value.to_be_bytes());
    assert!(
        smoltcp_verifies(&filled),
        "smoltcp disagrees on {} bytes",
        bytes.len()
    );
    filled[2] ^= 1;
    assert!(
        !smoltcp_verifies(&filled),
        "smoltcp accepts a wrong checksum"
    );
}

fn bench_all(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    bytes: &[u8],
) {
    for (name, peer) in PEERS {
        group.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| peer(black_box(bytes)))
        });
    }
    group.bench_with_input(BenchmarkId::from_parameter("smoltcp"), bytes, |b, bytes| {
        b.iter(|| smoltcp_verifies(black_box(bytes)))
    });
}

fn bench_sizes(c: &mut Criterion) {
    for &size in SIZES {
        let bytes = buffer(size);
        peers_agree(&bytes);
        let mut group = c.benchmark_group(format!("checksum_{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        bench_all(&mut group, &bytes);
        group.finish();
    }
}

/// 1500 bytes starting at offsets 0..14: an Ethernet payload is rarely aligned.
fn bench_offsets(c: &mut Criterion) {
    let backing = buffer(1500 + 16);
    for offset in 0..14 {
        let bytes = &backing[offset..offset + 1500];
        peers_agree(bytes);
        let mut group = c.benchmark_group(format!("checksum_1500_off{offset}"));
        group.throughput(Throughput::Bytes(1500));
        bench_all(&mut group, bytes);
        group.finish();
    }
}

criterion_group!(benches, bench_sizes, bench_offsets);
criterion_main!(benches);
