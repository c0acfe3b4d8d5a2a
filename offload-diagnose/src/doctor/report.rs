//! The doctor's answer: a versioned JSON report ([`REPORT_SCHEMA`]) with the
//! verdict, the ranked findings and the evidence behind them; its text for
//! people; its exit code; and the comparison of two reports (did a change help).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, EVIDENCE_SCHEMA};
use super::knowledge::{InputError, Knowledge};
use super::rules::{findings, Cause, Finding, Severity};

/// The schema of a report.
pub const REPORT_SCHEMA: &str = "offload.doctor/1";

/// The schema of a comparison.
pub const COMPARE_SCHEMA: &str = "offload.doctor.compare/1";

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing wrong (offload artefacts and advice only). Exit code 0.
    NothingWrong,
    /// At least one problem. Exit code 1.
    ProblemFound,
    /// Too little evidence could be read to say. Exit code 2.
    CouldNotDiagnose,
}

impl Verdict {
    /// The process exit code of this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::NothingWrong => 0,
            Verdict::ProblemFound => 1,
            Verdict::CouldNotDiagnose => 2,
        }
    }
}

/// A doctor report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// The answer.
    pub verdict: Verdict,
    /// The answer in one line.
    pub summary: String,
    /// Findings, ranked (problems, advice, artefacts; most evidence first).
    pub findings: Vec<Finding>,
    /// What the findings come from (recorded evidence for `--evidence`).
    pub evidence: Evidence,
}

fn input_error(source: &str, problem: impl std::fmt::Display) -> InputError {
    InputError {
        path: source.to_string(),
        problems: vec![problem.to_string()],
    }
}

impl Evidence {
    /// Recorded evidence from JSON text: a bare evidence object or a whole
    /// report's (`source` names it in errors).
    pub fn from_json(text: &str, source: &str) -> Result<Evidence, InputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| input_error(source, e))?;
        let inner = match value.get("evidence") {
            Some(inner) => inner.clone(),
            None => value,
        };
        let evidence: Evidence =
            serde_json::from_value(inner).map_err(|e| input_error(source, e))?;
        if evidence.schema != EVIDENCE_SCHEMA {
            return Err(input_error(
                source,
                format!(
                    "evidence schema {:?}, this version reads {EVIDENCE_SCHEMA:?}",
                    evidence.schema
                ),
            ));
        }
        Ok(evidence)
    }
}

impl Report {
    /// A report from its JSON text (`source` names it in errors).
    pub fn from_json(text: &str, source: &str) -> Result<Report, InputError> {
        let report: Report = serde_json::from_str(text).map_err(|e| input_error(source, e))?;
        if report.schema != REPORT_SCHEMA {
            return Err(input_error(
                source,
                format!(
                    "schema {:?}, this version reads {REPORT_SCHEMA:?}",
                    report.schema
                ),
            ));
        }
        Ok(report)
    }

