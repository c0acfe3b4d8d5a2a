//! Switching offloads off on a selection of interfaces (the seed's `ethtool -K`
//! loop), one outcome per interface (offload-ethtool's `disable_one`).

use std::ffi::{c_char, c_int, CString};

use offload_ethtool::disable::{self, Disable, Features};
use offload_ethtool::iface::{self, Selection, Targets};
use offload_ethtool::outcome::Report;
use offload_ethtool::IfName;

use crate::error::{of_ethtool, offload_result, Failure};
use crate::features::c_string;
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// The interfaces named, or every interface of the namespace but loopback
/// when none is (offload-ethtool's selection rule).
pub(crate) fn selection(names: Vec<IfName>) -> Selection {
    if names.is_empty() {
        Selection::targets(Targets::All)
    } else {
        Selection::names(names)
    }
}

/// The interfaces of `targets` ("all": every one but loopback, "nics": the
/// host's own, "vifs": guest backends vifD.N/tapD.N; NULL for "all") inside
/// `netns` (NULL: the caller's namespace), as JSON `{"interfaces": [{"name",
/// "ifindex", "kind", "role"}]}` into `buf`; buffer rule as
/// `offload_features_render`. Errors: `NULL_PARAMETER` (len_out),
/// `INVALID_UTF8`, `INVALID_ARGUMENT` (unknown targets), `NETNS`, `OS_ERROR`.
#[no_mangle]
pub extern "C" fn offload_interfaces_json(
    netns: *const c_char,
    targets: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            Out::new(len_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let targets = match ffi::opt_str_arg(targets)? {
                None => Targets::All,
                Some(t) => Targets::from_name(t).ok_or(offload_result::InvalidArgument)?,
            };
            let selected =
                iface::select(netns, &Selection::targets(targets)).map_err(|e| of_ethtool(&e))?;
            let text = serde_json::to_string(&selected).unwrap_or_default();
            ffi::write_text(&text, buf, len, len_out)?;
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// The outcome of `offload_disable` on every interface (opaque). Free with
/// `offload_disable_report_free`.
pub struct offload_disable_report {
    tagged: Tagged<DisableReport>,
}

pub(crate) struct DisableReport {
    report: Report,
    /// ifname, status, message of each outcome, for the C strings.
    strings: Vec<[CString; 3]>,
}

impl_handle!(offload_disable_report, DisableReport);

/// What happened to one interface. Strings belong to the report handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_disable_outcome {
    /// The interface.
    pub ifname: *const c_char,
    /// "changed", "unchanged", "partial" (some features stayed on),
    /// "refused", "planned" (dry run), "skipped" or "failed".
    pub status: *const c_char,
    /// `OFFLOAD_RESULT_OK`, or why this interface failed (12xx).
    pub result: offload_result,
    /// The errno behind `result` (0 when none).
    pub os_errno: c_int,
    /// How many features were switched off (or would be, in a dry run).
    pub changed: usize,
    /// How many requested features stayed on (fixed or kept by the driver).
    pub refused: usize,
    /// The error in one line, or "" when none.
    pub message: *const c_char,
}

/// Switches `features` off on `count` interfaces `ifnames` (count 0 and
/// ifnames NULL: every interface of the namespace but loopback, like the
/// seed's loop), inside `netns` (NULL: the caller's namespace). `features`:
/// legacy or kernel names separated by spaces or commas; NULL for the `seed`
/// preset (`rx tx sg tso ufo gso gro lro` on the host's interfaces, the first
/// six on guest backends vifD.N / tapD.N). With `dry_run` nothing changes and the
/// report says what would. Returns `OFFLOAD_RESULT_OK` with a new report in
/// `*report_out` even when some interfaces failed (each outcome has its own
/// code). Errors: `NULL_PARAMETER` (report_out, or a NULL name), `INVALID_UTF8`,
/// `INVALID_ARGUMENT` (empty feature list), `NETNS`, `OS_ERROR` (listing the
/// interfaces failed); `*errno_out` (may be NULL) gets the errno.
#[no_mangle]
pub extern "C" fn offload_disable(
    netns: *const c_char,
    ifnames: *const *const c_char,
    count: usize,
    features: *const c_char,
    dry_run: bool,
    report_out: *mut *mut offload_disable_report,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(report_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let names = ffi::ifname_array_arg(ifnames, count)?;
            let features = match ffi::opt_str_arg(features)? {
                None => Features::default(),
                Some(list) => Features::named(
                    list.split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
                .map_err(|e| of_ethtool(&e))?,
            };
            let report = disable::run(Disable {
                netns: netns.map(str::to_string),
                selection: selection(names),
                features,
                dry_run,
                save: None,
                stop: None,
            })
            .map_err(|e| of_ethtool(&e))?;
            let strings = report
                .interfaces
                .iter()
                .map(|o| {
                    [
                        c_string(&o.ifname.to_string()),
                        c_string(o.status.as_str()),
                        c_string(o.error.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            out.write(ffi::into_handle::<offload_disable_report>(DisableReport {
                report,
                strings,
            }));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many interfaces the report covers (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_disable_report_count(report: *const offload_disable_report) -> usize {
    panic::guard(|| ffi::handle_ref(report).map_or(0, |r| r.report.interfaces.len()))
}

/// Outcome number `index` into `*out`. Errors: `NULL_PARAMETER`,
/// `INVALID_ARGUMENT` (index out of range), `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_disable_report_get(
    report: *const offload_disable_report,
    index: usize,
    out: *mut offload_disable_outcome,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let r = ffi::handle_ref(report)?;
        let o = r
            .report
            .interfaces
            .get(index)
            .ok_or(offload_result::InvalidArgument)?;
        let [ifname, status, message] = &r.strings[index];
        let failure = o.cause.as_ref().map(of_ethtool).unwrap_or(Failure {
            result: if o.error.is_some() {
                offload_result::OsError
            } else {
                offload_result::Ok
            },
            errno: 0,
        });
        out.write(offload_disable_outcome {
            ifname: ifname.as_ptr(),
            status: status.as_ptr(),
            result: failure.result,
            os_errno: failure.errno,
            changed: o.changed.len(),
            refused: o.refused.len(),
            message: message.as_ptr(),
        });
        Ok(())
    })
}

/// The report as `offloadctl disable --json` prints it (schema
/// `offload.disable/2`, with the feature names per interface) into `buf`;
/// buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_disable_report_json(
    report: *const offload_disable_report,
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

/// Frees a report from `offload_disable`. NULL is fine; must not be called twice.
#[no_mangle]
pub extern "C" fn offload_disable_report_free(report: *mut offload_disable_report) {
    panic::guard(|| ffi::free(report))
}
