//! `offload-core`: the allocation-free heart of the offload toolkit.
//!
//! * [`features`]: the legacy ethtool offload groups (`rx`, `tx`, `sg`, ...), their
//!   long names, XAPI `other-config` keys and the kernel feature strings they cover.
//! * [`checksum`]: RFC 1071 Internet checksum math, pseudo-headers, RFC 1624 updates.
//! * [`verdict`]: per-packet checksum verdicts (correct, incorrect, offload-pending,
//!   not verified), computed over zero-copy packet views.
//!
//! The crate is `no_std` and never allocates, so the same code runs in capture
//! threads, the C ABI and the Python module.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod checksum;
pub mod counters;
pub mod features;
pub mod glob;
mod sync;
pub mod tcpdump;
pub mod verdict;
