//! Any bytes, under every link type we decode: headers are walked and verdicts
//! computed without a panic or an out-of-bounds read, whatever the lengths say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offload_diagnose::diagnose::{observe, ChecksumHint, Diagnosis};

/// Ethernet, BSD loopback, raw IP, Linux SLL, raw IPv4, raw IPv6, SLL2, and one we do not know.
const LINK_TYPES: [u16; 8] = [1, 0, 101, 113, 228, 229, 276, 147];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, frame)) = input.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(selector) % LINK_TYPES.len()];
    let hint = match selector >> 6 {
        0 => ChecksumHint::None,
        1 => ChecksumHint::Valid,
        _ => ChecksumHint::NotReady,
    };
    let mut diagnosis = Diagnosis::new();
    let _ = observe(
        &mut diagnosis,
        None,
        link_type,
        frame,
        frame.len() as u32,
        hint,
    );
});
