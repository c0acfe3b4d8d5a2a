//! Offload features of one interface: read them (handle `offload_features`),
//! print them as `ethtool -k` does, and change them as `ethtool -K` does
//! (handle `offload_changes`), optionally inside a network namespace.

use std::ffi::{c_char, c_int, CString};

use offload_core::features::ParseError;
use offload_core::features::{legacy_by_name, legacy_group_of, LEGACY};
use offload_ethtool::features::{Change, ChangeReport, Ethtool, FeatureState, Request};
use offload_ethtool::{netns, IfName};

use crate::error::{of_ethtool, offload_result, Failure};
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// A C string from text that cannot hold a NUL (kernel and legacy names).
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "")).unwrap_or_default()
}

/// The features of one interface as read at one moment (opaque). Immutable:
/// may be read from several threads at once. Free with `offload_features_free`.
pub struct offload_features {
    tagged: Tagged<Features>,
}

pub(crate) struct Features {
    state: FeatureState,
    /// Named features: (bit, name), in bit order.
    named: Vec<(usize, CString)>,
    /// LEGACY's short and long names, in LEGACY order.
    legacy: Vec<(CString, CString)>,
}

impl_handle!(offload_features, Features);

impl Features {
    fn new(state: FeatureState) -> Features {
        let named = state
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.is_empty())
            .map(|(i, n)| (i, c_string(n)))
            .collect();
        let legacy = LEGACY
            .iter()
            .map(|l| (c_string(l.short_name), c_string(l.long_name)))
            .collect();
        Features {
            state,
            named,
            legacy,
        }
    }

    fn feature(&self, k: usize) -> offload_feature {
        let (bit, name) = &self.named[k];
        let group = legacy_group_of(&self.state.names[*bit])
            .and_then(|g| LEGACY.iter().position(|l| l.flag == g.flag))
            .map_or(std::ptr::null(), |at| self.legacy[at].0.as_ptr());
        offload_feature {
            name: name.as_ptr(),
            legacy_group: group,
            active: self.state.is_active(*bit),
            requested: self.state.is_requested(*bit),
            fixed: self.state.is_fixed(*bit),
        }
    }
}

/// One kernel feature (`tx-checksum-ipv4`, ...). The strings belong to the
/// `offload_features` handle and live until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_feature {
    /// The kernel feature name.
    pub name: *const c_char,
    /// The short name of the legacy group it belongs to (`tx`, `sg`, ...), or NULL.
    pub legacy_group: *const c_char,
    /// In effect.
    pub active: bool,
    /// Requested (wanted) on.
    pub requested: bool,
    /// Never changeable (`[fixed]` in `ethtool -k`).
    pub fixed: bool,
}

/// One legacy group (`ethtool -k`'s top-level lines: `tx-checksumming`, ...).
/// The strings belong to the `offload_features` handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_legacy_feature {
    /// The `ethtool -K` short name (`tx`).
    pub short_name: *const c_char,
    /// The name `ethtool -k` prints (`tx-checksumming`).
    pub long_name: *const c_char,
    /// How many kernel features of this interface the group covers (0: the
    /// kernel has none, e.g. `ufo` since Linux 4.14).
    pub members: usize,
    /// On as `ethtool -k` prints the group line: at least one member active.
    pub active: bool,
    /// Every member is fixed (true when there is no member).
    pub fixed: bool,
}

/// Runs `f` on the interface inside `netns` (None: the caller's namespace).
fn in_netns<T: Send + 'static>(
    netns: Option<&str>,
    f: impl FnOnce() -> offload_ethtool::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    netns::run_in(netns, f).map_err(|e| of_ethtool(&e))
}

fn read_state(netns: Option<&str>, ifname: IfName) -> Result<FeatureState, Failure> {
    in_netns(netns, move || FeatureState::read(&ifname))
}

