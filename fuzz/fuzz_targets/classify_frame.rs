//! Any bytes, under every link type offload-core decodes: its frame walk and
//! checksum verdicts (called directly, as capture and check call them) never
//! panic or read out of bounds, whatever the lengths say, and its fast checksum
//! loop agrees with a plain RFC 1071 sum of the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offload_core::checksum;
use offload_core::verdict::{classify, linktype, ChecksumHint};

/// Every link type core knows, and one it does not (147, a user DLT).
const LINK_TYPES: [u16; 11] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW,
    linktype::LINUX_SLL,
    linktype::LOOP,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    linktype::RAW_BSD_12,
    linktype::RAW_BSD_14,
    147,
];

/// The checksum as RFC 1071 §4.1 writes it: big-endian words, an odd byte
/// padded with zero, carries folded back.
fn rfc1071(bytes: &[u8]) -> u16 {
    let mut sum: u64 = bytes
        .chunks(2)
        .map(|pair| u64::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fuzz_target!(|input: &[u8]| {
    // First byte: link type (low 4 bits) and the kernel's checksum hint (top 2).
    let Some((&selector, frame)) = input.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(selector & 0x0f) % LINK_TYPES.len()];
    let hint = match selector >> 6 {
        0 => ChecksumHint::None,
        1 => ChecksumHint::Valid,
        _ => ChecksumHint::NotReady,
    };
    let _ = classify(link_type, frame, hint);
    assert_eq!(checksum::data(frame), rfc1071(frame));
});
