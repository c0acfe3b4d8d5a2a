//! `offloadctl doctor` for C: run it (or diagnose recorded evidence), read
//! the report as JSON (schema `offload.doctor/1`) and its exit code, compare
//! two reports. offload-diagnose's doctor owns every rule; this only translates.

use std::ffi::c_char;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_diagnose::doctor::knowledge::InputError;
use offload_diagnose::doctor::{self, compare, DoctorConfig, Evidence, Knowledge, Report};

use crate::error::{offload_result, Failure};
use crate::ffi::{self, impl_handle, Out, Tagged};
use crate::panic;

/// A doctor report; free with `offload_doctor_report_free`.
pub struct offload_doctor_report {
    tagged: Tagged<Report>,
}

impl_handle!(offload_doctor_report, Report);

fn unusable(_: InputError) -> Failure {
    offload_result::DoctorInput.into()
}

/// The built-in knowledge, plus the file `path` when not NULL.
fn knowledge(path: *const c_char) -> Result<Knowledge, Failure> {
    let mut k = Knowledge::builtin();
    if let Some(path) = ffi::opt_str_arg(path)? {
        k.extend_from_file(Path::new(path)).map_err(unusable)?;
    }
    Ok(k)
}

/// Runs the doctor on this host for `seconds`: in the `count` network
/// namespaces `netns` (count 0 and netns NULL: the caller's namespace), with
/// the built-in knowledge plus the file `knowledge_path` (NULL: none). Blocks
/// for the window. Returns `OFFLOAD_RESULT_OK` with a new report in
/// `*report_out` (what could not be read is in the report, and its exit code
/// says 2 when nothing could be). Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `INVALID_ARGUMENT` (seconds not a positive number), `DOCTOR_INPUT`
/// (an unusable knowledge file).
#[no_mangle]
pub extern "C" fn offload_doctor_run(
    netns: *const *const c_char,
    count: usize,
    seconds: f64,
    knowledge_path: *const c_char,
    report_out: *mut *mut offload_doctor_report,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(report_out)?;
            let window = offload_diagnose::capture::duration_from_secs(seconds)
                .ok_or(offload_result::InvalidArgument)?;
            let names = ffi::slice_arg(netns, count)?
                .iter()
                .map(|&p| ffi::str_arg(p).map(|s| Some(s.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            let knowledge = knowledge(knowledge_path)?;
            let report = doctor::run(
                &DoctorConfig {
                    netns: names,
                    seconds: window.as_secs_f64(),
                    interrupt: Arc::new(AtomicBool::new(false)),
                    window_started: None,
                },
                &knowledge,
            );
            out.write(ffi::into_handle::<offload_doctor_report>(report));
            Ok(())
        };
        ffi::finish(run(), std::ptr::null_mut())
    })
}

/// Diagnoses recorded evidence: `evidence_json` is the `evidence` of a
/// `--json` report, or a whole report. Knowledge as `offload_doctor_run`.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `DOCTOR_INPUT` (not evidence of
/// schema `offload.doctor.evidence/1`, or an unusable knowledge file).
#[no_mangle]
pub extern "C" fn offload_doctor_evidence(
    evidence_json: *const c_char,
    knowledge_path: *const c_char,
    report_out: *mut *mut offload_doctor_report,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let out = Out::new(report_out)?;
            let evidence =
                Evidence::from_json(ffi::str_arg(evidence_json)?, "evidence").map_err(unusable)?;
            let report = Report::from_evidence(evidence, &knowledge(knowledge_path)?);
            out.write(ffi::into_handle::<offload_doctor_report>(report));
            Ok(())
        };
        ffi::finish(run(), std::ptr::null_mut())
    })
}

/// The report's exit code, as `offloadctl doctor` exits: 0 nothing wrong,
/// 1 a problem found, 2 could not diagnose; -1 for NULL or a dead handle.
#[no_mangle]
pub extern "C" fn offload_doctor_report_exit_code(report: *const offload_doctor_report) -> i32 {
    panic::guard(|| ffi::handle_ref(report).map_or(-1, Report::exit_code))
}

/// The report as `offloadctl doctor --json` prints it (schema
/// `offload.doctor/1`) into `buf`; buffer rule as `offload_features_render`.
#[no_mangle]
pub extern "C" fn offload_doctor_report_json(
    report: *const offload_doctor_report,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> offload_result {
    panic::guard_result(|| {
        let r = ffi::handle_ref(report)?;
        let text = serde_json::to_string_pretty(r).unwrap_or_default();
        ffi::write_text(&text, buf, len, len_out)
    })
}

/// Frees a report from `offload_doctor_run` or `offload_doctor_evidence`.
/// NULL is fine; must not be called twice.
#[no_mangle]
pub extern "C" fn offload_doctor_report_free(report: *mut offload_doctor_report) {
    panic::guard(|| ffi::free(report))
}

/// Compares two `--json` reports (did the change between them help?) as
/// `offloadctl doctor --compare` does: the comparison (schema
/// `offload.doctor.compare/1`) into `buf` (buffer rule as
/// `offload_features_render`) and its exit code into `*exit_code_out` (0
/// helped or nothing wrong, 1 problems remain or worse, 2 a report could not
/// diagnose). Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `DOCTOR_INPUT`
/// (not a report of schema `offload.doctor/1`), `INSUFFICIENT_SIZE`.
#[no_mangle]
pub extern "C" fn offload_doctor_compare_json(
    before_json: *const c_char,
    after_json: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    exit_code_out: *mut i32,
) -> offload_result {
    panic::guard(|| {
        let run = || -> Result<(), Failure> {
            let exit_out = Out::new(exit_code_out)?;
            let before =
                Report::from_json(ffi::str_arg(before_json)?, "before").map_err(unusable)?;
            let after = Report::from_json(ffi::str_arg(after_json)?, "after").map_err(unusable)?;
            let c = compare(&before, &after);
            let text = serde_json::to_string_pretty(&c).unwrap_or_default();
            ffi::write_text(&text, buf, len, len_out)?;
            exit_out.write(c.exit_code());
            Ok(())
        };
        ffi::finish(run(), std::ptr::null_mut())
    })
}