/// Reads every offload feature of `ifname` (inside network namespace `netns`:
/// a name under /run/netns or a path; NULL for the caller's namespace).
/// Returns `OFFLOAD_RESULT_OK` and stores a new handle in `*features_out`
/// (free it with `offload_features_free`). Errors: `NULL_PARAMETER` (ifname or
/// features_out NULL), `INVALID_UTF8`, `INVALID_IFNAME`, `NO_SUCH_INTERFACE`,
/// `NETNS`, `NOT_SUPPORTED` (kernel without ETHTOOL_GFEATURES), `OS_ERROR`;
/// `*errno_out` (may be NULL) gets the errno.
#[no_mangle]
pub extern "C" fn offload_features_read(
    netns: *const c_char,
    ifname: *const c_char,
    features_out: *mut *mut offload_features,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(features_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let ifname = ffi::ifname_arg(ifname)?;
            let state = read_state(netns, ifname)?;
            out.write(ffi::into_handle::<offload_features>(Features::new(state)));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many named features the handle holds (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_features_count(features: *const offload_features) -> usize {
    panic::guard(|| ffi::handle_ref(features).map_or(0, |f| f.named.len()))
}

/// Feature number `index` (0 .. count-1, kernel bit order) into `*out`.
/// Errors: `NULL_PARAMETER`, `INVALID_ARGUMENT` (index out of range),
/// `INVALID_HANDLE` (debug builds: a freed handle).
#[no_mangle]
pub extern "C" fn offload_features_get(
    features: *const offload_features,
    index: usize,
    out: *mut offload_feature,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let f = ffi::handle_ref(features)?;
        if index >= f.named.len() {
            return Err(offload_result::InvalidArgument);
        }
        out.write(f.feature(index));
        Ok(())
    })
}

/// The feature with kernel name `name` (`tx-checksum-ip-generic`) into `*out`.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_FEATURE`, `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_features_find(
    features: *const offload_features,
    name: *const c_char,
    out: *mut offload_feature,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let f = ffi::handle_ref(features)?;
        let name = ffi::str_arg(name)?;
        let k = f
            .named
            .iter()
            .position(|(bit, _)| f.state.names[*bit] == name)
            .ok_or(offload_result::UnknownFeature)?;
        out.write(f.feature(k));
        Ok(())
    })
}

/// The legacy group named `name`, short (`tso`) or long
/// (`tcp-segmentation-offload`), as `ethtool -k` shows it, into `*out`.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_FEATURE`, `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_features_legacy(
    features: *const offload_features,
    name: *const c_char,
    out: *mut offload_legacy_feature,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let f = ffi::handle_ref(features)?;
        let group = legacy_by_name(ffi::str_arg(name)?).ok_or(offload_result::UnknownFeature)?;
        let at = LEGACY
            .iter()
            .position(|l| l.flag == group.flag)
            .ok_or(offload_result::UnknownFeature)?;
        let members: Vec<usize> = f
            .named
            .iter()
            .map(|(bit, _)| *bit)
            .filter(|&bit| {
                legacy_group_of(&f.state.names[bit]).is_some_and(|g| g.flag == group.flag)
            })
            .collect();
        out.write(offload_legacy_feature {
            short_name: f.legacy[at].0.as_ptr(),
            long_name: f.legacy[at].1.as_ptr(),
            members: members.len(),
            active: members.iter().any(|&bit| f.state.is_active(bit)),
            fixed: members.iter().all(|&bit| f.state.is_fixed(bit)),
        });
        Ok(())
    })
}

/// The text `ethtool -k IFNAME` prints (ethtool 6.1), byte for byte, into
/// `buf` (see the buffer rule: `INSUFFICIENT_SIZE` gives the needed length in
/// `*len_out`). Errors: `NULL_PARAMETER`, `INSUFFICIENT_SIZE`, `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_features_render(
    features: *const offload_features,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard_result(|| {
        let f = ffi::handle_ref(features)?;
        ffi::write_text(&f.state.render_ethtool_k(), buf, len, len_out)
    })
}

/// The handle as JSON, the same text `offload_features_json` gives. Buffer
/// rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_features_to_json(
    features: *const offload_features,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard_result(|| {
        let f = ffi::handle_ref(features)?;
        ffi::write_text(&features_json_text(&f.state), buf, len, len_out)
    })
}

