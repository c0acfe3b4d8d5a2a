//! Snapshots of the requested features of interfaces, saved to a file before a
//! change and put back from it (offload-ethtool's `snapshot`, the same file
//! format as `offloadctl disable --save` / `offloadctl restore`).

use std::ffi::{c_char, c_int, CString};

use offload_ethtool::netns;
use offload_ethtool::snapshot::{self, Restored};

use crate::disable::selection;
use crate::error::{of_ethtool, offload_result, Failure};
use crate::features::c_string;
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// Saves the requested offload features of `count` interfaces `ifnames`
/// (count 0 and ifnames NULL: every interface but loopback) inside `netns`
/// (NULL: the caller's namespace) to the file `path` (JSON, schema
/// `offload.snapshot/1`, readable by `offloadctl restore`). Errors:
/// `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_IFNAME`, `NO_SUCH_INTERFACE`,
/// `NETNS`, `OS_ERROR` (e.g. the file cannot be written; errno in `*errno_out`).
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
            let names = ffi::str_array_arg(ifnames, count)?;
            let path = ffi::str_arg(path)?;
            let ns = netns.map(str::to_string);
            let snap = netns::run_in(netns, move || {
                snapshot::take(&selection(names)?, ns.as_deref())
            })
            .map_err(|e| of_ethtool(&e))?;
            let text = serde_json::to_string_pretty(&snap)
                .map_err(|_| Failure::from(offload_result::OsError))?;
            std::fs::write(path, text + "\n").map_err(|e| Failure {
                result: offload_result::OsError,
                errno: e.raw_os_error().unwrap_or(0),
            })
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
    restored: Vec<(Restored, CString, CString)>,
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
            let snap = snapshot::load(std::path::Path::new(path))
                .map_err(|_| Failure::from(offload_result::BadSnapshot))?;
            if !allow_other_host && snap.host.machine_id != snapshot::Host::this().machine_id {
                return Err(offload_result::OtherHost.into());
            }
            let interfaces = snap.interfaces.clone();
            let restored = netns::run_in(snap.netns.as_deref(), move || {
                Ok(interfaces
                    .iter()
                    .map(snapshot::restore_interface)
                    .collect::<Vec<_>>())
            })
            .map_err(|e| of_ethtool(&e))?;
            let restored = restored
                .into_iter()
                .map(|r| {
                    let (name, problems) = (c_string(&r.name), c_string(&r.problems.join("; ")));
                    (r, name, problems)
                })
                .collect();
            out.write(ffi::into_handle::<offload_restore_report>(RestoreReport {
                restored,
            }));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many interfaces the restore report covers (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_restore_report_count(report: *const offload_restore_report) -> usize {
    panic::guard(|| ffi::handle_ref(report).map_or(0, |r| r.restored.len()))
}

/// Entry number `index` into `*out`. Errors: `NULL_PARAMETER`,
/// `INVALID_ARGUMENT` (index out of range), `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_restore_report_get(
    report: *const offload_restore_report,
    index: usize,
    out: *mut offload_restored,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), offload_result> {
            let out = Out::new(out)?;
            let r = ffi::handle_ref(report)?;
            let (restored, name, problems) = r
                .restored
                .get(index)
                .ok_or(offload_result::InvalidArgument)?;
            out.write(offload_restored {
                ifname: name.as_ptr(),
                restored: restored.problems.is_empty(),
                problems: problems.as_ptr(),
            });
            Ok(())
        };
        run().err().unwrap_or(offload_result::Ok)
    })
}

/// The restore report as JSON: `[{"name": ..., "problems": [...]}, ...]`
/// into `buf`; buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_restore_report_json(
    report: *const offload_restore_report,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), offload_result> {
            let r = ffi::handle_ref(report)?;
            let entries: Vec<&Restored> = r.restored.iter().map(|(x, _, _)| x).collect();
            let text = serde_json::to_string(&entries).unwrap_or_default();
            ffi::write_text(&text, buf, len, len_out)
        };
        run().err().unwrap_or(offload_result::Ok)
    })
}

/// Frees a report from `offload_snapshot_restore`. NULL is fine; must not be
/// called twice.
#[no_mangle]
pub extern "C" fn offload_restore_report_free(report: *mut offload_restore_report) {
    panic::guard(|| ffi::free(report))
}
