//! The one error → exception mapping of the module.
//!
//! Hierarchy (declared in `_offload.pyi`, created once at import):
//!
//! ```text
//! OffloadError(Exception)
//! ├─ EthtoolError(OffloadError, OSError)     errno, ifname, op
//! │  ├─ NoSuchInterfaceError                 (ENODEV)
//! │  └─ CaptureError                         capture files and sockets (filename)
//! ├─ InvalidArgumentError(OffloadError, ValueError)
//! │  └─ PacketError                          a frame that does not decode to IP (reason)
//! └─ XapiError(OffloadError)                 code, params, method, errno
//! ```
//!
//! Wrong Python types stay pyo3's `TypeError`.

use offload_core::verdict::DecodeError;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Everything a binding call can fail with; turned into an exception once, in
/// [`From<Error> for PyErr`].
#[derive(Debug)]
pub enum Error {
    Ethtool(offload_ethtool::Error),
    Diagnose(offload_diagnose::Error),
    Xapi(offload_xapi::Error),
    Decode(DecodeError),
    /// Bad input caught here (empty settings, a snapshot that does not load).
    Invalid(String),
    /// An OS error outside the engine (writing a snapshot file).
    Os {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<offload_ethtool::Error> for Error {
    fn from(e: offload_ethtool::Error) -> Error {
        Error::Ethtool(e)
    }
}

impl From<offload_diagnose::Error> for Error {
    fn from(e: offload_diagnose::Error) -> Error {
        match e {
            offload_diagnose::Error::Interface(inner) => Error::Ethtool(inner),
            other => Error::Diagnose(other),
        }
    }
}

impl From<offload_xapi::Error> for Error {
    fn from(e: offload_xapi::Error) -> Error {
        Error::Xapi(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Error {
        Error::Decode(e)
    }
}

/// The exception classes, created at import and kept for the life of the process.
pub struct Classes {
    pub offload: Py<PyType>,
    pub ethtool: Py<PyType>,
    pub no_such_interface: Py<PyType>,
    pub capture: Py<PyType>,
    pub invalid_argument: Py<PyType>,
    pub packet: Py<PyType>,
    pub xapi: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// `type(name, bases, {...})`: the only way to give a class two built-in
/// exception bases (OSError's layout plus our base).
fn new_class<'py>(
    py: Python<'py>,
    name: &str,
    doc: &str,
    bases: &[&Bound<'py, PyType>],
    attributes: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "offload")?;
    namespace.set_item("__doc__", doc)?;
    for (key, value) in attributes {
        namespace.set_item(key, value)?;
    }
    let bases = PyTuple::new(py, bases)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, namespace))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

pub fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let none = || py.None().into_bound(py);
        let exception = py.get_type::<PyException>();
        let os_error = py.get_type::<PyOSError>();
        let value_error = py.get_type::<PyValueError>();
        let offload = new_class(
            py,
            "OffloadError",
            "Base of every error the offload module raises.",
            &[&exception],
            &[],
        )?;
        let offload_b = offload.bind(py).clone();
        let ethtool = new_class(
            py,
            "EthtoolError",
            "A failed ioctl, socket, namespace or capture-file operation: errno, ifname, op.",
            &[&offload_b, &os_error],
            &[("ifname", none()), ("op", none())],
        )?;
        let ethtool_b = ethtool.bind(py).clone();
        let no_such_interface = new_class(
            py,
            "NoSuchInterfaceError",
            "No interface of that name in the namespace looked at.",
            &[&ethtool_b],
            &[],
        )?;
        let capture = new_class(
            py,
            "CaptureError",
            "A capture file or capture socket could not be read.",
            &[&ethtool_b],
            &[],
        )?;
        let invalid_argument = new_class(
            py,
            "InvalidArgumentError",
            "An argument that cannot be used (interface name, feature, policy, URL); nothing was done.",
            &[&offload_b, &value_error],
            &[],
        )?;
        let packet = new_class(
            py,
            "PacketError",
            "A frame that does not decode down to an IPv4/IPv6 header: reason.",
            &[invalid_argument.bind(py)],
            &[("reason", none())],
        )?;
        let xapi = new_class(
            py,
            "XapiError",
            "A XAPI failure: code and params verbatim from the host, or a local code (TRANSPORT, TIMEOUT, HTTP, DECODE).",
            &[&offload_b],
            &[
                ("code", "".into_pyobject(py)?.into_any()),
                ("params", PyTuple::empty(py).into_any()),
                ("method", none()),
                ("errno", none()),
            ],
        )?;
        Ok(Classes {
            offload,
            ethtool,
            no_such_interface,
            capture,
            invalid_argument,
            packet,
            xapi,
        })
    })
}