    /// Applies the rules and `knowledge` to `evidence`.
    pub fn from_evidence(evidence: Evidence, knowledge: &Knowledge) -> Report {
        let findings = findings(&evidence, knowledge);
        let problems = findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .count();
        let diagnosed = evidence
            .namespaces
            .iter()
            .any(|ns| !ns.devices.is_empty() && (ns.captured || !ns.counters.is_empty()));
        let (verdict, summary) = if problems > 0 {
            let first = &findings[0];
            (
                Verdict::ProblemFound,
                format!(
                    "{problems} problem{} found; first: {}",
                    if problems == 1 { "" } else { "s" },
                    first.summary
                ),
            )
        } else if !diagnosed {
            let why: Vec<&str> = evidence
                .namespaces
                .iter()
                .flat_map(|ns| ns.errors.iter().map(String::as_str))
                .collect();
            (
                Verdict::CouldNotDiagnose,
                format!(
                    "could not diagnose: no interface could be read{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join("; "))
                    }
                ),
            )
        } else if findings
            .iter()
            .any(|f| f.cause == Cause::OffloadPendingOnly || f.cause == Cause::GroArtefact)
        {
            (
                Verdict::NothingWrong,
                "offload artefacts only, nothing to fix".into(),
            )
        } else {
            let captured = evidence.namespaces.iter().any(|ns| ns.captured);
            (
                Verdict::NothingWrong,
                if captured {
                    "nothing wrong: no bad checksum in the capture or the counters".into()
                } else {
                    "nothing wrong in the counters (nothing was captured)".into()
                },
            )
        };
        Report {
            schema: REPORT_SCHEMA.into(),
            verdict,
            summary,
            findings,
            evidence,
        }
    }

    /// The exit code (0 nothing wrong, 1 a problem, 2 could not diagnose).
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// The report as text for people.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let devices: usize = self
            .evidence
            .namespaces
            .iter()
            .map(|n| n.devices.len())
            .sum();
        let _ = writeln!(
            out,
            "doctor: {} ({} device{} in {} namespace{}, {:.1} s)",
            self.summary,
            devices,
            if devices == 1 { "" } else { "s" },
            self.evidence.namespaces.len(),
            if self.evidence.namespaces.len() == 1 {
                ""
            } else {
                "s"
            },
            self.evidence.seconds
        );
        for (i, f) in self.findings.iter().enumerate() {
            let label = match f.severity {
                Severity::Problem => "PROBLEM ",
                Severity::Advice => "ADVICE  ",
                Severity::Artefact => "ARTEFACT",
            };
            let place = match (&f.device, &f.netns) {
                (Some(d), Some(n)) => format!("{d} (netns {n})"),
                (Some(d), None) => d.clone(),
                (None, Some(n)) => format!("netns {n}"),
                (None, None) => "host".into(),
            };
            let _ = writeln!(out, "{}. {label} {place}: {}", i + 1, f.summary);
            for e in &f.evidence {
                let _ = writeln!(out, "     evidence: {e}");
            }
            for k in &f.knowledge {
                let _ = writeln!(out, "     known: {} ({})", k.id, k.sources.join(" "));
            }
            for c in &f.fix {
                let _ = writeln!(out, "     fix: {c}");
            }
            if let Some(n) = &f.fix_note {
                let _ = writeln!(out, "     note: {n}");
            }
        }
        for ns in &self.evidence.namespaces {
            for e in &ns.errors {
                let where_ = ns
                    .netns
                    .as_deref()
                    .map(|n| format!(" (netns {n})"))
                    .unwrap_or_default();
                let _ = writeln!(out, "not read{where_}: {e}");
            }
        }
        out
    }
}

/// Whether a change helped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Problems went away and none came.
    Helped,
    /// The same problems, or none before and after.
    NoChange,
    /// New problems, or more bad checksums per second.
    Worse,
}

/// The comparison of two reports of the same host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`COMPARE_SCHEMA`].
    pub schema: String,
    /// The answer.
    pub change: Change,
    /// The answer in one line.
    pub summary: String,
    /// Problems before that are gone after (`device: cause`).
    pub resolved: Vec<String>,
    /// Problems there before and after.
    pub remaining: Vec<String>,
    /// Problems only after.
    pub new: Vec<String>,
    /// Kernel checksum drops per second, before and after.
    pub checksum_drops_per_second: (f64, f64),
    /// Really incorrect checksums seen per second, before and after.
    pub incorrect_per_second: (f64, f64),
    /// The verdict after the change.
    pub after: Verdict,
}

impl Comparison {
    /// 0 when the change helped and nothing is wrong now, 1 when problems
    /// remain or it got worse, 2 when either report could not diagnose.
    pub fn exit_code(&self) -> i32 {
        match (self.after, self.change) {
            (Verdict::CouldNotDiagnose, _) => 2,
            (Verdict::NothingWrong, Change::Helped | Change::NoChange) => 0,
            _ => 1,
        }
    }

