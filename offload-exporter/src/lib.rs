//! `offload-exporter`: Prometheus metrics of offload state, served over HTTP
//! (`GET /metrics`) or written for node_exporter's textfile collector.
//!
//! It owns the metric model ([`model`]: names, types, labels, the text
//! format) and how the sources become samples: offload groups and driver
//! checksum counters per interface and the kernel's checksum-error counters
//! from `offload-ethtool`, sampled capture verdicts from `offload-diagnose`,
//! this host's policy drift from `offload-xapi`. It must not read devices,
//! judge packets or talk XAPI itself; `offloadctl exporter` only translates.
//!
//! ```
//! use offload_exporter::model::{Exposition, FEATURE_ENABLED};
//!
//! let mut e = Exposition::new();
//! e.add(&FEATURE_ENABLED, &["eth0", "physical", "e1000e", "tx"], 0.0);
//! assert!(e.render().contains(
//!     "offload_feature_enabled{interface=\"eth0\",kind=\"physical\",driver=\"e1000e\",feature=\"tx\"} 0"
//! ));
//! ```
#![forbid(unsafe_code)]

pub mod capture;
pub mod error;
pub mod exporter;
pub mod http;
pub mod interfaces;
pub mod kernel;
pub mod model;
pub mod textfile;
pub mod xapi;

pub use error::{Error, Result};
pub use exporter::Exporter;
