//! Offload features of interfaces: read, change (`ethtool -K` words), disable
//! on a selection, snapshot and restore, list interfaces. Every call may name
//! a network namespace (a name under /run/netns or a path); the work then runs
//! on offload-ethtool's helper thread inside it, never moving the caller.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

use offload_core::presets;
use offload_ethtool::disable::{self as engine, Disable, Features};
use offload_ethtool::features::{Change, ChangeReport, Ethtool, FeatureState, Request};
use offload_ethtool::iface::{self, Interface, Selection, Targets};
use offload_ethtool::snapshot::{self, Restore, Snapshot};
use offload_ethtool::{netns, IfName};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyMapping, PyString};

use crate::error::{Error, Result};
use crate::json::to_python;

/// The seed procedure's `ethtool -K eth0 rx off tx off sg off tso off ufo off gso off gro off lro off`
/// (offload-core's `seed` preset on the host's interfaces).
pub fn seed_features() -> Vec<&'static str> {
    presets::short_names(presets::DEFAULT.nics).collect()
}

/// An interface name as Python gives it: `bytes` as they are, or `str`
/// turned back into its bytes as `os.fsencode` does, so that the
/// surrogateescape of a name that is not UTF-8 carries its bytes.
pub struct NameArg(Vec<u8>);

impl<'a, 'py> FromPyObject<'a, 'py> for NameArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<NameArg> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(NameArg(bytes.as_bytes().to_vec()));
        }
        let text: OsString = obj.extract()?;
        Ok(NameArg(text.as_bytes().to_vec()))
    }
}

/// A name checked once.
fn ifname(name: NameArg) -> Result<IfName> {
    Ok(IfName::new(name.0)?)
}

fn ifnames(names: Vec<NameArg>) -> Result<Vec<IfName>> {
    names.into_iter().map(ifname).collect()
}

