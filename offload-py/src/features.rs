//! Offload features of interfaces: read, change (`ethtool -K` words), disable
//! on a selection, snapshot and restore, list interfaces. Every call may name
//! a network namespace (a name under /run/netns or a path); the work then runs
//! on offload-ethtool's helper thread inside it, never moving the caller.

use std::path::PathBuf;

use offload_ethtool::disable::disable_one;
use offload_ethtool::features::{self as ethtool, Change, ChangeReport, FeatureState, Request};
use offload_ethtool::iface::{self, Interface, Kind};
use offload_ethtool::netns;
use offload_ethtool::snapshot::{self, Snapshot};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};

use crate::error::{Error, Result};
use crate::json::to_python;

/// The seed procedure's `ethtool -K eth0 rx off tx off sg off tso off ufo off gso off gro off lro off`.
pub const SEED_FEATURES: [&str; 8] = ["rx", "tx", "sg", "tso", "ufo", "gso", "gro", "lro"];

/// Runs `work` in `netns` without the GIL.
fn in_netns<T: Send + 'static>(
    py: Python<'_>,
    netns: Option<String>,
    work: impl FnOnce() -> offload_ethtool::Result<T> + Send + 'static,
) -> Result<T> {
    py.detach(move || netns::run_in(netns.as_deref(), work))
        .map_err(Error::from)
}

/// One feature of a [`PyFeatureState`].
#[pyclass(module = "offload", name = "Feature", frozen, eq, get_all)]
#[derive(Clone, PartialEq, Eq)]
pub struct PyFeature {
    /// The kernel name (`tx-checksum-ipv4`).
    name: String,
    active: bool,
    requested: bool,
    /// The driver does not let it change.
    fixed: bool,
}

