//! Internet checksum math (RFC 1071, RFC 1624) and the pseudo-header sums of
//! RFC 768 / RFC 793 / RFC 8200.
//!
//! Conventions: every 16-bit value here is the big-endian word's numeric value
//! (`0x4b8f` is what tcpdump prints as `cksum 0x4b8f`). A *sum* is the folded
//! one's-complement sum, not yet complemented; a *checksum* is its complement,
//! which is what goes on the wire.

/// Folds a wide one's-complement accumulator to 16 bits (end-around carry).
#[inline]
pub const fn fold(sum: u64) -> u16 {
    // Branch-free: 64 -> 33 -> 17 -> 16 bits (+1 carry) -> 16 bits.
    let sum = (sum & 0xffff_ffff) + (sum >> 32);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// The folded one's-complement sum of `bytes`, read as big-endian 16-bit words;
/// an odd trailing byte is padded with zero (RFC 1071).
// Always inlined: headers of a known length then sum without a length test.
#[inline(always)]
pub fn data(bytes: &[u8]) -> u16 {
    // The sum is computed over native-endian words: one's-complement addition
    // commutes with byte swapping (RFC 1071 §2(B)), so one swap at the end gives
    // the big-endian sum and the loop needs no per-word byte shuffles.
    u16::from_be(fold(sum_native(bytes)))
}

/// The one's-complement sum of `bytes` as a wide accumulator (already folded to
/// 16 bits, so that several can be added and then [`fold`]ed).
#[inline]
pub fn accumulate(bytes: &[u8]) -> u64 {
    u64::from(data(bytes))
}

/// Below this length the scalar loop wins: no dispatch, no vector set-up.
const SHORT: usize = 128;

/// Unfolded sum of native-endian 16-bit words (odd tail padded as RFC 1071 says).
#[inline(always)]
fn sum_native(bytes: &[u8]) -> u64 {
    if bytes.len() < SHORT {
        sum_short(bytes)
    } else {
        sys::sum_long(bytes)
    }
}

/// Short buffers (IP, TCP, UDP headers): 32-bit words added into a 64-bit
/// accumulator. No carries to chase (below 128 bytes the sum stays under 2^37),
/// no dispatch and no vector set-up: for 20 and 40 bytes this is five or ten
/// independent adds, which the compiler pairs into SSE2 adds where it can.
#[inline(always)]
fn sum_short(bytes: &[u8]) -> u64 {
    let mut sum: u64 = 0;
    let mut words = bytes.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    sum + sum_tail(words.remainder())
}

/// The last 0..=3 bytes: a whole 16-bit word, then an odd byte padded with zero
/// in the position it has on the wire (the high byte of a big-endian word).
#[inline(always)]
fn sum_tail(tail: &[u8]) -> u64 {
    match tail {
        [a, b, c] => {
            u64::from(u16::from_ne_bytes([*a, *b])) + u64::from(u16::from_ne_bytes([*c, 0]))
        }
        [a, b] => u64::from(u16::from_ne_bytes([*a, *b])),
        [a] => u64::from(u16::from_ne_bytes([*a, 0])),
        _ => 0,
    }
}

/// Long buffers: 8-byte loads whose 32-bit halves go to two 64-bit accumulators.
/// No carries to chase, so the compiler turns it into wide vector adds (SSE2 in
/// the baseline build, AVX2 in the `sys` dispatch).
#[inline(always)]
fn sum_long_portable(bytes: &[u8]) -> u64 {
    let mut lo: u64 = 0;
    let mut hi: u64 = 0;
    let mut blocks = bytes.chunks_exact(8);
    for b in &mut blocks {
        let x = u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        lo += x & 0xffff_ffff;
        hi += x >> 32;
    }
    // Each accumulator took at most 2^32 - 1 per 8 bytes: no overflow below 2^35 bytes.
    let rest = blocks.remainder();
    fold_wide(lo) + fold_wide(hi) + sum_short(rest)
}

/// Folds a 64-bit accumulator to at most 17 bits without losing carries.
#[inline(always)]
fn fold_wide(x: u64) -> u64 {
    let x = (x & 0xffff_ffff) + (x >> 32);
    (x & 0xffff) + (x >> 16)
}

/// Runtime CPU-feature dispatch for the long-buffer loop. The only unsafe code
/// of the crate: calling a function compiled for AVX2 after checking the CPU has it.
#[allow(unsafe_code)]
mod sys {
    #[cfg(target_arch = "x86_64")]
    cpufeatures::new!(cpu_avx2, "avx2");

    /// Which implementation [`sum_long`] uses on this CPU.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Path {
        Portable,
        Avx2,
    }

    #[inline(always)]
    pub fn path() -> Path {
        #[cfg(target_arch = "x86_64")]
        if cpu_avx2::get() {
            return Path::Avx2;
        }
        Path::Portable
    }

    // Always inlined: a per-packet call to the dispatch cost 2% of `check`.
    #[inline(always)]
    pub fn sum_long(bytes: &[u8]) -> u64 {
        sum_long_with(path(), bytes)
    }

    #[inline(always)]
    pub fn sum_long_with(path: Path, bytes: &[u8]) -> u64 {
        match path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only produced by `path()` after cpufeatures
            // confirmed AVX2 at run time (tests construct it only under the same check).
            Path::Avx2 => unsafe { sum_long_avx2(bytes) },
            _ => super::sum_long_portable(bytes),
        }
    }

    /// Bytes per run of the vector loop: each of its 32-bit lanes takes at most
    /// 2^16 in magnitude per 64 bytes (one `vpmaddwd` of two biased words), so
    /// no lane reaches 2^31 within a run.
    #[cfg(target_arch = "x86_64")]
    const RUN: usize = 1 << 20;

    /// Zeros then ones: 32 bytes loaded from `TAIL_MASK[k..]` keep the last `k`
    /// bytes of a vector.
    #[cfg(target_arch = "x86_64")]
    static TAIL_MASK: [u8; 64] = {
        let mut mask = [0u8; 64];
        let mut i = 32;
        while i < 64 {
            mask[i] = 0xff;
            i += 1;
        }
        mask
    };

    /// Each 16-bit word, biased by 0x8000 so that it reads as a signed word,
    /// goes through `vpmaddwd` against ones (adjacent words summed into a
    /// 32-bit lane): three operations per 32 bytes. The last partial vector is
    /// the 32 bytes that end the buffer with its already summed bytes masked
    /// out, so no scalar tail loop runs. The bias is given back at the end:
    /// 0x8000 per word summed.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn sum_long_avx2(bytes: &[u8]) -> u64 {
        use core::arch::x86_64::*;
        if bytes.len() < 32 {
            return super::sum_long_portable(bytes);
        }
        // An odd last byte is the high byte of a word padded with zero (RFC 1071).
        let (words, odd) = match bytes.len() % 2 {
            0 => (bytes, 0),
            _ => (
                &bytes[..bytes.len() - 1],
                u64::from(u16::from_ne_bytes([bytes[bytes.len() - 1], 0])),
            ),
        };
        let bias = _mm256_set1_epi16(i16::MIN);
        let ones = _mm256_set1_epi16(1);
        let lanes = |x: __m256i| _mm256_madd_epi16(_mm256_xor_si256(x, bias), ones);
        let mut total: i64 = 0;
        // Every run but the last is a multiple of 64 bytes: only the last has a rest.
        for run in words.chunks(RUN) {
            let mut a = _mm256_setzero_si256();
            let mut b = _mm256_setzero_si256();
            let mut blocks = run.chunks_exact(64);
            for block in &mut blocks {
                // SAFETY: `block` is exactly 64 readable bytes; loadu has no
                // alignment requirement, and AVX2 is enabled for this function.
                let (x, y) = unsafe {
                    (
                        _mm256_loadu_si256(block.as_ptr().cast()),
                        _mm256_loadu_si256(block.as_ptr().add(32).cast()),
                    )
                };
                a = _mm256_add_epi32(a, lanes(x));
                b = _mm256_add_epi32(b, lanes(y));
            }
            let mut rest = blocks.remainder();
            if rest.len() >= 32 {
                // SAFETY: `rest` has at least 32 readable bytes.
                let x = unsafe { _mm256_loadu_si256(rest.as_ptr().cast()) };
                a = _mm256_add_epi32(a, lanes(x));
                rest = &rest[32..];
            }
            if !rest.is_empty() {
                // The 32 bytes that end the buffer (it has at least 32), of which
                // the last `rest.len()` are new. The buffer's length is even here,
                // so the vector's words line up with the buffer's.
                let k = rest.len();
                // SAFETY: `rest` ends the buffer and the buffer has at least 32
                // bytes, so the 32 bytes before `rest`'s end are readable;
                // `TAIL_MASK[k..k + 32]` is in bounds for k < 32.
                let (x, keep) = unsafe {
                    (
                        _mm256_loadu_si256(rest.as_ptr().add(k).sub(32).cast()),
                        _mm256_loadu_si256(TAIL_MASK.as_ptr().add(k).cast()),
                    )
                };
                let biased = _mm256_and_si256(_mm256_xor_si256(x, bias), keep);
                b = _mm256_add_epi32(b, _mm256_madd_epi16(biased, ones));
            }
            // Sixteen signed 32-bit lanes, widened to 64 bits before they are
            // added (a lane of `a` and one of `b` together could reach 2^31).
            let widen = |v: __m256i| {
                _mm256_add_epi64(
                    _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)),
                    _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(v)),
                )
            };
            let wide = _mm256_add_epi64(widen(a), widen(b));
            let mut four = [0i64; 4];
            // SAFETY: `four` is 32 writable bytes; storeu has no alignment requirement.
            unsafe { _mm256_storeu_si256(four.as_mut_ptr().cast(), wide) };
            total += four.iter().sum::<i64>();
        }
        // Give back the bias: 0x8000 for each word summed.
        let unbiased = total + 0x8000 * (words.len() / 2) as i64;
        unbiased as u64 + odd
    }
}

