//! Snapshots of the requested features of interfaces, saved to a file before a
//! change and put back from it (offload-ethtool's `snapshot`, the same file
//! format as `offloadctl disable --save` / `offloadctl restore`).

use std::ffi::{c_char, c_int, CString};

use offload_ethtool::outcome::Report;
use offload_ethtool::snapshot::{self, Restore};

use crate::disable::selection;
use crate::error::{of_ethtool, offload_result, Failure};
use crate::features::c_string;
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// Saves the requested offload features of `count` interfaces `ifnames`
/// (count 0 and ifnames NULL: every interface but loopback) inside `netns`
/// (NULL: the caller's namespace) to the file `path` (JSON, schema
/// `offload.snapshot/2`, readable by `offloadctl restore`), atomically; an
/// existing file is never replaced. Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `INVALID_IFNAME`, `NO_SUCH_INTERFACE`, `NETNS`, `SNAPSHOT_EXISTS`,
/// `OS_ERROR` (e.g. the file cannot be written; errno in `*errno_out`).
#[no_mangle]
pub extern "C" fn offload_snapshot_save(
    netns: *const c_char,
    ifnames: *const *const c_char,
    count: usize,
    path: *const c_char,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let netns = ffi::opt_str_arg(netns)?;
            let names = ffi::ifname_array_arg(ifnames, count)?;
            let path = ffi::str_arg(path)?;
            let snap = snapshot::take(netns, &selection(names)).map_err(|e| of_ethtool(&e))?;
            snapshot::save(std::path::Path::new(path), snap, false).map_err(|e| of_ethtool(&e))
        };
        ffi::finish(run(), errno_out)
    })
}

/// What `offload_snapshot_restore` did per interface (opaque). Free with
/// `offload_restore_report_free`.
pub struct offload_restore_report {
    tagged: Tagged<RestoreReport>,
}

pub(crate) struct RestoreReport {
    report: Report,
    /// ifname, status, problems of each entry, for the C strings.
    strings: Vec<[CString; 3]>,
}

impl_handle!(offload_restore_report, RestoreReport);

/// One interface of a restore. Strings belong to the report handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_restored {
    /// The interface.
    pub ifname: *const c_char,
    /// Every saved feature is back as it was.
    pub restored: bool,
    /// "changed", "unchanged", "partial", "refused" or "failed".
    pub status: *const c_char,
    /// What could not be put back, "; "-separated, or "" when restored.
    pub problems: *const c_char,
}

/// Puts back the requested features saved in `path` by
/// `offload_snapshot_save` (or `offloadctl disable --save`), in the namespace
/// the snapshot names. A snapshot from another machine (machine-id differs)
/// is refused with `OTHER_HOST` unless `allow_other_host`. Returns
/// `OFFLOAD_RESULT_OK` with a new report in `*report_out` even when some
/// interfaces were not fully restored (see each entry). Errors:
/// `NULL_PARAMETER`, `INVALID_UTF8`, `BAD_SNAPSHOT` (unreadable, not JSON, other
/// schema), `OTHER_HOST`, `NETNS`; `*errno_out` (may be NULL) gets the errno.
#[no_mangle]
pub extern "C" fn offload_snapshot_restore(
    path: *const c_char,
    allow_other_host: bool,
    report_out: *mut *mut offload_restore_report,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(report_out)?;
            let path = ffi::str_arg(path)?;
            let options = Restore {
                allow_other_host,
                ..Restore::default()
            };
            let report = snapshot::load(std::path::Path::new(path))
                .and_then(|snap| snapshot::restore(&snap, &options))
                .map_err(|e| of_ethtool(&e))?;
            let strings = report
                .interfaces
                .iter()
                .map(|o| {
                    let mut problems = o.refused.join("; ");
                    if let Some(e) = &o.error {
                        problems = if problems.is_empty() {
                            e.clone()
                        } else {
                            format!("{problems}; {e}")
                        };
                    }
                    [
                        c_string(&o.ifname.to_string()),
                        c_string(o.status.as_str()),
                        c_string(&problems),
                    ]
                })
                .collect();
            out.write(ffi::into_handle::<offload_restore_report>(RestoreReport {
                report,
                strings,
            }));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many interfaces the restore report covers (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_restore_report_count(report: *const offload_restore_report) -> usize {
    panic::guard(|| ffi::handle_ref(report).map_or(0, |r| r.report.interfaces.len()))
}

/// Entry number `index` into `*out`. Errors: `NULL_PARAMETER`,
/// `INVALID_ARGUMENT` (index out of range), `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_restore_report_get(
    report: *const offload_restore_report,
    index: usize,
    out: *mut offload_restored,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let r = ffi::handle_ref(report)?;
        let o = r
            .report
            .interfaces
            .get(index)
            .ok_or(offload_result::InvalidArgument)?;
        let [name, status, problems] = &r.strings[index];
        out.write(offload_restored {
            ifname: name.as_ptr(),
            restored: o.status.is_success(),
            status: status.as_ptr(),
            problems: problems.as_ptr(),
        });
        Ok(())
    })
}

/// The restore report as `offloadctl restore --json` prints it (schema
/// `offload.restore/2`) into `buf`; buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_restore_report_json(
    report: *const offload_restore_report,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard_result(|| {
        let r = ffi::handle_ref(report)?;
        let text = serde_json::to_string(&r.report).unwrap_or_default();
        ffi::write_text(&text, buf, len, len_out)
    })
}

/// Frees a report from `offload_snapshot_restore`. NULL is fine; must not be
/// called twice.
#[no_mangle]
pub extern "C" fn offload_restore_report_free(report: *mut offload_restore_report) {
    panic::guard(|| ffi::free(report))
}