/// The given names, or every interface of `targets` (default all: every
/// interface but loopback).
fn selection(names: Option<Vec<NameArg>>, targets: Option<&str>) -> Result<Selection> {
    let targets = match targets {
        None => Targets::All,
        Some(t) => Targets::from_name(t)
            .ok_or_else(|| Error::Invalid(format!("targets {t:?}: expected all, nics or vifs")))?,
    };
    let names = ifnames(names.unwrap_or_default())?;
    Ok(Selection::new(
        names,
        false,
        targets,
        &[],
        Vec::new(),
        Vec::new(),
    )?)
}

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
    fn read(py: Python<'_>, ifname: NameArg, netns: Option<String>) -> PyResult<PyFeatureState> {
        Ok(read_state(py, ifname, netns)?)
    }

    #[getter]
    fn ifname(&self) -> String {
        self.0.ifname.to_string()
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

fn read_state(py: Python<'_>, name: NameArg, netns: Option<String>) -> Result<PyFeatureState> {
    let name = ifname(name)?;
    let state = in_netns(py, netns, move || FeatureState::read(&name))?;
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
    fn ifname(&self) -> String {
        self.0.after.ifname.to_string()
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
    serde_json::to_string(&report.json()).unwrap_or_default()
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
    name: NameArg,
    words: Vec<String>,
    netns: Option<String>,
) -> Result<ChangeReport> {
    let name = ifname(name)?;
    // One socket, one read, one change.
    in_netns(py, netns, move || {
        let ethtool = Ethtool::open()?;
        let state = ethtool.read(&name)?;
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let request =
            Request::parse(&state, &args).map_err(|e| offload_ethtool::Error::InvalidRequest {
                ifname: name.to_string(),
                reason: e.to_string(),
            })?;
        ethtool.apply(state, request)
    })
}

/// Reads the offload features of `ifname` (optionally inside `netns`).
#[pyfunction]
#[pyo3(signature = (ifname, netns = None))]
pub fn read_features(
    py: Python<'_>,
    ifname: NameArg,
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
    ifname: NameArg,
    settings: &Bound<'_, PyAny>,
    netns: Option<String>,
) -> PyResult<PyChangeReport> {
    let words = setting_words(settings)?;
    Ok(PyChangeReport(apply(py, ifname, words, netns)?))
}

/// Switches features off on a selection, as `offloadctl disable` does:
/// `features` (legacy or kernel names) on every interface, or a `preset`
/// (default `seed`: its `nics` groups on the host's interfaces, its `vifs`
/// groups on guest backends), on `ifnames` or every interface of `targets`
/// (`all` but loopback, `nics`, `vifs`). Returns the `offloadctl disable
/// --json` report as a dict; with `dry_run` only plans.
#[pyfunction]
#[pyo3(signature = (ifnames = None, features = None, dry_run = false, netns = None, preset = None, targets = None))]
pub fn disable<'py>(
    py: Python<'py>,
    ifnames: Option<Vec<NameArg>>,
    features: Option<Vec<String>>,
    dry_run: bool,
    netns: Option<String>,
    preset: Option<String>,
    targets: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let features = match (preset, features) {
        (Some(_), Some(_)) => {
            return Err(Error::Invalid("give features or preset, not both".into()).into())
        }
        (Some(name), None) => Features::preset(&name).map_err(Error::from)?,
        (None, Some(names)) => Features::named(names).map_err(Error::from)?,
        (None, None) => Features::default(),
    };
    let command = Disable {
        netns,
        selection: selection(ifnames, targets.as_deref())?,
        features,
        dry_run,
        save: None,
        stop: None,
    };
    let report = py
        .detach(move || engine::run(command))
        .map_err(Error::from)?;
    to_python(py, &report)
}

/// One interface of a namespace.
#[pyclass(module = "offload", name = "Interface", frozen, get_all)]
pub struct PyInterface {
    /// The name (escaped `\xNN` where it is not printable ASCII).
    name: String,
    ifindex: u32,
    /// `"physical"`, `"bond"`, `"veth"`, `"xenvif"`, ...
    kind: &'static str,
    /// `"nic"` (the host's side) or `"vif"` (a guest backend): which preset
    /// groups it gets.
    role: &'static str,
}

impl From<Interface> for PyInterface {
    fn from(i: Interface) -> PyInterface {
        PyInterface {
            name: i.name.to_string(),
            ifindex: i.ifindex,
            kind: i.kind.name(),
            role: match i.kind.role() {
                iface::Role::Nic => "nic",
                iface::Role::Vif => "vif",
            },
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

/// Every interface of the namespace, in ifindex order; with `targets`
/// (`all`, `nics`, `vifs`) only those offload-ethtool's rule selects.
#[pyfunction]
#[pyo3(signature = (netns = None, targets = None))]
pub fn list_interfaces(
    py: Python<'_>,
    netns: Option<String>,
    targets: Option<String>,
) -> PyResult<Vec<PyInterface>> {
    let list = in_netns(py, netns, iface::list)?;
    let list = match targets {
        None => list,
        Some(t) => selection(None, Some(&t))?
            .resolve(&list)
            .into_iter()
            .flatten()
            .collect(),
    };
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
        ifnames: Option<Vec<NameArg>>,
        netns: Option<String>,
    ) -> PyResult<PySnapshot> {
        let selection = selection(ifnames, None)?;
        let snap = py
            .detach(move || snapshot::take(netns.as_deref(), &selection))
            .map_err(Error::from)?;
        Ok(PySnapshot(snap))
    }

    /// Reads a snapshot file; InvalidArgumentError when it is not one.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PySnapshot> {
        let snap = py
            .detach(move || snapshot::load(&path))
            .map_err(Error::from)?;
        Ok(PySnapshot(snap))
    }

    /// Writes the snapshot atomically; an existing file is refused
    /// (InvalidArgumentError) unless `force`, which adds to it.
    #[pyo3(signature = (path, force = false))]
    fn save(&self, py: Python<'_>, path: PathBuf, force: bool) -> PyResult<()> {
        let snap = self.0.clone();
        py.detach(move || snapshot::save(&path, snap, force))
            .map_err(Error::from)?;
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
        self.0
            .interfaces
            .iter()
            .map(|i| i.name.to_string())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Snapshot(interfaces={:?})", self.interfaces())
    }
}

/// Puts back the features of `snapshot` that its disable changed (every
/// saved feature with `all_features`), in the snapshot's namespace unless
/// `netns` names another; a snapshot from another machine is refused unless
/// `allow_other_host`. Returns the `offloadctl restore --json` report as a dict.
#[pyfunction]
#[pyo3(signature = (snapshot, netns = None, allow_other_host = false, all_features = false))]
pub fn restore<'py>(
    py: Python<'py>,
    snapshot: &PySnapshot,
    netns: Option<String>,
    allow_other_host: bool,
    all_features: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let snap = snapshot.0.clone();
    let options = Restore {
        allow_other_host,
        netns,
        all_features,
        stop: None,
    };
    let report = py
        .detach(move || snapshot::restore(&snap, &options))
        .map_err(Error::from)?;
    to_python(py, &report)
}

/// `interfaces_json(targets="all", netns=None)`: `{"interfaces": [{"name",
/// "ifindex", "kind", "role"}]}` as text, as liboffload's
/// `offload_interfaces_json` (the dom0 plugin's listing).
#[pyfunction]
#[pyo3(signature = (targets = None, netns = None))]
pub fn interfaces_json(
    py: Python<'_>,
    targets: Option<String>,
    netns: Option<String>,
) -> PyResult<String> {
    let selection = selection(None, targets.as_deref())?;
    let selected = py
        .detach(move || iface::select(netns.as_deref(), &selection))
        .map_err(Error::from)?;
    Ok(serde_json::to_string(&selected).unwrap_or_default())
}

/// `features_json(ifname, netns=None)`: one `offloadctl show --json` entry as
/// text (the plugin's and liboffload's shape).
#[pyfunction]
#[pyo3(signature = (ifname, netns = None))]
pub fn features_json(py: Python<'_>, ifname: NameArg, netns: Option<String>) -> PyResult<String> {
    Ok(read_state(py, ifname, netns)?.to_json())
}

/// `apply_json(ifname, settings, netns=None)`: [`apply_features`] with
/// `ethtool -K` words, reported as `{"ifname", "changes"}` text.
#[pyfunction]
#[pyo3(signature = (ifname, settings, netns = None))]
pub fn apply_json(
    py: Python<'_>,
    ifname: NameArg,
    settings: &Bound<'_, PyAny>,
    netns: Option<String>,
) -> PyResult<String> {
    let words = setting_words(settings)?;
    Ok(change_json(&apply(py, ifname, words, netns)?))
}
