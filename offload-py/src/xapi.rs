//! A logged-in XAPI session and the PIF/VIF policy operations of
//! offload-xapi's `ops` (the `offloadctl xapi pif|vif apply|verify` engine).

use std::time::Duration;

use offload_xapi::client::{Client, ConnectOptions, Protocol};
use offload_xapi::ops::{self, RunOptions, Selection};
use offload_xapi::policy::{PifFilter, Policy, VifFilter};
use offload_xapi::{Endpoint, PolicySpec, TrustSpec};
use pyo3::prelude::*;

use crate::error::{Error, Result};
use crate::json::to_python;

/// `preset` ("seed", "tx-only", ...) or `settings` ("tx=off,sg=off"):
/// exactly one, resolved by offload-xapi as for offloadctl and C.
fn policy(preset: Option<&str>, settings: Option<&str>) -> Result<Policy> {
    Ok(PolicySpec {
        preset: preset.map(str::to_string),
        settings: settings.map(str::to_string),
    }
    .resolve()?)
}

fn pifs(hosts: Vec<String>, devices: Vec<String>, networks: Vec<String>) -> Selection {
    Selection::Pifs(PifFilter {
        hosts,
        devices,
        networks,
        kinds: Vec::new(),
    })
}

fn vifs(vm_names: Vec<String>, vm_uuids: Vec<String>, networks: Vec<String>) -> Selection {
    Selection::Vifs(VifFilter {
        vm_names,
        vm_uuids,
        networks,
        include_templates: false,
    })
}

/// A session with a pool master. Use as a context manager to log out.
#[pyclass(module = "offload", name = "XapiSession", frozen)]
pub struct PyXapiSession {
    client: Client,
}

impl PyXapiSession {
    fn apply<'py>(
        &self,
        py: Python<'py>,
        policy: Policy,
        selection: Selection,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = RunOptions {
            dry_run,
            ..RunOptions::default()
        };
        let report = py
            .detach(|| ops::apply(&self.client, &policy, &selection, &options))
            .map_err(Error::from)?;
        to_python(py, &report)
    }

    fn verify_selection<'py>(
        &self,
        py: Python<'py>,
        policy: Policy,
        selection: Selection,
    ) -> PyResult<Bound<'py, PyAny>> {
        let objects = py
            .detach(|| ops::verify(&self.client, &policy, &selection))
            .map_err(Error::from)?;
        to_python(py, &objects)
    }
}

#[pymethods]
impl PyXapiSession {
    /// Connects and logs in (following HOST_IS_SLAVE to the master).
    /// `fingerprint` pins the host certificate's SHA-256; `insecure` skips the
    /// check; otherwise the system CA store decides.
    #[new]
    #[allow(clippy::too_many_arguments)] // keyword options, as the CLI's flags
    #[pyo3(signature = (url, user = "root", password = "", *, fingerprint = None, insecure = false, json_rpc = false, timeout = 60.0))]
    fn new(
        py: Python<'_>,
        url: &str,
        user: &str,
        password: &str,
        fingerprint: Option<&str>,
        insecure: bool,
        json_rpc: bool,
        timeout: f64,
    ) -> PyResult<PyXapiSession> {
        let endpoint = Endpoint::parse(url).map_err(Error::from)?;
        let mut options = ConnectOptions::new(endpoint, user, password);
        options.trust = TrustSpec {
            fingerprint: fingerprint.map(str::to_string),
            insecure,
        }
        .resolve()
        .map_err(Error::from)?;
        if json_rpc {
            options.protocol = Protocol::JsonRpc;
        }
        options.timeout = Duration::try_from_secs_f64(timeout)
            .map_err(|_| Error::Invalid(format!("timeout: {timeout} is not a duration")))?;
        let client = py
            .detach(move || Client::connect(options))
            .map_err(Error::from)?;
        Ok(PyXapiSession { client })
    }

    /// The URL of the master the session lives on.
    #[getter]
    fn url(&self) -> String {
        self.client.endpoint().display()
    }

    /// HTTP calls made so far.
    #[getter]
    fn calls_made(&self) -> u64 {
        self.client.calls_made()
    }

    /// Writes the policy's `ethtool-*` keys on the selected PIFs (only the keys
    /// that differ); returns the report dict of `offloadctl xapi pif apply --json`.
    #[pyo3(signature = (preset = None, *, settings = None, hosts = Vec::new(), devices = Vec::new(), networks = Vec::new(), dry_run = false))]
    #[allow(clippy::too_many_arguments)] // keyword filters, as the CLI's flags
    fn pif_apply<'py>(
        &self,
        py: Python<'py>,
        preset: Option<&str>,
        settings: Option<&str>,
        hosts: Vec<String>,
        devices: Vec<String>,
        networks: Vec<String>,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let policy = policy(preset, settings)?;
        self.apply(py, policy, pifs(hosts, devices, networks), dry_run)
    }

    /// Writes the policy's keys on the selected VIFs (default: every VIF of
    /// every VM but dom0, templates and snapshots).
    #[pyo3(signature = (preset = None, *, settings = None, vm_names = Vec::new(), vm_uuids = Vec::new(), networks = Vec::new(), dry_run = false))]
    #[allow(clippy::too_many_arguments)] // keyword filters, as the CLI's flags
    fn vif_apply<'py>(
        &self,
        py: Python<'py>,
        preset: Option<&str>,
        settings: Option<&str>,
        vm_names: Vec<String>,
        vm_uuids: Vec<String>,
        networks: Vec<String>,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let policy = policy(preset, settings)?;
        self.apply(py, policy, vifs(vm_names, vm_uuids, networks), dry_run)
    }

    /// Checks the selected PIFs (`target="pif"`) or VIFs (`"vif"`) against the
    /// policy as the host will read their keys; one dict per object with `ok`.
    #[pyo3(signature = (target, preset = None, *, settings = None, hosts = Vec::new(), devices = Vec::new(), vm_names = Vec::new(), vm_uuids = Vec::new(), networks = Vec::new()))]
    #[allow(clippy::too_many_arguments)] // keyword filters, as the CLI's flags
    fn verify<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        preset: Option<&str>,
        settings: Option<&str>,
        hosts: Vec<String>,
        devices: Vec<String>,
        vm_names: Vec<String>,
        vm_uuids: Vec<String>,
        networks: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let policy = policy(preset, settings)?;
        let selection = match target {
            "pif" if vm_names.is_empty() && vm_uuids.is_empty() => pifs(hosts, devices, networks),
            "vif" if hosts.is_empty() && devices.is_empty() => vifs(vm_names, vm_uuids, networks),
            "pif" | "vif" => {
                return Err(Error::Invalid(format!(
                    "a filter given does not apply to {target} objects"
                ))
                .into())
            }
            other => {
                return Err(Error::Invalid(format!(
                    "target {other:?}: expected \"pif\" or \"vif\""
                ))
                .into())
            }
        };
        self.verify_selection(py, policy, selection)
    }

    /// Ends the session on the host.
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.client.logout()).map_err(Error::from)?;
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Logs out; a logout failure is raised only when no other exception is
    /// already on its way.
    fn __exit__(
        &self,
        py: Python<'_>,
        kind: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        match (self.logout(py), kind) {
            (Err(e), None) => Err(e),
            _ => Ok(false),
        }
    }

    fn __repr__(&self) -> String {
        format!("XapiSession({:?})", self.url())
    }
}
