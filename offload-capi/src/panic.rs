//! The panic boundary: no unwind ever crosses into C. Each export runs its body
//! through [`guard`], which turns a panic into the export's "failed" value.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::offload_result;

/// The value an export returns when its body panicked.
pub(crate) trait OnPanic {
    /// `OFFLOAD_RESULT_PANIC`, NULL, 0 or false.
    fn on_panic() -> Self;
}

impl OnPanic for offload_result {
    fn on_panic() -> Self {
        offload_result::Panic
    }
}

impl OnPanic for *const c_char {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}

/// -1: "no answer" for calls that return a small non-negative number.
impl OnPanic for i32 {
    fn on_panic() -> Self {
        -1
    }
}

impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

/// Runs an export's body; a panic becomes [`OnPanic::on_panic`]. Handles are
/// immutable after construction, so state seen after a caught panic is whole.
pub(crate) fn guard<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| T::on_panic())
}

/// [`guard`] for exports whose body gives `Result<(), offload_result>`: `Ok`
/// is `OFFLOAD_RESULT_OK`, an error its own code, a panic `PANIC`.
pub(crate) fn guard_result(body: impl FnOnce() -> Result<(), offload_result>) -> offload_result {
    guard(|| body().err().unwrap_or(offload_result::Ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_panic_code() {
        let r: offload_result = guard(|| panic!("boom"));
        assert_eq!(r, offload_result::Panic);
        let p: *const c_char = guard(|| panic!("boom"));
        assert!(p.is_null());
        assert_eq!(guard(|| offload_result::Ok), offload_result::Ok);
    }
}
