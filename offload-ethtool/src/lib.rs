//! `offload-ethtool`: reading and changing NIC offload features through the
//! SIOCETHTOOL ioctl, interface enumeration, network namespaces and live capture.

pub mod capture;
pub mod diagnose;
pub mod error;
pub mod features;
pub mod iface;
pub mod netns;
pub mod pcap;
pub mod snapshot;

pub use error::{Error, Result};
