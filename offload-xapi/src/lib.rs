//! `offload-xapi`: a XAPI client (XML-RPC and JSON-RPC over HTTPS, HTTP and the
//! local unix socket) and a XAPI simulator for tests and demos.

pub mod wire;