fn raise<'py>(
    class: &Py<PyType>,
    py: Python<'py>,
    args: impl pyo3::call::PyCallArgs<'py>,
    attributes: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<PyErr> {
    let value = class.bind(py).call1(args)?;
    for (key, item) in attributes {
        value.setattr(*key, item)?;
    }
    Ok(PyErr::from_value(value))
}

fn text<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyAny> {
    pyo3::types::PyString::new(py, s).into_any()
}

fn ethtool_error(py: Python<'_>, c: &Classes, e: &offload_ethtool::Error) -> PyResult<PyErr> {
    use offload_ethtool::Error as E;
    let message = e.to_string();
    let errno = e.raw_os_error().unwrap_or(0);
    let none = || py.None().into_bound(py);
    match e {
        E::InvalidIfname { .. }
        | E::InvalidRequest { .. }
        | E::InvalidSelection { .. }
        | E::BadSnapshot { .. }
        | E::SnapshotExists { .. }
        | E::OtherHost { .. } => raise(&c.invalid_argument, py, (message,), &[]),
        E::NoSuchInterface { ifname } => raise(
            &c.no_such_interface,
            py,
            (libc_enodev(), message),
            &[("ifname", text(py, ifname))],
        ),
        E::Ethtool { op, ifname, .. } => {
            let class = if errno == libc_enodev() {
                &c.no_such_interface
            } else {
                &c.ethtool
            };
            raise(
                class,
                py,
                (errno, message),
                &[("ifname", text(py, ifname)), ("op", text(py, op))],
            )
        }
        E::Netns { netns, .. } => raise(
            &c.ethtool,
            py,
            (errno, message, netns.clone()),
            &[("op", text(py, "setns")), ("ifname", none())],
        ),
        _ => raise(&c.ethtool, py, (errno, message), &[]),
    }
}

fn diagnose_error(py: Python<'_>, c: &Classes, e: &offload_diagnose::Error) -> PyResult<PyErr> {
    use offload_diagnose::Error as E;
    let message = e.to_string();
    let errno = e.raw_os_error().unwrap_or(0);
    match e {
        E::TooManyInterfaces { .. } => raise(&c.invalid_argument, py, (message,), &[]),
        E::NoSuchInterface { ifname } => raise(
            &c.no_such_interface,
            py,
            (libc_enodev(), message),
            &[("ifname", text(py, ifname))],
        ),
        E::CaptureFileIo { path, .. } | E::CaptureFileDamaged { path, .. } => raise(
            &c.capture,
            py,
            (errno, message, path.display().to_string()),
            &[],
        ),
        E::Capture { ifname, .. } => raise(
            &c.capture,
            py,
            (errno, message),
            &[("ifname", text(py, ifname)), ("op", text(py, "capture"))],
        ),
        E::Interface(inner) => ethtool_error(py, c, inner),
        _ => raise(&c.capture, py, (errno, message), &[]),
    }
}

/// ENODEV without a libc dependency of our own (offload-ethtool owns the syscalls).
const fn libc_enodev() -> i32 {
    19
}

