//! `offloadctl doctor` for Python: a live run, recorded evidence and the
//! comparison of two reports, as dicts (or JSON text) of offload-diagnose's
//! doctor, which owns every rule; this only translates.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_diagnose::doctor::{compare, DoctorConfig, Evidence, Knowledge, Report};
use pyo3::prelude::*;

use crate::error::{Error, Result};
use crate::json::to_python;

fn knowledge(file: Option<PathBuf>) -> Result<Knowledge> {
    let mut k = Knowledge::builtin();
    if let Some(path) = file {
        k.extend_from_file(&path)
            .map_err(|e| Error::Invalid(e.to_string()))?;
    }
    Ok(k)
}

fn run(
    py: Python<'_>,
    netns: Option<Vec<String>>,
    seconds: f64,
    file: Option<PathBuf>,
) -> Result<Report> {
    let window = offload_diagnose::capture::duration_from_secs(seconds)
        .ok_or_else(|| Error::Invalid(format!("seconds: {seconds} is not a duration")))?;
    let knowledge = knowledge(file)?;
    let config = DoctorConfig {
        netns: netns.unwrap_or_default().into_iter().map(Some).collect(),
        seconds: window.as_secs_f64(),
        interrupt: Arc::new(AtomicBool::new(false)),
        window_started: None,
    };
    Ok(py.detach(move || offload_diagnose::doctor::run(&config, &knowledge)))
}

/// Watches this host (or the namespaces `netns`) for `seconds` and returns
/// the report as a dict (schema `offload.doctor/1`, what `offloadctl doctor
/// --json` prints); `knowledge` adds a knowledge file to the built-in one.
#[pyfunction]
#[pyo3(signature = (netns=None, seconds=5.0, *, knowledge=None))]
pub fn doctor(
    py: Python<'_>,
    netns: Option<Vec<String>>,
    seconds: f64,
    knowledge: Option<PathBuf>,
) -> PyResult<Bound<'_, PyAny>> {
    let report = run(py, netns, seconds, knowledge)?;
    to_python(py, &report)
}

/// [`doctor`] as JSON text.
#[pyfunction]
#[pyo3(signature = (netns=None, seconds=5.0, *, knowledge=None))]
pub fn doctor_json(
    py: Python<'_>,
    netns: Option<Vec<String>>,
    seconds: f64,
    knowledge: Option<PathBuf>,
) -> PyResult<String> {
    let report = run(py, netns, seconds, knowledge)?;
    Ok(serde_json::to_string_pretty(&report).unwrap_or_default())
}

/// Diagnoses recorded evidence (JSON text: a report, or its `evidence`);
/// returns the report as a dict.
#[pyfunction]
#[pyo3(signature = (evidence_json, *, knowledge=None))]
pub fn doctor_evidence<'py>(
    py: Python<'py>,
    evidence_json: &str,
    knowledge: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let evidence = Evidence::from_json(evidence_json, "evidence")
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let report = Report::from_evidence(evidence, &self::knowledge(knowledge)?);
    to_python(py, &report)
}

/// Compares two reports (JSON text): did the change between them help?
/// Returns the comparison as a dict (schema `offload.doctor.compare/1`, with
/// `exit_code` as `offloadctl doctor --compare` exits).
#[pyfunction]
pub fn doctor_compare<'py>(
    py: Python<'py>,
    before_json: &str,
    after_json: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let parse = |text: &str, name: &str| {
        Report::from_json(text, name).map_err(|e| Error::Invalid(e.to_string()))
    };
    let c = compare(&parse(before_json, "before")?, &parse(after_json, "after")?);
    let mut value = serde_json::to_value(&c).unwrap_or_default();
    value["exit_code"] = c.exit_code().into();
    to_python(py, &value)
}
