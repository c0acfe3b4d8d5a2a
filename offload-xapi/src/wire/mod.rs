//! XAPI's two wire formats: XML-RPC (what xapi and the official SDK speak)
//! and JSON-RPC 1.0/2.0 on `/jsonrpc`.
//!
//! Both the client and the simulator use these functions, so both sides of
//! every test speak exactly the same dialect, and the dialect follows what
//! xapi really sends (research/xapi.md §1.2, §1.4): strings, refs and int64
//! go out as an untyped `<value>`, booleans as `<boolean>`, `valid_ref_counts`
//! as `<i4>`, datetimes as `YYYYMMDDTHH:MM:SSZ` without dashes.

pub mod jsonrpc;
mod value;
pub mod xmlrpc;

pub use value::{Value, WireError};