fn xapi_error(py: Python<'_>, c: &Classes, e: &offload_xapi::Error) -> PyResult<PyErr> {
    use offload_xapi::Error as E;
    let message = e.to_string();
    if let E::InvalidArgument { .. } | E::Spec(_) | E::NoMatch { .. } = e {
        return raise(&c.invalid_argument, py, (message,), &[]);
    }
    // offload-xapi's own report form names the code of every kind of failure.
    let info = offload_xapi::ops::ErrorInfo::from(e);
    let method = match e {
        E::Api { method, .. } | E::Timeout { method, .. } | E::Decode { method, .. } => {
            text(py, method)
        }
        _ => py.None().into_bound(py),
    };
    let errno = match e.raw_os_error() {
        Some(n) => n.into_pyobject(py)?.into_any(),
        None => py.None().into_bound(py),
    };
    raise(
        &c.xapi,
        py,
        (message,),
        &[
            ("code", text(py, &info.code)),
            ("params", PyTuple::new(py, &info.params)?.into_any()),
            ("method", method),
            ("errno", errno),
        ],
    )
}

fn to_pyerr(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let c = classes(py)?;
    match error {
        Error::Ethtool(e) => ethtool_error(py, c, e),
        Error::Diagnose(e) => diagnose_error(py, c, e),
        Error::Xapi(e) => xapi_error(py, c, e),
        Error::Decode(e) => raise(
            &c.packet,
            py,
            (e.to_string(),),
            &[("reason", text(py, decode_reason(e)))],
        ),
        Error::Invalid(message) => raise(&c.invalid_argument, py, (message.clone(),), &[]),
        Error::Os { path, source } => raise(
            &c.ethtool,
            py,
            (
                source.raw_os_error().unwrap_or(0),
                source.to_string(),
                path.clone(),
            ),
            &[],
        ),
    }
}

/// A stable word per decode failure, for code that branches on it.
fn decode_reason(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::UnsupportedLinkType(_) => "unsupported_link_type",
        DecodeError::NotIp(_) => "not_ip",
        DecodeError::TruncatedLinkHeader => "truncated_link_header",
        DecodeError::TruncatedIpHeader => "truncated_ip_header",
        DecodeError::BadIpVersion(_) => "bad_ip_version",
        DecodeError::BadHeaderLen(_) => "bad_header_len",
        _ => "other",
    }
}

impl From<Error> for PyErr {
    fn from(error: Error) -> PyErr {
        Python::attach(|py| to_pyerr(py, &error).unwrap_or_else(|e| e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(error: Error) -> (String, Vec<String>) {
        Python::attach(|py| {
            let err = PyErr::from(error);
            let value = err.value(py);
            let names = value
                .get_type()
                .mro()
                .iter()
                .map(|t| t.getattr("__name__").unwrap().extract::<String>().unwrap())
                .collect();
            (value.str().unwrap().to_string(), names)
        })
    }

    #[test]
    fn ethtool_errors_are_os_errors_with_errno_and_interface() {
        let e = offload_ethtool::Error::Ethtool {
            op: "ETHTOOL_SFEATURES",
            ifname: "eth0".into(),
            source: std::io::Error::from_raw_os_error(1),
        };
        let (text, names) = raised(Error::Ethtool(e));
        assert!(names.contains(&"OffloadError".to_string()), "{names:?}");
        assert!(names.contains(&"OSError".to_string()), "{names:?}");
        assert!(text.contains("CAP_NET_ADMIN"), "{text}");
    }

    #[test]
    fn missing_interface_has_its_own_class() {
        let e = offload_ethtool::Error::NoSuchInterface {
            ifname: "nope0".into(),
        };
        let (_, names) = raised(Error::Ethtool(e));
        assert_eq!(names[0], "NoSuchInterfaceError");
        assert_eq!(names[1], "EthtoolError");
    }

    #[test]
    fn bad_input_is_a_value_error_and_xapi_faults_keep_their_code() {
        let (_, names) = raised(Error::Invalid("empty settings".into()));
        assert!(names.contains(&"ValueError".to_string()), "{names:?}");
        let fault = offload_xapi::Error::Api {
            method: "PIF.get_all_records".into(),
            code: "SESSION_INVALID".into(),
            params: vec!["OpaqueRef:x".into()],
        };
        Python::attach(|py| {
            let err = PyErr::from(Error::Xapi(fault));
            let value = err.value(py);
            let code: String = value.getattr("code").unwrap().extract().unwrap();
            let params: Vec<String> = value.getattr("params").unwrap().extract().unwrap();
            assert_eq!(code, "SESSION_INVALID");
            assert_eq!(params, ["OpaqueRef:x"]);
        });
    }
}
