//! `offload-xapi`: a XAPI client (XML-RPC and JSON-RPC over HTTPS, HTTP and the
//! local unix socket) and a XAPI simulator for tests and demos.

pub mod client;
pub mod error;
pub mod ops;
pub mod policy;
pub mod records;
pub mod session;
pub mod tls;
pub mod transport;
pub mod watch;
pub mod wire;

pub use client::{Client, ConnectOptions, Protocol};
pub use error::{Error, Result};
pub use tls::Trust;
pub use transport::Endpoint;
