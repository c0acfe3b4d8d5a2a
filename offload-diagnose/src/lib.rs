//! `offload-diagnose`: is it offload or corruption? Reads pcap and pcapng
//! captures in constant memory, captures live through AF_PACKET rings, and
//! turns per-packet checksum verdicts into a diagnosis (per-protocol counts,
//! flows and hosts with really incorrect checksums, one conclusion).
//!
//! It owns the one "check a file" policy ([`diagnose::diagnose_file`]): what a
//! damaged file means, how many records count, which verdict wins. The
//! per-packet rules themselves live in `offload-core`; interfaces and
//! namespaces come from `offload-ethtool`. It must not change any interface.
//!
//! ```no_run
//! use offload_diagnose::diagnose;
//!
//! let (diagnosis, damage) = diagnose::diagnose_file(std::path::Path::new("dump.pcap"), 1);
//! println!("{} packets, {} really incorrect", diagnosis.packets(), diagnosis.incorrect());
//! if let Some(e) = damage {
//!     eprintln!("{e}");
//! }
//! ```

pub mod capture;
pub mod diagnose;
pub mod doctor;
pub mod error;
pub mod pcap;

pub use error::{Error, Result};
