//! Checksums and per-packet verdicts: offload-core's `checksum` and
//! `verdict::classify`, one frame or a batch.

use offload_core::checksum as core_checksum;
use offload_core::verdict::{self, ChecksumHint, NotVerifiedReason, Observation, Verdict};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyList};

use crate::error::Error;

/// `Checksum::Tcp4` → `"tcp4"`: the names the JSON summaries use.
fn protocol_name(kind: verdict::Checksum) -> &'static str {
    match kind {
        verdict::Checksum::Ipv4Header => "ipv4_header",
        verdict::Checksum::Tcp4 => "tcp4",
        verdict::Checksum::Udp4 => "udp4",
        verdict::Checksum::Icmp4 => "icmp4",
        verdict::Checksum::Tcp6 => "tcp6",
        verdict::Checksum::Udp6 => "udp6",
        verdict::Checksum::Icmp6 => "icmp6",
    }
}

/// What one checksum field says about its packet (offload-core's `Verdict`).
#[pyclass(module = "offload", name = "Verdict", frozen, eq)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PyVerdict(pub Verdict);

#[pymethods]
impl PyVerdict {
    /// `"correct"`, `"incorrect"`, `"offload_pending"` or `"not_verified"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0 {
            Verdict::Correct => "correct",
            Verdict::Incorrect { .. } => "incorrect",
            Verdict::OffloadPending { .. } => "offload_pending",
            _ => "not_verified",
        }
    }

    /// The value in the checksum field (incorrect and offload-pending only).
    #[getter]
    fn found(&self) -> Option<u16> {
        match self.0 {
            Verdict::Incorrect { found, .. } | Verdict::OffloadPending { found, .. } => Some(found),
            _ => None,
        }
    }

    /// The value the field should hold (tcpdump's value after `->`).
    #[getter]
    fn expected(&self) -> Option<u16> {
        match self.0 {
            Verdict::Incorrect { expected, .. } | Verdict::OffloadPending { expected, .. } => {
                Some(expected)
            }
            _ => None,
        }
    }

    /// Why a checksum was not verified: `"fragment"`, `"truncated"`,
    /// `"udp_zero_checksum"` or `"unsupported_protocol"`.
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match self.0 {
            Verdict::NotVerified(NotVerifiedReason::Fragment) => Some("fragment"),
            Verdict::NotVerified(NotVerifiedReason::Truncated) => Some("truncated"),
            Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => Some("udp_zero_checksum"),
            Verdict::NotVerified(_) => Some("unsupported_protocol"),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        match (self.found(), self.expected(), self.reason()) {
            (Some(f), Some(e), _) => {
                format!(
                    "Verdict({}, found={f:#06x}, expected={e:#06x})",
                    self.kind()
                )
            }
            (_, _, Some(r)) => format!("Verdict(not_verified, reason={r})"),
            _ => format!("Verdict({})", self.kind()),
        }
    }
}

/// The verdicts of one packet (offload-core's `Observation`).
#[pyclass(module = "offload", name = "Observation", frozen)]
pub struct PyObservation(pub Observation);

#[pymethods]
impl PyObservation {
    /// 4 or 6, when the IP header could be read.
    #[getter]
    fn ip_version(&self) -> Option<u8> {
        self.0
            .endpoints
            .map(|e| if e.src.is_ipv4() { 4 } else { 6 })
    }

    #[getter]
    fn src(&self) -> Option<String> {
        self.0.endpoints.map(|e| e.src.to_string())
    }

    #[getter]
    fn dst(&self) -> Option<String> {
        self.0.endpoints.map(|e| e.dst.to_string())
    }

    #[getter]
    fn src_port(&self) -> Option<u16> {
        self.0.endpoints.and_then(|e| e.src_port)
    }

    #[getter]
    fn dst_port(&self) -> Option<u16> {
        self.0.endpoints.and_then(|e| e.dst_port)
    }

    /// The IPv4 header checksum verdict (None for IPv6).
    #[getter]
    fn ip_header(&self) -> Option<PyVerdict> {
        self.0.ip_header.map(PyVerdict)
    }

