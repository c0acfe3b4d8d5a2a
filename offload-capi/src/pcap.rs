//! Capture-file checks: the summary `offloadctl check FILE` prints, as a typed
//! struct and as its JSON (offload-ethtool's `diagnose_file` and `Summary`).

use std::ffi::{c_char, c_int};
use std::path::Path;

use offload_diagnose::diagnose::{self, Protocol, Summary};

use crate::checksum::offload_checksum_kind;
use crate::error::{of_diagnose, offload_result, Failure};
use crate::ffi::{self, Out};
use crate::panic;

/// Verdict counts of one checksum kind.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct offload_protocol_counts {
    /// Which checksum.
    pub kind: offload_checksum_kind,
    /// Checksums that verify.
    pub correct: u64,
    /// Really wrong checksums (corruption).
    pub incorrect: u64,
    /// Checksums left for the NIC (TX offload at the capture point).
    pub offload_pending: u64,
    /// Not verified: IP fragments.
    pub not_verified_fragment: u64,
    /// Not verified: cut short by the snapshot length.
    pub not_verified_truncated: u64,
    /// Not verified: UDP/IPv4 without checksum.
    pub not_verified_udp_zero_checksum: u64,
    /// Not verified: other reasons.
    pub not_verified_other: u64,
}

/// The summary of a capture file (the counters of `offloadctl check --json`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct offload_pcap_summary {
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire of those packets.
    pub bytes: u64,
    /// Packets with no IPv4/IPv6 checksum to look at.
    pub undecoded: u64,
    /// Incorrect checksums over all kinds.
    pub incorrect: u64,
    /// Offload-pending checksums over all kinds.
    pub offload_pending: u64,
    /// At least one checksum was really incorrect (`offloadctl check` exits 1).
    pub corruption: bool,
    /// The file is damaged after `packets` packets (they are still counted).
    pub damaged: bool,
    /// Per checksum kind, in the order IPv4 header, TCP/IPv4, UDP/IPv4, ICMP,
    /// TCP/IPv6, UDP/IPv6, ICMPv6 (`kind` says which; zero counts when unseen).
    pub protocols: [offload_protocol_counts; 7],
}

/// Reads and diagnoses a capture file by offload-diagnose's one policy.
fn check(path: &str) -> Result<Summary, Failure> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    diagnose::check_file(Path::new(path), threads).map_err(|e| of_diagnose(&e))
}

fn typed(summary: &Summary) -> offload_pcap_summary {
    let protocols = Protocol::ALL.map(|p| {
        let seen = summary.protocols.iter().find(|c| c.protocol == Some(p));
        let c = seen.copied().unwrap_or_default();
        offload_protocol_counts {
            kind: p.into(),
            correct: c.correct,
            incorrect: c.incorrect,
            offload_pending: c.offload_pending,
            not_verified_fragment: c.not_verified.fragment,
            not_verified_truncated: c.not_verified.truncated,
            not_verified_udp_zero_checksum: c.not_verified.udp_zero_checksum,
            not_verified_other: c.not_verified.other,
        }
    });
    offload_pcap_summary {
        packets: summary.packets,
        bytes: summary.bytes,
        undecoded: summary.undecoded,
        incorrect: summary.incorrect,
        offload_pending: summary.offload_pending,
        corruption: summary.corruption,
        damaged: !summary.errors.is_empty(),
        protocols,
    }
}

/// Checks the pcap or pcapng file `path`: every checksum's verdict counted, as
/// `offloadctl check` does. Returns `OFFLOAD_RESULT_OK` and fills `*out` (a
/// file damaged after some packets sets `damaged` and counts what was read).
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `OS_ERROR` (cannot open or read;
/// errno in `*errno_out`), `CAPTURE_FORMAT` (not a capture file).
#[no_mangle]
pub extern "C" fn offload_pcap_check(
    path: *const c_char,
    out: *mut offload_pcap_summary,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(out)?;
            let summary = check(ffi::str_arg(path)?)?;
            out.write(typed(&summary));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// The summary of the capture file `path` as `offloadctl check --json` prints
/// it (schema `offload.diagnosis/1`), into `buf` (`len` bytes, NUL-terminated;
/// `*len_out` = text length). When `buf` is NULL or too small: nothing written,
/// `*len_out` = needed length, `OFFLOAD_RESULT_INSUFFICIENT_SIZE` (the file is
/// read again on the next call). Errors as `offload_pcap_check` (no errno out).
#[no_mangle]
pub extern "C" fn offload_pcap_check_json(
    path: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            Out::new(len_out)?;
            let summary = check(ffi::str_arg(path)?)?;
            let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
            ffi::write_text(&text, buf, len, len_out)?;
            Ok(())
        };
        ffi::finish(run(), std::ptr::null_mut())
    })
}
