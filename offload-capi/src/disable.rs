//! Switching offloads off on a selection of interfaces (the seed's `ethtool -K`
//! loop), one outcome per interface (offload-ethtool's `disable_one`).

use std::ffi::{c_char, c_int, CString};

use offload_ethtool::disable::{self, disable_one, Outcome};
use offload_ethtool::iface::{self, Kind};
use offload_ethtool::netns;

use crate::error::{of_ethtool, offload_result, Failure};
use crate::features::c_string;
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// The seed's eight features.
const SEED_FEATURES: &str = "rx tx sg tso ufo gso gro lro";

/// The interfaces named, or every interface of the namespace but loopback
/// when none is (run inside the namespace).
pub(crate) fn selection(names: Vec<String>) -> offload_ethtool::Result<Vec<String>> {
    if !names.is_empty() {
        return Ok(names);
    }
    Ok(iface::list()?
        .into_iter()
        .filter(|i| i.kind != Kind::Loopback)
        .map(|i| i.name)
        .collect())
}

/// The outcome of `offload_disable` on every interface (opaque). Free with
/// `offload_disable_report_free`.
pub struct offload_disable_report {
    tagged: Tagged<DisableReport>,
}

pub(crate) struct DisableReport {
    dry_run: bool,
    outcomes: Vec<(Outcome, [CString; 3])>,
}

impl_handle!(offload_disable_report, DisableReport);

/// What happened to one interface. Strings belong to the report handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_disable_outcome {
    /// The interface.
    pub ifname: *const c_char,
    /// "done", "partial" (some features stayed on), "failed" or "planned" (dry run).
    pub status: *const c_char,
    /// `OFFLOAD_RESULT_OK`, or why this interface failed (12xx).
    pub result: offload_result,
    /// The errno behind `result` (0 when none).
    pub os_errno: c_int,
    /// How many features were switched off (or would be, in a dry run).
    pub switched_off: usize,
    /// How many requested features stayed on (fixed or kept by the driver).
    pub stayed_on: usize,
    /// The error in one line, or "" when none.
    pub message: *const c_char,
}

/// Switches `features` off on `count` interfaces `ifnames` (count 0 and
/// ifnames NULL: every interface of the namespace but loopback, like the
/// seed's loop), inside `netns` (NULL: the caller's namespace). `features`:
/// legacy or kernel names separated by spaces or commas; NULL for the seed's
/// `rx tx sg tso ufo gso gro lro`. With `dry_run` nothing changes and the
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
            let names = ffi::str_array_arg(ifnames, count)?;
            let features = ffi::opt_str_arg(features)?.unwrap_or(SEED_FEATURES);
            let words: Vec<String> = features
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|f| !f.is_empty())
                .flat_map(|f| [f.to_string(), "off".to_string()])
                .collect();
            if words.is_empty() {
                return Err(offload_result::InvalidArgument.into());
            }
            let outcomes = netns::run_in(netns, move || {
                Ok(selection(names)?
                    .iter()
                    .map(|n| disable_one(n, &words, dry_run))
                    .collect::<Vec<_>>())
            })
            .map_err(|e| of_ethtool(&e))?;
            let outcomes = outcomes
                .into_iter()
                .map(|o| {
                    let strings = [
                        c_string(&o.ifname),
                        c_string(o.result),
                        c_string(o.error.as_deref().unwrap_or("")),
                    ];
                    (o, strings)
                })
                .collect();
            out.write(ffi::into_handle::<offload_disable_report>(DisableReport {
                dry_run,
                outcomes,
            }));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many interfaces the report covers (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_disable_report_count(report: *const offload_disable_report) -> usize {
    panic::guard(|| ffi::handle_ref(report).map_or(0, |r| r.outcomes.len()))
}

/// Outcome number `index` into `*out`. Errors: `NULL_PARAMETER`,
/// `INVALID_ARGUMENT` (index out of range), `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_disable_report_get(
    report: *const offload_disable_report,
    index: usize,
    out: *mut offload_disable_outcome,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), offload_result> {
            let out = Out::new(out)?;
            let r = ffi::handle_ref(report)?;
            let (o, [ifname, status, message]) = r
                .outcomes
                .get(index)
                .ok_or(offload_result::InvalidArgument)?;
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
                switched_off: o.switched_off.len(),
                stayed_on: o.stayed_on.len(),
                message: message.as_ptr(),
            });
            Ok(())
        };
        run().err().unwrap_or(offload_result::Ok)
    })
}

/// The report as `offloadctl disable --json` prints it (schema
/// `offload.disable/1`, with the feature names per interface) into `buf`;
/// buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_disable_report_json(
    report: *const offload_disable_report,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), offload_result> {
            let r = ffi::handle_ref(report)?;
            let doc = disable::report_json(r.dry_run, r.outcomes.iter().map(|(o, _)| o));
            ffi::write_text(&doc.to_string(), buf, len, len_out)
        };
        run().err().unwrap_or(offload_result::Ok)
    })
}

/// Frees a report from `offload_disable`. NULL is fine; must not be called twice.
#[no_mangle]
pub extern "C" fn offload_disable_report_free(report: *mut offload_disable_report) {
    panic::guard(|| ffi::free(report))
}