    /// Which transport checksum was looked at: `"tcp4"`, `"udp6"`, ... (None if none).
    #[getter]
    fn protocol(&self) -> Option<&'static str> {
        self.0.transport.map(|(kind, _)| protocol_name(kind))
    }

    /// The transport checksum verdict.
    #[getter]
    fn transport(&self) -> Option<PyVerdict> {
        self.0.transport.map(|(_, v)| PyVerdict(v))
    }

    fn __repr__(&self) -> String {
        let verdict = |v: Option<PyVerdict>| v.map_or("None".to_string(), |v| v.__repr__());
        format!(
            "Observation(src={:?}, dst={:?}, ip_header={}, protocol={:?}, transport={})",
            self.src(),
            self.dst(),
            verdict(self.ip_header()),
            self.protocol(),
            verdict(self.transport())
        )
    }
}

/// The Internet checksum (RFC 1071) of `data`: the value to store in a
/// checksum field that was zero while summing.
#[pyfunction]
pub fn checksum(data: &[u8]) -> u16 {
    core_checksum::finish(core_checksum::data(data))
}

/// The folded one's-complement sum of `data` (before the final complement).
#[pyfunction]
pub fn checksum_sum(data: &[u8]) -> u16 {
    core_checksum::data(data)
}

/// Whether `data`, checksum field included, sums to 0xffff.
#[pyfunction]
pub fn checksum_verify(data: &[u8]) -> bool {
    core_checksum::data(data) == 0xffff
}

/// The verdicts of one captured frame; raises PacketError when it does not
/// decode down to an IP header.
#[pyfunction]
// link_type 1: LINKTYPE_ETHERNET (a literal, so the Python signature shows it).
#[pyo3(signature = (frame, link_type = 1))]
pub fn classify(frame: &[u8], link_type: u16) -> PyResult<PyObservation> {
    let observation =
        verdict::classify(link_type, frame, ChecksumHint::None).map_err(Error::from)?;
    Ok(PyObservation(observation))
}

/// The verdicts of a batch of frames, one entry per frame (None for a frame
/// that does not decode): a read-only sequence whose `Observation` objects are
/// made when an entry is read, as liboffload's verdict array is filled in place.
#[pyclass(module = "offload", name = "VerdictBatch", frozen, sequence)]
pub struct PyVerdictBatch(Vec<Option<Observation>>);

#[pymethods]
impl PyVerdictBatch {
    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<Option<PyObservation>> {
        let at = if index < 0 {
            index.checked_add_unsigned(self.0.len())
        } else {
            Some(index)
        };
        match at
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.0.get(i))
        {
            Some(entry) => Ok(entry.map(PyObservation)),
            None => Err(PyIndexError::new_err("batch index out of range")),
        }
    }

    /// Every entry, as a list.
    fn to_list(&self) -> Vec<Option<PyObservation>> {
        self.0.iter().map(|o| o.map(PyObservation)).collect()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        PyList::new(py, self.to_list())?.try_iter()
    }

    fn __repr__(&self) -> String {
        format!("VerdictBatch({} frames)", self.0.len())
    }
}

/// The verdicts of every frame of `frames` (a list or other iterable of
/// bytes), classified without the GIL.
#[pyfunction]
#[pyo3(signature = (frames, link_type = 1))]
pub fn classify_batch<'py>(
    py: Python<'py>,
    frames: &Bound<'py, PyAny>,
    link_type: u16,
) -> PyResult<PyVerdictBatch> {
    let mut held: Vec<Bound<'py, PyBytes>> = Vec::new();
    if let Ok(list) = frames.cast::<PyList>() {
        held.reserve(list.len());
        for item in list.iter() {
            held.push(item.cast_into::<PyBytes>()?);
        }
    } else {
        for item in frames.try_iter()? {
            held.push(item?.cast_into::<PyBytes>()?);
        }
    }
    let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
    // bytes objects are immutable and `held` keeps them alive while detached.
    let observations = py.detach(|| {
        slices
            .iter()
            .map(|frame| verdict::classify(link_type, frame, ChecksumHint::None).ok())
            .collect()
    });
    Ok(PyVerdictBatch(observations))
}