#[pymethods]
impl PyFeature {
    fn __repr__(&self) -> String {
        format!(
            "Feature({:?}, active={}, requested={}, fixed={})",
            self.name,
            py_bool(self.active),
            py_bool(self.requested),
            py_bool(self.fixed)
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Every offload feature of one interface (offload-ethtool's `FeatureState`).
#[pyclass(module = "offload", name = "FeatureState", frozen)]
pub struct PyFeatureState(pub FeatureState);

impl PyFeatureState {
    fn feature(&self, i: usize) -> PyFeature {
        PyFeature {
            name: self.0.names[i].clone(),
            active: self.0.is_active(i),
            requested: self.0.is_requested(i),
            fixed: self.0.is_fixed(i),
        }
    }

    fn named(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.names.len()).filter(|&i| !self.0.names[i].is_empty())
    }
}

#[pymethods]
impl PyFeatureState {
    /// Reads the features of `ifname` (no privileges needed).
    #[staticmethod]
    #[pyo3(signature = (ifname, netns = None))]
    fn read(py: Python<'_>, ifname: String, netns: Option<String>) -> PyResult<PyFeatureState> {
        Ok(read_state(py, ifname, netns)?)
    }

    #[getter]
    fn ifname(&self) -> &str {
        &self.0.ifname
    }

    /// Every named feature, in kernel bit order.
    fn features(&self) -> Vec<PyFeature> {
        self.named().map(|i| self.feature(i)).collect()
    }

    /// Kernel feature names, in kernel bit order.
    fn names(&self) -> Vec<String> {
        self.named().map(|i| self.0.names[i].clone()).collect()
    }

    /// What `ethtool -k IFNAME` prints, byte for byte.
    fn render_ethtool_k(&self) -> String {
        self.0.render_ethtool_k()
    }

    /// The `offloadctl show --json` entry of this interface.
    fn to_json(&self) -> String {
        serde_json::to_string(&self.0.json()).unwrap_or_default()
    }

    fn __getitem__(&self, name: &str) -> PyResult<PyFeature> {
        match self.0.index_of(name) {
            Some(i) => Ok(self.feature(i)),
            None => Err(PyKeyError::new_err(name.to_string())),
        }
    }

    fn __contains__(&self, name: &str) -> bool {
        self.0.index_of(name).is_some()
    }

    fn __len__(&self) -> usize {
        self.named().count()
    }

    fn __repr__(&self) -> String {
        format!(
            "FeatureState({:?}, {} features)",
            self.0.ifname,
            self.__len__()
        )
    }
}

fn read_state(py: Python<'_>, ifname: String, netns: Option<String>) -> Result<PyFeatureState> {
    ethtool::validate_ifname(&ifname)?;
    let state = in_netns(py, netns, move || FeatureState::read(&ifname))?;
    Ok(PyFeatureState(state))
}

/// One line of ethtool's "Actual changes:".
#[pyclass(module = "offload", name = "Change", frozen, eq, get_all)]
#[derive(Clone, PartialEq, Eq)]
pub struct PyChange {
    feature: String,
    active: bool,
    requested: bool,
    /// Asked for but refused by the driver (`[requested on]`).
    refused: bool,
}

impl From<Change> for PyChange {
    fn from(c: Change) -> PyChange {
        PyChange {
            feature: c.feature,
            active: c.active,
            requested: c.requested,
            refused: c.refused,
        }
    }
}

#[pymethods]
impl PyChange {
    fn __repr__(&self) -> String {
        format!(
            "Change({:?}, active={}, requested={}, refused={})",
            self.feature,
            py_bool(self.active),
            py_bool(self.requested),
            py_bool(self.refused)
        )
    }
}

/// What a change did (offload-ethtool's `ChangeReport`).
#[pyclass(module = "offload", name = "ChangeReport", frozen)]
pub struct PyChangeReport(pub ChangeReport);

#[pymethods]
impl PyChangeReport {
    #[getter]
    fn ifname(&self) -> &str {
        &self.0.after.ifname
    }

    #[getter]
    fn before(&self) -> PyFeatureState {
        PyFeatureState(self.0.before.clone())
    }

    #[getter]
    fn after(&self) -> PyFeatureState {
        PyFeatureState(self.0.after.clone())
    }

    /// Legacy names asked for that cover no feature of this interface (`ufo`).
    #[getter]
    fn not_present(&self) -> Vec<&'static str> {
        self.0.request.not_present.clone()
    }

    fn changes(&self) -> Vec<PyChange> {
        self.0.changes().into_iter().map(PyChange::from).collect()
    }

    fn nothing_changed(&self) -> bool {
        self.0.nothing_changed()
    }

    /// What `ethtool -K` prints for this change.
    fn render_ethtool(&self) -> String {
        self.0.render_ethtool()
    }

    /// `{"ifname": ..., "changes": [...]}`, as liboffload's `offload_features_apply_json`.
    fn to_json(&self) -> String {
        change_json(&self.0)
    }
}

fn change_json(report: &ChangeReport) -> String {
    serde_json::json!({ "ifname": report.after.ifname, "changes": report.changes() }).to_string()
}

/// `"tx off sg off"`, `["tx", "off"]` or `{"tx": False}` → ethtool -K words.
fn setting_words(settings: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let words: Vec<String> = if let Ok(text) = settings.cast::<PyString>() {
        text.extract::<String>()?
            .split_whitespace()
            .map(str::to_string)
            .collect()
    } else if let Ok(map) = settings.cast::<PyMapping>() {
        let mut words = Vec::new();
        for item in map.items()?.iter() {
            let (name, on): (String, bool) = item.extract()?;
            words.push(name);
            words.push(if on { "on" } else { "off" }.to_string());
        }
        words
    } else {
        settings.extract()?
    };
    if words.is_empty() {
        return Err(Error::Invalid("no feature settings given".into()).into());
    }
    Ok(words)
}

fn apply(
    py: Python<'_>,
    ifname: String,
    words: Vec<String>,
    netns: Option<String>,
) -> Result<ChangeReport> {
    ethtool::validate_ifname(&ifname)?;
    in_netns(py, netns, move || {
        let state = FeatureState::read(&ifname)?;
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let request =
            Request::parse(&state, &args).map_err(|e| offload_ethtool::Error::InvalidRequest {
                ifname: ifname.clone(),
                reason: e.to_string(),
            })?;
        ethtool::apply_to(state, request)
    })
}

/// Reads the offload features of `ifname` (optionally inside `netns`).
#[pyfunction]
#[pyo3(signature = (ifname, netns = None))]
pub fn read_features(
    py: Python<'_>,
    ifname: String,
    netns: Option<String>,
) -> PyResult<PyFeatureState> {
    Ok(read_state(py, ifname, netns)?)
}

/// Changes features as `ethtool -K` does: `settings` is `"tx off sg off"`, a
/// list of those words, or a mapping `{"tx": False}`. Legacy (`tso`) and kernel
/// (`tx-tcp-segmentation`) names both work. Needs CAP_NET_ADMIN.
#[pyfunction]
#[pyo3(signature = (ifname, settings, netns = None))]
pub fn apply_features(
    py: Python<'_>,
    ifname: String,
    settings: &Bound<'_, PyAny>,
    netns: Option<String>,
) -> PyResult<PyChangeReport> {
    let words = setting_words(settings)?;
    Ok(PyChangeReport(apply(py, ifname, words, netns)?))
}

/// Switches `features` (legacy or kernel names; default: the seed's eight) off
/// on each interface of `ifnames` (default: every interface but loopback),
/// one outcome dict per interface; with `dry_run` only plans.
#[pyfunction]
#[pyo3(signature = (ifnames = None, features = None, dry_run = false, netns = None))]
pub fn disable<'py>(
    py: Python<'py>,
    ifnames: Option<Vec<String>>,
    features: Option<Vec<String>>,
    dry_run: bool,
    netns: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let features =
        features.unwrap_or_else(|| SEED_FEATURES.iter().map(|f| f.to_string()).collect());
    if features.is_empty() {
        return Err(Error::Invalid("no features to disable".into()).into());
    }
    let words: Vec<String> = features
        .into_iter()
        .flat_map(|f| [f, "off".to_string()])
        .collect();
    let outcomes = in_netns(py, netns, move || {
        Ok(selection(ifnames)?
            .iter()
            .map(|name| disable_one(name, &words, dry_run))
            .collect::<Vec<_>>())
    })?;
    to_python(py, &outcomes)
}

/// The given names, or every interface of the namespace but loopback.
fn selection(names: Option<Vec<String>>) -> offload_ethtool::Result<Vec<String>> {
    match names {
        Some(names) => Ok(names),
        None => Ok(iface::list()?
            .into_iter()
            .filter(|i| i.kind != Kind::Loopback)
            .map(|i| i.name)
            .collect()),
    }
}

/// One interface of a namespace.
#[pyclass(module = "offload", name = "Interface", frozen, get_all)]
pub struct PyInterface {
    name: String,
    ifindex: u32,
    /// `"physical"`, `"bond"`, `"veth"`, `"xenvif"`, ...
    kind: &'static str,
}

impl From<Interface> for PyInterface {
    fn from(i: Interface) -> PyInterface {
        let kind = Kind::NAMES
            .iter()
            .find(|(_, k)| *k == i.kind)
            .map_or("other", |(name, _)| name);
        PyInterface {
            name: i.name,
            ifindex: i.ifindex,
            kind,
        }
    }
}

#[pymethods]
impl PyInterface {
    fn __repr__(&self) -> String {
        format!(
            "Interface({:?}, ifindex={}, kind={:?})",
            self.name, self.ifindex, self.kind
        )
    }
}

/// Every interface of the namespace, in ifindex order.
#[pyfunction]
#[pyo3(signature = (netns = None))]
pub fn list_interfaces(py: Python<'_>, netns: Option<String>) -> PyResult<Vec<PyInterface>> {
    let list = in_netns(py, netns, iface::list)?;
    Ok(list.into_iter().map(PyInterface::from).collect())
}

/// The requested features of a set of interfaces, saved before a change
/// (the file format of `offloadctl disable --save` / `offloadctl restore`).
#[pyclass(module = "offload", name = "Snapshot", frozen)]
pub struct PySnapshot(pub Snapshot);

#[pymethods]
impl PySnapshot {
    /// Takes the snapshot of `ifnames` (default: every interface but loopback).
    #[staticmethod]
    #[pyo3(signature = (ifnames = None, netns = None))]
    fn take(
        py: Python<'_>,
        ifnames: Option<Vec<String>>,
        netns: Option<String>,
    ) -> PyResult<PySnapshot> {
        let ns = netns.clone();
        let snap = in_netns(py, netns, move || {
            snapshot::take(&selection(ifnames)?, ns.as_deref())
        })?;
        Ok(PySnapshot(snap))
    }