/// Frees a handle from `offload_features_read`. NULL is fine; must not be
/// called twice (debug builds ignore a second call where they can tell).
#[no_mangle]
pub extern "C" fn offload_features_free(features: *mut offload_features) {
    panic::guard(|| ffi::free(features))
}

fn features_json_text(state: &FeatureState) -> String {
    serde_json::to_string(&state.json()).unwrap_or_default()
}

/// The features of `ifname` as one interface entry of `offloadctl show
/// --json`: `{"ifname": "...", "features": [{"name": ..., "active": ...,
/// "requested": ..., "fixed": ...}, ...]}`, into `buf` (`len` bytes,
/// NUL-terminated; `*len_out` = text length without the NUL). `netns` NULL =
/// the caller's namespace. When `buf` is NULL or too small: nothing written to
/// `buf`, `*len_out` = needed length, `OFFLOAD_RESULT_INSUFFICIENT_SIZE` (call
/// again with `*len_out + 1` bytes; the interface is read again). Other errors
/// as `offload_features_read`.
#[no_mangle]
pub extern "C" fn offload_features_json(
    netns: *const c_char,
    ifname: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            Out::new(len_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let state = read_state(netns, ffi::ifname_arg(ifname)?)?;
            ffi::write_text(&features_json_text(&state), buf, len, len_out)?;
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// What one `ethtool -K`-style change did (opaque). Free with `offload_changes_free`.
pub struct offload_changes {
    tagged: Tagged<Changes>,
}

pub(crate) struct Changes {
    report: ChangeReport,
    changes: Vec<(CString, Change)>,
}

impl_handle!(offload_changes, Changes);

/// One line of ethtool's "Actual changes:": a feature that changed or did not
/// reach its requested value. `feature` belongs to the `offload_changes` handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_change {
    /// The kernel feature name.
    pub feature: *const c_char,
    /// Its state now.
    pub active: bool,
    /// Whether the request named it (else it changed as a side effect).
    pub requested: bool,
    /// Whether it ended up other than requested (fixed, or kept by a dependency).
    pub refused: bool,
}

/// Parses `settings` for `state`: ethtool -K words, with the codes of bad input.
/// A fixed feature named by its kernel name with a value other than its
/// current one is refused before anything changes.
fn parse_settings(state: &FeatureState, settings: &str) -> Result<Request, offload_result> {
    let words: Vec<&str> = settings.split_whitespace().collect();
    if words.is_empty() {
        return Err(offload_result::InvalidArgument);
    }
    let request = Request::parse(state, &words).map_err(|e| match e {
        ParseError::UnknownFeature(_) => offload_result::UnknownFeature,
        _ => offload_result::InvalidArgument,
    })?;
    for pair in words.chunks(2) {
        if legacy_by_name(pair[0]).is_some() {
            continue;
        }
        if let Some(i) = state.index_of(pair[0]) {
            if state.is_fixed(i) && state.is_active(i) != (pair[1] == "on") {
                return Err(offload_result::FixedFeature);
            }
        }
    }
    Ok(request)
}

fn apply_settings(
    netns: Option<&str>,
    ifname: IfName,
    settings: &str,
) -> Result<ChangeReport, Failure> {
    let settings = settings.to_string();
    // One socket, one read, one change.
    let outcome = in_netns(netns, move || {
        let ethtool = Ethtool::open()?;
        let state = ethtool.read(&ifname)?;
        Ok(match parse_settings(&state, &settings) {
            Ok(request) => Ok(ethtool.apply(state, request)?),
            Err(code) => Err(code),
        })
    })?;
    outcome.map_err(Failure::from)
}

/// Changes features of `ifname` as `ethtool -K IFNAME <settings>` does.
/// `settings` holds ethtool -K words: legacy names (`tx`, `sg`, `tso`, ... or
/// long forms) and kernel names, each followed by `on` or `off` ("tx off sg
/// off"). Everything is checked before anything changes. Returns
/// `OFFLOAD_RESULT_OK` and a new report handle in `*changes_out` (free with
/// `offload_changes_free`). Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `INVALID_IFNAME`, `UNKNOWN_FEATURE`, `INVALID_ARGUMENT` (empty list, value
/// missing or not on/off), `FIXED_FEATURE` (a fixed feature named by kernel
/// name with another value), `NO_SUCH_INTERFACE`, `PERMISSION_DENIED`,
/// `NETNS`, `OS_ERROR`; `*errno_out` (may be NULL) gets the errno.
#[no_mangle]
pub extern "C" fn offload_features_apply(
    netns: *const c_char,
    ifname: *const c_char,
    settings: *const c_char,
    changes_out: *mut *mut offload_changes,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(changes_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let ifname = ffi::ifname_arg(ifname)?;
            let settings = ffi::str_arg(settings)?;
            let report = apply_settings(netns, ifname, settings)?;
            let changes = report
                .changes()
                .into_iter()
                .map(|c| (c_string(&c.feature), c))
                .collect();
            out.write(ffi::into_handle::<offload_changes>(Changes {
                report,
                changes,
            }));
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}

/// How many lines the change report has (0 for NULL).
#[no_mangle]
pub extern "C" fn offload_changes_count(changes: *const offload_changes) -> usize {
    panic::guard(|| ffi::handle_ref(changes).map_or(0, |c| c.changes.len()))
}

/// Change number `index` into `*out`. Errors: `NULL_PARAMETER`,
/// `INVALID_ARGUMENT` (index out of range), `INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn offload_changes_get(
    changes: *const offload_changes,
    index: usize,
    out: *mut offload_change,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let c = ffi::handle_ref(changes)?;
        let (name, change) = c
            .changes
            .get(index)
            .ok_or(offload_result::InvalidArgument)?;
        out.write(offload_change {
            feature: name.as_ptr(),
            active: change.active,
            requested: change.requested,
            refused: change.refused,
        });
        Ok(())
    })
}

