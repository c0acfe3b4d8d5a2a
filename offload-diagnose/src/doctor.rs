//! `offloadctl doctor`: is offloading hurting this host, and what is the
//! smallest fix? Evidence (counter deltas, device statistics, a short
//! classified capture per interface) is matched against the knowledge file
//! of known offload problems and turned into findings per device, ranked,
//! each with the exact commands of the smallest fix.

pub mod evidence;
pub mod knowledge;
pub mod report;
pub mod rules;

pub use evidence::{gather, DoctorConfig, Evidence};
pub use knowledge::Knowledge;
pub use report::{compare, Comparison, Report, Verdict};

/// Gathers the evidence of `config` live and diagnoses it.
pub fn run(config: &DoctorConfig, knowledge: &Knowledge) -> Report {
    Report::from_evidence(gather(config), knowledge)
}
