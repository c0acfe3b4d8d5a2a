//! `offload-xapi`: a XAPI client (XML-RPC and JSON-RPC over HTTPS, HTTP and the
//! local unix socket) and pool-wide offload policies.
//!
//! It owns every decision about a pool: how policy and trust options resolve
//! ([`spec`]), which PIFs and VIFs a selection means, which keys to write,
//! what a key does on the host and where it does nothing ([`effect`]), and
//! how replugs and reboots run as polled tasks ([`follow_up`], [`task`]), and
//! what an undo file records and a restore writes back ([`undo`]).
//! Front-ends (CLI, C, Python) only translate. It must not carry server code (the simulator is the separate
//! `offload-xapi-sim`) nor touch local interfaces (`offload-ethtool`).
//!
//! The seed procedure's `xe pif-param-set` / `xe vif-param-set` loops become
//! one call each: [`ops::apply`] reads the pool with one `get_all_records`
//! per class and writes only the keys that differ, in parallel.
//!
//! ```no_run
//! use offload_xapi::ops::{self, RunOptions, Selection};
//! use offload_xapi::policy::{Policy, VifFilter};
//! use offload_xapi::{Client, ConnectOptions, Endpoint, Trust};
//!
//! # fn main() -> offload_xapi::Result<()> {
//! let mut options = ConnectOptions::new(Endpoint::parse("https://pool-master")?, "root", "secret");
//! options.trust = Trust::Pinned(offload_xapi::tls::parse_fingerprint(&"ab".repeat(32))?);
//! let client = Client::connect(options)?;
//! let policy = Policy::preset("seed")?;
//! let report = ops::apply(&client, &policy, &Selection::Vifs(VifFilter::default()), &RunOptions::default())?;
//! println!("{} VIFs changed with {} calls", report.objects.len(), report.calls);
//! client.logout()?;
//! # Ok(())
//! # }
//! ```
//!
//! Policies are checked locally, before anything is sent:
//!
//! ```
//! use offload_xapi::policy::Policy;
//!
//! let policy = Policy::from_settings("tx=off,sg=off").unwrap();
//! assert_eq!(policy.vif[0].key, "ethtool-tx");
//! let typo = Policy::from_settings("sgo=off").unwrap_err();
//! assert!(typo.to_string().contains("did you mean sg?"));
//! ```
#![forbid(unsafe_code)]

pub mod client;
pub mod credentials;
pub mod effect;
pub mod error;
pub mod follow_up;
pub mod local;
pub mod object;
pub mod ops;
pub mod policy;
pub mod records;
pub mod session;
pub mod spec;
pub mod task;
pub mod tls;
pub mod transport;
pub mod undo;
pub mod watch;
pub mod wire;

pub use client::{Client, ConnectOptions, Protocol};
pub use error::{Error, Result, SpecError};
pub use offload_core::features::XapiObject;
pub use spec::{PolicySpec, TrustSpec};
pub use tls::Trust;
pub use transport::Endpoint;
