//! Capture summaries: a pcap/pcapng file checked (offload-ethtool's
//! `diagnose_file`, what `offloadctl check --json` prints) and live captures
//! (offload-diagnose's `Capture`, what `offloadctl capture --json` prints).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use offload_diagnose::capture::{Capture, CaptureConfig};
use offload_diagnose::diagnose::{self, Summary};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::error::{Error, Result};
use crate::json::to_python;

/// The summary of one capture file, by offload-diagnose's one policy.
fn check(path: &Path) -> Result<Summary> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    Ok(diagnose::check_file(path, threads)?)
}

fn check_detached(py: Python<'_>, path: PathBuf) -> Result<Summary> {
    py.detach(move || check(&path))
}

/// Checks every packet of a pcap/pcapng file; returns the summary as a dict
/// (schema `offload.diagnosis/1`, the keys of `offloadctl check --json`).
#[pyfunction]
pub fn check_file(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let summary = check_detached(py, path)?;
    to_python(py, &summary)
}

/// [`check_file`] as JSON text (the plugin's and liboffload's shape).
#[pyfunction]
pub fn check_file_json(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let summary = check_detached(py, path)?;
    Ok(serde_json::to_string_pretty(&summary).unwrap_or_default())
}

/// `"eth0"` or `["eth0", "eth1"]`; None means every interface that is up.
fn interface_list(interfaces: Option<&Bound<'_, PyAny>>) -> PyResult<(Vec<String>, bool)> {
    match interfaces {
        None => Ok((Vec::new(), true)),
        Some(one) if one.is_instance_of::<PyString>() => Ok((vec![one.extract()?], false)),
        Some(many) => Ok((many.extract()?, false)),
    }
}

fn duration(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) => offload_diagnose::capture::duration_from_secs(s)
            .map(Some)
            .ok_or_else(|| Error::Invalid(format!("seconds: {s} is not a duration")).into()),
    }
}

/// A running live capture (needs CAP_NET_RAW): per-packet verdicts counted on
/// one thread per interface until `seconds`, `count` packets, or `stop()`.
#[pyclass(module = "offload", name = "Capture", frozen)]
pub struct PyCapture {
    running: Mutex<Option<Capture>>,
}

impl PyCapture {
    fn with<T>(&self, f: impl FnOnce(&Capture) -> T) -> PyResult<T> {
        let guard = self.running.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(c) => Ok(f(c)),
            None => Err(Error::Invalid("this capture has already finished".into()).into()),
        }
    }
}

#[pymethods]
impl PyCapture {
    /// Starts capturing. `interfaces`: a name, a list of names, or None for
    /// every interface that is up; `write` saves the packets as pcapng.
    #[new]
    #[pyo3(signature = (interfaces = None, *, seconds = None, count = None, netns = None, write = None))]
    fn new(
        py: Python<'_>,
        interfaces: Option<&Bound<'_, PyAny>>,
        seconds: Option<f64>,
        count: Option<u64>,
        netns: Option<String>,
        write: Option<PathBuf>,
    ) -> PyResult<PyCapture> {
        let (interfaces, all) = interface_list(interfaces)?;
        for name in &interfaces {
            offload_ethtool::IfName::new(name).map_err(Error::from)?;
        }
        let config = CaptureConfig {
            interfaces,
            all,
            netns,
            duration: duration(seconds)?,
            count,
            write,
            ..CaptureConfig::default()
        };
        let capture = py.detach(|| Capture::start(&config)).map_err(Error::from)?;
        Ok(PyCapture {
            running: Mutex::new(Some(capture)),
        })
    }

    /// The counters so far: packets, correct, incorrect, offload_pending, not_verified.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let status = self.with(Capture::status)?;
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item("packets", status.packets)?;
        dict.set_item("correct", status.correct)?;
        dict.set_item("incorrect", status.incorrect)?;
        dict.set_item("offload_pending", status.offload_pending)?;
        dict.set_item("not_verified", status.not_verified)?;
        Ok(dict.into_any())
    }

    /// Whether every capture thread has stopped (deadline or count reached).
    fn is_finished(&self) -> PyResult<bool> {
        self.with(Capture::is_finished)
    }

    /// Asks the threads to stop; `finish()` then returns at once.
    fn stop(&self) -> PyResult<()> {
        self.with(Capture::stop)
    }

    /// Waits (without the GIL, Ctrl-C still works) until the capture stops by
    /// itself or `timeout` seconds pass; returns whether it stopped.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let limit = duration(timeout)?;
        let started = std::time::Instant::now();
        loop {
            if self.with(Capture::is_finished)? {
                return Ok(true);
            }
            if limit.is_some_and(|l| started.elapsed() >= l) {
                return Ok(false);
            }
            py.detach(|| std::thread::sleep(Duration::from_millis(20)));
            if let Err(e) = py.check_signals() {
                self.with(Capture::stop)?;
                return Err(e);
            }
        }
    }

    /// Stops, joins, and returns the summary dict (`offloadctl capture --json`).
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let summary = self.finish_summary(py)?;
        to_python(py, &summary)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _kind: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        let taken = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(capture) = taken {
            capture.stop();
            // Joining the threads can take a moment: let other Python threads run.
            drop(py.detach(|| capture.finish()));
        }
        false
    }
}

impl PyCapture {
    fn finish_summary(&self, py: Python<'_>) -> PyResult<Summary> {
        let capture = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| Error::Invalid("this capture has already finished".into()))?;
        Ok(py.detach(|| capture.finish()).map_err(Error::from)?)
    }
}

fn capture_summary(
    py: Python<'_>,
    interfaces: Option<&Bound<'_, PyAny>>,
    seconds: f64,
    count: Option<u64>,
    netns: Option<String>,
) -> PyResult<Summary> {
    let capture = PyCapture::new(py, interfaces, Some(seconds), count, netns, None)?;
    capture.wait(py, None)?;
    capture.finish_summary(py)
}

/// Captures for `seconds` (or until `count` packets) and returns the summary dict.
#[pyfunction]
#[pyo3(signature = (interfaces = None, seconds = 10.0, *, count = None, netns = None))]
pub fn capture<'py>(
    py: Python<'py>,
    interfaces: Option<&Bound<'py, PyAny>>,
    seconds: f64,
    count: Option<u64>,
    netns: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let summary = capture_summary(py, interfaces, seconds, count, netns)?;
    to_python(py, &summary)
}

/// `capture_json(ifname, seconds)`: [`capture`] on one interface as JSON text
/// (the plugin's shape).
#[pyfunction]
#[pyo3(signature = (ifname, seconds, netns = None))]
pub fn capture_json(
    py: Python<'_>,
    ifname: &Bound<'_, PyString>,
    seconds: f64,
    netns: Option<String>,
) -> PyResult<String> {
    let summary = capture_summary(py, Some(ifname.as_any()), seconds, None, netns)?;
    Ok(serde_json::to_string_pretty(&summary).unwrap_or_default())
}
