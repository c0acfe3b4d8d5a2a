//! `offload-py`: the Python module `offload._offload` (re-exported by the pure
//! Python package `offload`). Each file wraps one engine module in `Py*`
//! newtypes and functions, with no logic of its own:
//!
//! | file | wraps |
//! |---|---|
//! | `verdict.rs` | offload-core `checksum`, `verdict::classify` |
//! | `features.rs` | offload-ethtool `features`, `disable`, `snapshot`, `iface`, `netns` |
//! | `diagnose.rs` | offload-diagnose `diagnose::check_file`, `capture::Capture` |
//! | `xapi.rs` | offload-xapi `Client`, `ops::{apply, verify}`, `policy::Policy` |
//! | `error.rs` | every crate's `Error` → one exception hierarchy |
//!
//! Calls that block (syscalls, files, captures, XAPI) run without the GIL.
//! It owns the Python contract (types, exceptions) and must not decide
//! anything the engine crates decide: no defaults, no checks of its own.
#![forbid(unsafe_code)]

use pyo3::prelude::*;

pub mod diagnose;
pub mod doctor;
pub mod error;
pub mod features;
pub mod json;
pub mod verdict;
pub mod xapi;

/// Link types `classify` decodes (pcap LINKTYPE_* numbers).
const LINK_TYPES: &[(&str, u16)] = &[
    ("LINKTYPE_NULL", offload_core::verdict::linktype::NULL),
    (
        "LINKTYPE_ETHERNET",
        offload_core::verdict::linktype::ETHERNET,
    ),
    ("LINKTYPE_RAW", offload_core::verdict::linktype::RAW),
    (
        "LINKTYPE_LINUX_SLL",
        offload_core::verdict::linktype::LINUX_SLL,
    ),
    (
        "LINKTYPE_LINUX_SLL2",
        offload_core::verdict::linktype::LINUX_SLL2,
    ),
];

#[pymodule]
#[pyo3(name = "_offload")]
fn offload_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    for (name, value) in LINK_TYPES {
        m.add(*name, *value)?;
    }
    m.add("SEED_FEATURES", features::seed_features())?;

    let classes = error::classes(py)?;
    m.add("OffloadError", classes.offload.bind(py))?;
    m.add("EthtoolError", classes.ethtool.bind(py))?;
    m.add("NoSuchInterfaceError", classes.no_such_interface.bind(py))?;
    m.add("CaptureError", classes.capture.bind(py))?;
    m.add("InvalidArgumentError", classes.invalid_argument.bind(py))?;
    m.add("PacketError", classes.packet.bind(py))?;
    m.add("XapiError", classes.xapi.bind(py))?;

    m.add_class::<verdict::PyVerdict>()?;
    m.add_class::<verdict::PyObservation>()?;
    m.add_class::<verdict::PyVerdictBatch>()?;
    m.add_function(wrap_pyfunction!(verdict::checksum, m)?)?;
    m.add_function(wrap_pyfunction!(verdict::checksum_sum, m)?)?;
    m.add_function(wrap_pyfunction!(verdict::checksum_verify, m)?)?;
    m.add_function(wrap_pyfunction!(verdict::classify, m)?)?;
    m.add_function(wrap_pyfunction!(verdict::classify_batch, m)?)?;

    m.add_class::<features::PyFeature>()?;
    m.add_class::<features::PyFeatureState>()?;
    m.add_class::<features::PyChange>()?;
    m.add_class::<features::PyChangeReport>()?;
    m.add_class::<features::PyInterface>()?;
    m.add_class::<features::PySnapshot>()?;
    m.add_function(wrap_pyfunction!(features::read_features, m)?)?;
    m.add_function(wrap_pyfunction!(features::apply_features, m)?)?;
    m.add_function(wrap_pyfunction!(features::disable, m)?)?;
    m.add_function(wrap_pyfunction!(features::restore, m)?)?;
    m.add_function(wrap_pyfunction!(features::list_interfaces, m)?)?;
    m.add_function(wrap_pyfunction!(features::features_json, m)?)?;
    m.add_function(wrap_pyfunction!(features::interfaces_json, m)?)?;
    m.add_function(wrap_pyfunction!(features::apply_json, m)?)?;

    m.add_class::<diagnose::PyCapture>()?;
    m.add_function(wrap_pyfunction!(diagnose::check_file, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::check_file_json, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::capture, m)?)?;
    m.add_function(wrap_pyfunction!(diagnose::capture_json, m)?)?;

    m.add_function(wrap_pyfunction!(doctor::doctor, m)?)?;
    m.add_function(wrap_pyfunction!(doctor::doctor_json, m)?)?;
    m.add_function(wrap_pyfunction!(doctor::doctor_evidence, m)?)?;
    m.add_function(wrap_pyfunction!(doctor::doctor_compare, m)?)?;

    m.add_class::<xapi::PyXapiSession>()?;
    Ok(())
}
