//! `offload-testkit`: what the workspace's tests share and users never see.
//!
//! It owns the test-only helpers: the root/capability/namespace guard every
//! test that touches interfaces goes through ([`guard`]), synthetic packets
//! for tests, fuzz seeds and benchmarks ([`synth`]), raw frame injection
//! ([`inject`]) and a two-namespace path to inject on ([`lab`]). It is a
//! dev-dependency only and is never published; no
//! library crate may depend on it outside `[dev-dependencies]`.
#![deny(unsafe_code)]

pub mod guard;
pub mod inject;
pub mod lab;
pub mod synth;
/// The only unsafe code: the raw AF_PACKET send.
#[allow(unsafe_code)]
mod sys;

pub use inject::inject_frame;
