//! `offload-ethtool`: reading and changing NIC offload features through the
//! SIOCETHTOOL ioctl, interface enumeration, network namespaces and live capture.
//!
//! Reading needs no privileges; changing needs CAP_NET_ADMIN.
//!
//! ```
//! use offload_ethtool::features::FeatureState;
//!
//! // The loopback device exists in every network namespace.
//! let lo = FeatureState::read("lo").unwrap();
//! let text = lo.render_ethtool_k(); // byte for byte what `ethtool -k lo` prints
//! assert!(text.starts_with("Features for lo:\n"));
//! assert!(text.contains("tx-checksumming: "));
//!
//! // Bad names are refused before any system call.
//! assert!(FeatureState::read("no/such/if").is_err());
//! ```

pub mod capture;
pub mod diagnose;
pub mod disable;
pub mod error;
pub mod features;
pub mod iface;
pub mod netns;
pub mod pcap;
pub mod snapshot;

pub use error::{Error, Result};
