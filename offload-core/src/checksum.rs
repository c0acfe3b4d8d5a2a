//! Internet checksum math (RFC 1071, RFC 1624) and the pseudo-header sums of
//! RFC 768 / RFC 793 / RFC 8200.
//!
//! Conventions: every 16-bit value here is the big-endian word's numeric value
//! (`0x4b8f` is what tcpdump prints as `cksum 0x4b8f`). A *sum* is the folded
//! one's-complement sum, not yet complemented; a *checksum* is its complement,
//! which is what goes on the wire.

/// Folds a wide one's-complement accumulator to 16 bits (end-around carry).
#[inline]
pub const fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The folded one's-complement sum of `bytes`, read as big-endian 16-bit words;
/// an odd trailing byte is padded with zero (RFC 1071).
#[inline]
pub fn data(bytes: &[u8]) -> u16 {
    fold(accumulate(bytes))
}

/// A wide, unfolded one's-complement accumulation of `bytes`; add several and [`fold`].
pub fn accumulate(bytes: &[u8]) -> u64 {
    let mut sum: u64 = 0;
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
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
    let sum = accumulate(src)
        + accumulate(dst)
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
