//! Switching features off on one interface of a selection, with one outcome
//! each: what `offloadctl disable` (the seed's `ethtool -K` loop) and the C and
//! Python bindings do per interface. Falls back to the legacy ioctls on kernels
//! without ETHTOOL_GFEATURES.

use serde::Serialize;

use crate::error::Error;
use crate::features::{self, legacy, FeatureState, Request};

/// The schema tag of a disable report.
pub const SCHEMA: &str = "offload.disable/1";

/// The JSON report of a run: `offloadctl disable --json`, and the C and
/// Python bindings.
pub fn report_json<'a>(
    dry_run: bool,
    outcomes: impl IntoIterator<Item = &'a Outcome>,
) -> serde_json::Value {
    let interfaces: Vec<&Outcome> = outcomes.into_iter().collect();
    serde_json::json!({ "schema": SCHEMA, "dry_run": dry_run, "interfaces": interfaces })
}

/// What happened to one interface.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The interface.
    pub ifname: String,
    /// "done", "partial", "failed" or "planned".
    pub result: &'static str,
    /// Features switched off (or, for "planned", that would be).
    pub switched_off: Vec<String>,
    /// Requested off but still on (fixed, or kept on by the driver).
    pub stayed_on: Vec<String>,
    /// Why it failed, in one line.
    pub error: Option<String>,
    /// The error itself, for callers that map it (errno, kind).
    #[serde(skip)]
    pub cause: Option<Error>,
}

impl Outcome {
    /// Nothing done yet: "failed" until the work says otherwise.
    fn failed(name: &str) -> Outcome {
        Outcome {
            ifname: name.to_string(),
            result: "failed",
            switched_off: Vec::new(),
            stayed_on: Vec::new(),
            error: None,
            cause: None,
        }
    }

    fn fail(&mut self, e: Error) {
        self.error = Some(e.to_string());
        self.result = "failed";
        self.cause = Some(e);
    }
}

fn plan(state: &FeatureState, request: &Request) -> Vec<String> {
    (0..state.names.len())
        .filter(|&i| request.names_bit(i) && state.is_active(i) && !state.is_fixed(i))
        .map(|i| state.names[i].clone())
        .collect()
}

/// Applies `words` (`ethtool -K` words: `tx off sg off ...`) to `name` in the
/// caller's namespace, or only plans it with `dry_run`.
pub fn disable_one(name: &str, words: &[String], dry_run: bool) -> Outcome {
    let mut outcome = Outcome::failed(name);
    if legacy::forced() || legacy_only(name) {
        return disable_one_legacy(name, words, dry_run);
    }
    let result = FeatureState::read(name).and_then(|state| {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let request = Request::parse(&state, &refs).map_err(|e| Error::InvalidRequest {
            ifname: name.to_string(),
            reason: e.to_string(),
        })?;
        if dry_run {
            outcome.switched_off = plan(&state, &request);
            outcome.result = "planned";
            return Ok(());
        }
        let report = features::apply_to(state, request)?;
        for change in report.changes() {
            if change.requested && !change.refused && !change.active {
                outcome.switched_off.push(change.feature);
            } else if change.refused && change.active {
                outcome.stayed_on.push(change.feature);
            }
        }
        outcome.result = if outcome.stayed_on.is_empty() {
            "done"
        } else {
            "partial"
        };
        Ok(())
    });
    if let Err(e) = result {
        outcome.fail(e);
    }
    outcome
}

/// Whether this interface's kernel lacks ETHTOOL_GFEATURES (old dom0 kernels).
pub fn legacy_only(name: &str) -> bool {
    matches!(FeatureState::read(name), Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP))
}

fn disable_one_legacy(name: &str, words: &[String], dry_run: bool) -> Outcome {
    let mut outcome = Outcome::failed(name);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let result = if dry_run {
        legacy::read(name).map(|state| {
            for pair in refs.chunks(2) {
                if state.get(pair[0]) == Some(true) {
                    outcome.switched_off.push(pair[0].to_string());
                }
            }
            outcome.result = "planned";
        })
    } else {
        legacy::apply(name, &refs).map(|(before, after)| {
            for pair in refs.chunks(2) {
                match (before.get(pair[0]), after.get(pair[0])) {
                    (Some(true), Some(false)) => outcome.switched_off.push(pair[0].to_string()),
                    (_, Some(true)) => outcome.stayed_on.push(pair[0].to_string()),
                    _ => {}
                }
            }
            outcome.result = if outcome.stayed_on.is_empty() {
                "done"
            } else {
                "partial"
            };
        })
    };
    if let Err(e) = result {
        outcome.fail(e);
    }
    outcome
}