/// Names the checksum implementation this CPU uses (`"avx2"` or `"portable"`),
/// for benchmarks and diagnostics.
pub fn implementation() -> &'static str {
    match sys::path() {
        sys::Path::Avx2 => "avx2",
        sys::Path::Portable => "portable",
    }
}

/// One's-complement addition of several folded sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The checksum to put on the wire for a folded sum: its complement.
#[inline]
pub const fn finish(sum: u16) -> u16 {
    !sum
}

/// The sum of the IPv4 pseudo-header (RFC 793 §3.1): addresses, protocol, L4 length.
#[inline]
pub fn pseudo_header_v4(src: [u8; 4], dst: [u8; 4], protocol: u8, l4_len: u16) -> u16 {
    let sum = u64::from(u16::from_be_bytes([src[0], src[1]]))
        + u64::from(u16::from_be_bytes([src[2], src[3]]))
        + u64::from(u16::from_be_bytes([dst[0], dst[1]]))
        + u64::from(u16::from_be_bytes([dst[2], dst[3]]))
        + u64::from(protocol)
        + u64::from(l4_len);
    fold(sum)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses, upper-layer
/// length (32 bits) and next header.
#[inline]
pub fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, l4_len: u32) -> u16 {
    let sum = sum_short(src) + sum_short(dst);
    let sum = u64::from(u16::from_be(fold(sum)))
        + u64::from(l4_len >> 16)
        + u64::from(l4_len & 0xffff)
        + u64::from(next_header);
    fold(sum)
}

