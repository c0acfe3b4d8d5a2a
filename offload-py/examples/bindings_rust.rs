//! The Rust side of `cargo xtask compare bindings`: the same calls the Python
//! module makes, timed on the Rust API directly.
//!
//! `bindings_rust FRAMES_FILE` writes the workload (a batch of Ethernet frames,
//! each as a little-endian u32 length + bytes) so the Python and C sides time
//! exactly the same frames, then prints one line per call:
//! `TIMING <call> <ns per call>`:
//! - `verdicts-batch`: `classify` over the whole batch into a Vec of results
//!   (what `offload.classify_batch(frames)` returns, minus Python objects);
//! - `verdict-single`: `classify` of one frame;
//! - `features-read`: `FeatureState::read("lo")` (read only; never changes anything).

use std::hint::black_box;
use std::time::{Duration, Instant};

use offload_core::checksum;
use offload_core::verdict::{classify, linktype, ChecksumHint};
use offload_ethtool::features::FeatureState;

/// Frames in one batch call.
pub const BATCH: usize = 64;

/// An Ethernet/IPv4/TCP frame with `payload` bytes; every fourth one carries a
/// wrong TCP checksum so the incorrect path runs too.
fn frame(i: usize, payload: usize) -> Vec<u8> {
    let tcp_len = 20 + payload;
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
    let ip_sum = checksum::finish(checksum::data(&ip));
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    let mut tcp = vec![0u8; tcp_len];
    tcp[0..2].copy_from_slice(&(40000 + i as u16).to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x18;
    for (k, b) in tcp[20..].iter_mut().enumerate() {
        *b = (i + k) as u8;
    }
    let pseudo = checksum::pseudo_header_v4([10, 0, 0, 1], [10, 0, 0, 2], 6, tcp_len as u16);
    let mut sum = checksum::finish(checksum::combine(&[pseudo, checksum::data(&tcp)]));
    if i % 4 == 3 {
        sum ^= 0x5a5a;
    }
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut out = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    out.extend_from_slice(&ip);
    out.extend_from_slice(&tcp);
    out
}

/// The batch: sizes from a small ACK to a full 1500-byte segment.
fn workload() -> Vec<Vec<u8>> {
    (0..BATCH)
        .map(|i| frame(i, [0, 64, 512, 1460][i % 4]))
        .collect()
}

/// Nanoseconds per call of `f`: the best of several rounds of about 50 ms.
fn time_per_call(mut f: impl FnMut()) -> f64 {
    let mut calls = 1u64;
    loop {
        let started = Instant::now();
        for _ in 0..calls {
            f();
        }
        if started.elapsed() >= Duration::from_millis(50) {
            break;
        }
        calls *= 2;
    }
    (0..7)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..calls {
                f();
            }
            started.elapsed().as_nanos() as f64 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: bindings_rust FRAMES_FILE")?;
    let frames = workload();
    let mut file = Vec::new();
    for f in &frames {
        file.extend_from_slice(&(f.len() as u32).to_le_bytes());
        file.extend_from_slice(f);
    }
    std::fs::write(&path, file).map_err(|e| format!("{path}: {e}"))?;

    let batch = time_per_call(|| {
        let out: Vec<_> = black_box(&frames)
            .iter()
            .map(|f| classify(linktype::ETHERNET, f, ChecksumHint::None).ok())
            .collect();
        black_box(out);
    });
    println!("TIMING verdicts-batch {batch:.1}");
    let single = time_per_call(|| {
        black_box(
            classify(
                linktype::ETHERNET,
                black_box(&frames[1]),
                ChecksumHint::None,
            )
            .ok(),
        );
    });
    println!("TIMING verdict-single {single:.1}");
    let lo = offload_ethtool::IfName::new("lo").expect("a valid name");
    let read = time_per_call(|| {
        black_box(FeatureState::read(&lo).ok());
    });
    println!("TIMING features-read {read:.1}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_frames_decode_and_every_fourth_is_incorrect() {
        for (i, f) in workload().iter().enumerate() {
            let seen = classify(linktype::ETHERNET, f, ChecksumHint::None).unwrap();
            let (_, verdict) = seen.transport.unwrap();
            let incorrect = matches!(verdict, offload_core::verdict::Verdict::Incorrect { .. });
            assert_eq!(incorrect, i % 4 == 3, "frame {i}: {verdict:?}");
        }
    }
}