    /// Reads a snapshot file; InvalidArgumentError when it is not one.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PySnapshot> {
        let snap = py
            .detach(move || snapshot::load(&path))
            .map_err(Error::Invalid)?;
        Ok(PySnapshot(snap))
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let text = self.to_json() + "\n";
        py.detach(|| std::fs::write(&path, text))
            .map_err(|source| Error::Os {
                path: path.display().to_string(),
                source,
            })?;
        Ok(())
    }

    fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }

    /// The namespace the snapshot was taken in (None: the caller's).
    #[getter]
    fn netns(&self) -> Option<String> {
        self.0.netns.clone()
    }

    /// The interfaces it holds.
    #[getter]
    fn interfaces(&self) -> Vec<String> {
        self.0.interfaces.iter().map(|i| i.name.clone()).collect()
    }

    fn __repr__(&self) -> String {
        format!("Snapshot(interfaces={:?})", self.interfaces())
    }
}

/// Puts the requested features of every interface of `snapshot` back (in the
/// snapshot's namespace unless `netns` names another); one dict per interface
/// with its problems (empty when it came back as saved).
#[pyfunction]
#[pyo3(signature = (snapshot, netns = None))]
pub fn restore<'py>(
    py: Python<'py>,
    snapshot: &PySnapshot,
    netns: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let saved = snapshot.0.interfaces.clone();
    let netns = netns.or_else(|| snapshot.0.netns.clone());
    let restored = in_netns(py, netns, move || {
        Ok(saved
            .iter()
            .map(snapshot::restore_interface)
            .collect::<Vec<_>>())
    })?;
    to_python(py, &restored)
}

/// `features_json(ifname, netns=None)`: one `offloadctl show --json` entry as
/// text (the plugin's and liboffload's shape).
#[pyfunction]
#[pyo3(signature = (ifname, netns = None))]
pub fn features_json(py: Python<'_>, ifname: String, netns: Option<String>) -> PyResult<String> {
    Ok(read_state(py, ifname, netns)?.to_json())
}

/// `apply_json(ifname, settings, netns=None)`: [`apply_features`] with
/// `ethtool -K` words, reported as `{"ifname", "changes"}` text.
#[pyfunction]
#[pyo3(signature = (ifname, settings, netns = None))]
pub fn apply_json(
    py: Python<'_>,
    ifname: String,
    settings: &Bound<'_, PyAny>,
    netns: Option<String>,
) -> PyResult<String> {
    let words = setting_words(settings)?;
    Ok(change_json(&apply(py, ifname, words, netns)?))
}