/// Whether no named feature reached its value: ethtool's "Could not change
/// any device features" (false for NULL).
#[no_mangle]
pub extern "C" fn offload_changes_nothing_changed(changes: *const offload_changes) -> bool {
    panic::guard(|| ffi::handle_ref(changes).is_ok_and(|c| c.report.nothing_changed()))
}

/// ethtool 6.1's "Actual changes:" report (empty when everything went as
/// asked) into `buf`; buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_changes_render(
    changes: *const offload_changes,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard_result(|| {
        let c = ffi::handle_ref(changes)?;
        ffi::write_text(&c.report.render_ethtool(), buf, len, len_out)
    })
}

/// Frees a handle from `offload_features_apply`. NULL is fine; must not be
/// called twice.
#[no_mangle]
pub extern "C" fn offload_changes_free(changes: *mut offload_changes) {
    panic::guard(|| ffi::free(changes))
}

fn changes_json_text(report: &ChangeReport) -> String {
    serde_json::to_string(&report.json()).unwrap_or_default()
}

/// `offload_features_apply` with a JSON report: `{"ifname": "...", "status":
/// "changed"|"unchanged"|"partial"|"refused", "changes":
/// [{"feature": ..., "active": ..., "requested": ..., "refused": ...}, ...]}`
/// into `buf` (buffer rule as `offload_features_json`). The change is made
/// once: on `INSUFFICIENT_SIZE` the features HAVE been changed and `*len_out`
/// is the length of the report; call `offload_features_json` to see the state,
/// or pass a big enough buffer (4096 bytes holds any report of today's kernels).
#[no_mangle]
pub extern "C" fn offload_features_apply_json(
    netns: *const c_char,
    ifname: *const c_char,
    settings: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            Out::new(len_out)?;
            let netns = ffi::opt_str_arg(netns)?;
            let ifname = ffi::ifname_arg(ifname)?;
            let settings = ffi::str_arg(settings)?;
            let report = apply_settings(netns, ifname, settings)?;
            ffi::write_text(&changes_json_text(&report), buf, len, len_out)?;
            Ok(())
        };
        ffi::finish(run(), errno_out)
    })
}
