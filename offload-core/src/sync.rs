//! The atomics the crate uses: `core`'s normally, loom's under `cfg(offload_loom)`
//! so that the loom models in `tests/loom_*.rs` explore every interleaving.

#[cfg(offload_loom)]
pub use loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

#[cfg(not(offload_loom))]
pub use core::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
