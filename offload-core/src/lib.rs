//! `offload-core`: the allocation-free heart of the offload toolkit.
//!
//! * [`features`]: the legacy ethtool offload groups (`rx`, `tx`, `sg`, ...), their
//!   long names, XAPI `other-config` keys and the kernel feature strings they cover.
//! * [`presets`]: the named presets (`seed`, `tx-only`) every front-end applies.
//! * [`checksum`]: RFC 1071 Internet checksum math, pseudo-headers, RFC 1624 updates.
//! * [`verdict`]: per-packet checksum verdicts (correct, incorrect, offload-pending,
//!   not verified), computed over zero-copy packet views.
//!
//! The crate is `no_std` and never allocates, so the same code runs in capture
//! threads, the C ABI and the Python module.
//!
//! It owns every rule that needs no operating system: what a feature name or
//! XAPI key means, what a preset switches, how a checksum is computed, how a
//! packet is read ([`wire`]) and judged. It must not do I/O, allocate or hold
//! policy that depends on a host; the crates above only apply these rules.
//!
//! ```
//! use offload_core::checksum;
//! use offload_core::features::{legacy_by_name, xapi_flag_value, xapi_key_applied, XapiObject};
//!
//! // RFC 1071 example bytes: the checksum field value that makes them sum to 0xffff.
//! let words = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
//! assert_eq!(checksum::data(&words), 0xddf2);
//!
//! // `ethtool -K eth0 tx off` and `xe vif-param-set other-config:ethtool-tx=off`
//! // name the same feature group.
//! let tx = legacy_by_name("tx").unwrap();
//! assert_eq!(tx.long_name, "tx-checksumming");
//! assert_eq!(tx.xapi_key, Some("ethtool-tx"));
//! // The host ignores gro on VIFs and values pasted with quotes.
//! assert!(!xapi_key_applied(XapiObject::Vif, "ethtool-gro"));
//! assert_eq!(xapi_flag_value("\"off\""), None);
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod checksum;
pub mod counters;
pub mod features;
pub mod glob;
pub mod presets;
mod sync;
pub mod tcpdump;
pub mod verdict;
pub mod wire;
