//! `offloadctl doctor`: is offloading hurting this host, and what is the
//! smallest fix? Evidence (counter deltas, device statistics, a short
//! classified capture per interface) is matched against the knowledge file
//! of known offload problems and turned into findings per device, ranked,
//! each with the exact commands of the smallest fix.

pub mod knowledge;