/// RFC 1624 eqn. 3 incremental update: the new checksum after one 16-bit word of
/// the covered data changed from `old_word` to `new_word`.
#[inline]
pub fn update(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    // HC' = ~(~HC + ~m + m')
    !fold(u64::from(!old_checksum) + u64::from(!old_word) + u64::from(new_word))
}

/// tcpdump's `in_cksum_shouldbe`: given the checksum field `found` and the folded
/// sum over the covered data *including* that field, the value the field should
/// have held. This is the number tcpdump prints after `->`.
#[inline]
pub fn shouldbe(found: u16, sum_including_field: u16) -> u16 {
    // tcpdump: shouldbe = found + in_cksum(data), folded twice, where in_cksum is
    // the complemented sum. Same arithmetic, so the same one of the two zeros.
    fold(u64::from(found) + u64::from(!sum_including_field))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 1071 definition, word by word, big-endian: the reference.
    fn naive(bytes: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        for pair in bytes.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    /// xorshift64*: deterministic random bytes without a dependency.
    fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed >> 12;
                seed ^= seed << 25;
                seed ^= seed >> 27;
                (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    fn paths() -> Vec<sys::Path> {
        let mut paths = vec![sys::Path::Portable];
        if sys::path() == sys::Path::Avx2 {
            paths.push(sys::Path::Avx2);
        }
        paths
    }

    #[test]
    fn every_length_and_alignment_matches_the_reference() {
        let buffer = random_bytes(512 + 64, 0x9e37_79b9_7f4a_7c15);
        let ones = vec![0xffu8; 512 + 64];
        for source in [&buffer, &ones] {
            for align in 0..64 {
                for len in 0..=512 {
                    let slice = &source[align..align + len];
                    let expected = naive(slice);
                    assert_eq!(data(slice), expected, "len {len} align {align}");
                    for path in paths() {
                        let long = u16::from_be(fold(sys::sum_long_with(path, slice)));
                        assert_eq!(long, expected, "{path:?} len {len} align {align}");
                    }
                }
            }
        }
    }

    #[test]
    fn large_random_buffers_match_the_reference() {
        for (i, len) in [1500usize, 9000, 65535, 65536, 1 << 20]
            .into_iter()
            .enumerate()
        {
            let bytes = random_bytes(len, i as u64 + 1);
            assert_eq!(data(&bytes), naive(&bytes), "len {len}");
        }
        let ones = vec![0xffu8; 1 << 20];
        assert_eq!(data(&ones), 0xffff);
        // Zeros bias to the most negative signed words: the lanes' extreme.
        for len in [(1 << 20) - 2, 1 << 20, (1 << 20) + 62, 3 << 20] {
            let zeros = vec![0u8; len];
            for path in paths() {
                assert_eq!(fold(sys::sum_long_with(path, &zeros)), 0, "{path:?} {len}");
            }
        }
    }

    #[test]
    fn pseudo_headers_match_the_reference() {
        let v4 = pseudo_header_v4([192, 168, 1, 10], [10, 0, 0, 1], 6, 40);
        assert_eq!(v4, naive(&[192, 168, 1, 10, 10, 0, 0, 1, 0, 6, 0, 40]));
        let src: [u8; 16] = core::array::from_fn(|i| i as u8 * 17);
        let dst: [u8; 16] = core::array::from_fn(|i| 255 - i as u8);
        let mut block = Vec::new();
        block.extend_from_slice(&src);
        block.extend_from_slice(&dst);
        block.extend_from_slice(&70_000u32.to_be_bytes());
        block.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(pseudo_header_v6(&src, &dst, 17, 70_000), naive(&block));
    }

    #[test]
    fn shouldbe_gives_the_value_that_makes_the_packet_verify() {
        let mut segment = random_bytes(61, 7);
        for found in [0x0000u16, 0x4b8f, 0xffff, 0x1234] {
            segment[16..18].copy_from_slice(&found.to_be_bytes());
            let expected = shouldbe(found, data(&segment));
            segment[16..18].copy_from_slice(&expected.to_be_bytes());
            assert_eq!(data(&segment), 0xffff, "found {found:#06x}");
        }
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn incremental_update_matches_recompute() {
        let mut bytes = [0x45u8, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06];
        let before = finish(data(&bytes));
        bytes[8] = 0x3f; // TTL 64 -> 63
        let after = finish(data(&bytes));
        assert_eq!(update(before, 0x4006, 0x3f06), after);
    }
}