    /// The comparison as text.
    pub fn render_text(&self) -> String {
        let mut out = format!("compare: {}\n", self.summary);
        let _ = writeln!(
            out,
            "  kernel checksum drops/s: {:.2} -> {:.2}; really incorrect checksums/s: {:.2} -> {:.2}",
            self.checksum_drops_per_second.0,
            self.checksum_drops_per_second.1,
            self.incorrect_per_second.0,
            self.incorrect_per_second.1
        );
        for (label, list) in [
            ("resolved", &self.resolved),
            ("remaining", &self.remaining),
            ("new", &self.new),
        ] {
            for p in list {
                let _ = writeln!(out, "  {label}: {p}");
            }
        }
        out
    }
}

fn problems(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .map(|f| {
            let cause = serde_json::to_value(f.cause)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{}: {cause}", f.device.as_deref().unwrap_or("host"))
        })
        .collect()
}

fn rates(r: &Report) -> (f64, f64) {
    let secs = r.evidence.seconds.max(0.001);
    let drops: i64 = r
        .evidence
        .namespaces
        .iter()
        .flat_map(|ns| {
            offload_ethtool::mib::CHECKSUM_ERRORS
                .iter()
                .filter_map(|n| ns.counters.get(*n).copied())
        })
        .filter(|d| *d > 0)
        .sum();
    let incorrect: u64 = r
        .evidence
        .namespaces
        .iter()
        .flat_map(|ns| ns.devices.iter())
        .filter_map(|d| d.traffic)
        .map(|t| t.received.incorrect + t.sent.incorrect + t.tunnel_incorrect)
        .sum();
    (drops as f64 / secs, incorrect as f64 / secs)
}

/// Did the change between `before` and `after` help?
pub fn compare(before: &Report, after: &Report) -> Comparison {
    let (b, a) = (problems(before), problems(after));
    let resolved: Vec<String> = b.iter().filter(|p| !a.contains(p)).cloned().collect();
    let remaining: Vec<String> = b.iter().filter(|p| a.contains(p)).cloned().collect();
    let new: Vec<String> = a.iter().filter(|p| !b.contains(p)).cloned().collect();
    let (drops_b, bad_b) = rates(before);
    let (drops_a, bad_a) = rates(after);
    let change = if !new.is_empty() || drops_a > drops_b * 1.5 + 0.1 || bad_a > bad_b * 1.5 + 0.1 {
        Change::Worse
    } else if !resolved.is_empty() {
        Change::Helped
    } else {
        Change::NoChange
    };
    let unusable = [before.verdict, after.verdict].contains(&Verdict::CouldNotDiagnose);
    let summary = match (change, after.verdict) {
        _ if unusable => "cannot compare: a report could not diagnose".to_string(),
        (Change::Helped, Verdict::NothingWrong) => format!(
            "the change helped: {} problem{} resolved, nothing wrong now",
            resolved.len(),
            if resolved.len() == 1 { "" } else { "s" }
        ),
        (Change::Helped, _) => format!(
            "the change helped in part: {} resolved, {} remaining",
            resolved.len(),
            remaining.len()
        ),
        (Change::Worse, _) => format!("worse after the change: {} new problem(s)", new.len()),
        (Change::NoChange, Verdict::NothingWrong) => {
            "no change: nothing wrong before or after".into()
        }
        (Change::NoChange, _) => format!(
            "the change did not help: {} problem(s) remain",
            remaining.len()
        ),
    };
    let after_verdict = if before.verdict == Verdict::CouldNotDiagnose {
        Verdict::CouldNotDiagnose
    } else {
        after.verdict
    };
    Comparison {
        schema: COMPARE_SCHEMA.into(),
        change,
        summary,
        resolved,
        remaining,
        new,
        checksum_drops_per_second: (drops_b, drops_a),
        incorrect_per_second: (bad_b, bad_a),
        after: after_verdict,
    }
}
