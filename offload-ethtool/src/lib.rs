//! `offload-ethtool`: reading and changing NIC offload features through the
//! SIOCETHTOOL ioctl, interface enumeration and selection, network namespaces,
//! snapshots, disable and restore.
//!
//! It owns every decision about local interfaces: which interfaces "all"
//! means, what a disable changes and records, what a restore may write back.
//! It must not read captures or judge checksums (that is `offload-diagnose`)
//! and must not talk to XAPI (`offload-xapi`); front-ends only translate.
//!
//! It also reads the evidence a diagnosis or an exporter needs, read-only:
//! device statistics ([`stats`], `ethtool -S`), driver identity and PCI ids
//! ([`driver`], `ethtool -i`), `/sys/class/net/*/statistics` of any namespace
//! ([`sysfs`]) and the kernel's protocol counters ([`mib`], `nstat`).
//!
//! Reading needs no privileges (sysfs of another namespace needs
//! CAP_SYS_ADMIN); changing needs CAP_NET_ADMIN.
//!
//! ```
//! use offload_ethtool::features::FeatureState;
//! use offload_ethtool::IfName;
//!
//! // The loopback device exists in every network namespace.
//! let lo = FeatureState::read(&IfName::new("lo").unwrap()).unwrap();
//! let text = lo.render_ethtool_k(); // byte for byte what `ethtool -k lo` prints
//! assert!(text.starts_with("Features for lo:\n"));
//! assert!(text.contains("tx-checksumming: "));
//!
//! // Bad names are refused once, where they enter, before any system call.
//! assert!(IfName::new("no/such/if").is_err());
//! ```

pub mod disable;
pub mod driver;
pub mod error;
pub mod features;
pub mod iface;
pub mod ifname;
pub mod lock;
pub mod mib;
pub mod netns;
pub mod outcome;
pub mod save_file;
pub mod snapshot;
pub mod stats;
pub mod sysfs;

pub use error::{Error, Result};
pub use ifname::IfName;
