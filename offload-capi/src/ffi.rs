//! The only module with `unsafe`: turning C pointers into Rust references and
//! back. Every export goes through these helpers, so the rules (NULL checks,
//! UTF-8 checks, outputs written only on success, handle ownership) live here once.

use std::ffi::{c_char, c_int, CStr};
use std::ptr::NonNull;

use offload_ethtool::IfName;

use crate::error::{offload_result, Failure};

/// A non-NULL C string as `&str`: NULL → `NULL_PARAMETER`, bad UTF-8 → `INVALID_UTF8`.
pub(crate) fn str_arg<'a>(p: *const c_char) -> Result<&'a str, offload_result> {
    if p.is_null() {
        return Err(offload_result::NullParameter);
    }
    // SAFETY: p is non-NULL and the C caller promises a NUL-terminated string
    // that outlives the call (documented on every export taking `const char *`).
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes.to_str().map_err(|_| offload_result::InvalidUtf8)
}

/// An optional C string (NULL → `None`).
pub(crate) fn opt_str_arg<'a>(p: *const c_char) -> Result<Option<&'a str>, offload_result> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p).map(Some)
    }
}

/// A caller buffer of `len` elements. NULL is accepted only with `len == 0`.
pub(crate) fn slice_arg<'a, T>(p: *const T, len: usize) -> Result<&'a [T], offload_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(offload_result::NullParameter);
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(offload_result::InvalidArgument);
    }
    // SAFETY: p is non-NULL, and the caller promises `len` initialised elements
    // readable for the duration of the call (documented on each export); the
    // size was checked against isize::MAX above.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An interface name: raw bytes (not necessarily UTF-8), checked once into
/// an `IfName`. NULL → `NULL_PARAMETER`, a bad name → `INVALID_IFNAME`.
pub(crate) fn ifname_arg(p: *const c_char) -> Result<IfName, offload_result> {
    if p.is_null() {
        return Err(offload_result::NullParameter);
    }
    // SAFETY: as in `str_arg`: non-NULL, NUL-terminated, outlives the call.
    let bytes = unsafe { CStr::from_ptr(p) };
    IfName::new(bytes.to_bytes()).map_err(|_| offload_result::InvalidIfname)
}

/// An array of interface names (`count` entries), each checked as [`ifname_arg`].
pub(crate) fn ifname_array_arg(
    p: *const *const c_char,
    count: usize,
) -> Result<Vec<IfName>, offload_result> {
    slice_arg(p, count)?
        .iter()
        .map(|&s| ifname_arg(s))
        .collect()
}

/// An output pointer checked for NULL up front and written once, on success.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// NULL → `NULL_PARAMETER`.
    pub(crate) fn new(p: *mut T) -> Result<Out<T>, offload_result> {
        NonNull::new(p)
            .map(Out)
            .ok_or(offload_result::NullParameter)
    }

    /// Stores `value` (the old contents are not dropped: they may be garbage).
    pub(crate) fn write(self, value: T) {
        // SAFETY: the pointer is non-NULL and the caller promises it points to
        // writable, suitably aligned memory for one T.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A caller-owned output array of `len` elements, written only on success.
pub(crate) struct OutArray<T> {
    first: NonNull<T>,
    len: usize,
}

impl<T> OutArray<T> {
    /// NULL with `len > 0` → `NULL_PARAMETER`.
    pub(crate) fn new(p: *mut T, len: usize) -> Result<OutArray<T>, offload_result> {
        if len == 0 {
            return Ok(OutArray {
                first: NonNull::dangling(),
                len,
            });
        }
        let first = NonNull::new(p).ok_or(offload_result::NullParameter)?;
        Ok(OutArray { first, len })
    }

    /// Stores element `i` (ignored past the end).
    pub(crate) fn write(&mut self, i: usize, value: T) {
        if i < self.len {
            // SAFETY: i < len and the caller promises `len` writable, aligned
            // elements at `first`.
            unsafe { self.first.as_ptr().add(i).write(value) }
        }
    }
}

/// Stores an errno when the caller asked for it (`errno_out` may be NULL).
pub(crate) fn set_errno(p: *mut c_int, errno: i32) {
    if let Some(out) = NonNull::new(p) {
        // SAFETY: non-NULL, and the caller promises a writable int.
        unsafe { out.as_ptr().write(errno) }
    }
}

/// The buffer rule of every text output: on success write the UTF-8 text and a
/// NUL and set `*len_out` to the text length; when `buf` is NULL or `len` is
/// below length + 1, write nothing into `buf`, set `*len_out` to the length
/// and return `INSUFFICIENT_SIZE`.
pub(crate) fn write_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
) -> Result<(), offload_result> {
    let len_out = Out::new(len_out)?;
    let needed = text.len();
    if buf.is_null() || len <= needed {
        len_out.write(needed);
        return Err(offload_result::InsufficientSize);
    }
    // SAFETY: buf is non-NULL with room for `len > needed` bytes (caller's
    // promise), and the text cannot overlap a buffer the caller owns.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
        buf.add(needed).write(0);
    }
    len_out.write(needed);
    Ok(())
}

/// Returns the code of a finished call and reports its errno (0 on success).
pub(crate) fn finish(result: Result<(), Failure>, errno_out: *mut c_int) -> offload_result {
    match result {
        Ok(()) => {
            set_errno(errno_out, 0);
            offload_result::Ok
        }
        Err(f) => {
            set_errno(errno_out, f.errno);
            f.result
        }
    }
}

/// In debug builds every handle carries this tag after its contents; `_free`
/// clears it, so a handle used after free (or a foreign pointer) is refused with
/// `INVALID_HANDLE` where the memory was not reused. Release builds skip the check
/// (using a freed handle is undefined behaviour, as documented).
const LIVE: u64 = 0x6f66_666c_6f61_6421;

/// A handle's contents and its liveness tag; the tag sits after the contents so
/// the allocator's free-list words (at the start of a freed block) leave it alone.
#[repr(C)]
pub(crate) struct Tagged<T> {
    value: T,
    tag: u64,
}

/// An opaque C handle type around a Rust value.
pub(crate) trait Handle: Sized {
    /// What the handle holds.
    type Value;
    /// Wraps a value.
    fn wrap(tagged: Tagged<Self::Value>) -> Self;
    /// The tagged contents.
    fn tagged(&self) -> &Tagged<Self::Value>;
    /// The tagged contents, mutably (for `_free`).
    fn tagged_mut(&mut self) -> &mut Tagged<Self::Value>;
}

/// Moves a value onto the heap and hands its handle to C (freed by [`free`]).
pub(crate) fn into_handle<H: Handle>(value: H::Value) -> *mut H {
    Box::into_raw(Box::new(H::wrap(Tagged { value, tag: LIVE })))
}

/// Borrows a handle's value for the duration of a call.
pub(crate) fn handle_ref<'a, H: Handle + 'a>(p: *const H) -> Result<&'a H::Value, offload_result> {
    if p.is_null() {
        return Err(offload_result::NullParameter);
    }
    // SAFETY: non-NULL, and the caller promises a live handle from the matching
    // constructor (freed handles are UB, caught below in debug builds only).
    let handle = unsafe { &*p };
    if cfg!(debug_assertions) && handle.tagged().tag != LIVE {
        return Err(offload_result::InvalidHandle);
    }
    Ok(&handle.tagged().value)
}

/// Frees a handle; NULL is fine. A second free is undefined behaviour (in debug
/// builds it is detected and ignored where the memory was not reused).
pub(crate) fn free<H: Handle>(p: *mut H) {
    if p.is_null() {
        return;
    }
    if cfg!(debug_assertions) {
        // SAFETY: non-NULL and, per the contract, a handle from into_handle;
        // reading the tag of a freed one is the documented debug-only check.
        let handle = unsafe { &mut *p };
        if handle.tagged().tag != LIVE {
            return;
        }
        handle.tagged_mut().tag = 0;
    }
    // SAFETY: p came from Box::into_raw in into_handle and is freed once.
    drop(unsafe { Box::from_raw(p) });
}

/// Implements [`Handle`] for an opaque struct `$name { tagged: Tagged<$value> }`.
macro_rules! impl_handle {
    ($name:ident, $value:ty) => {
        impl $crate::ffi::Handle for $name {
            type Value = $value;
            fn wrap(tagged: $crate::ffi::Tagged<$value>) -> Self {
                $name { tagged }
            }
            fn tagged(&self) -> &$crate::ffi::Tagged<$value> {
                &self.tagged
            }
            fn tagged_mut(&mut self) -> &mut $crate::ffi::Tagged<$value> {
                &mut self.tagged
            }
        }
    };
}
pub(crate) use impl_handle;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_only_when_it_fits() {
        let mut buf = [0x55 as c_char; 4];
        let mut n = 0usize;
        assert_eq!(
            write_text("abcd", buf.as_mut_ptr(), buf.len(), &mut n),
            Err(offload_result::InsufficientSize)
        );
        assert_eq!((n, buf[0]), (4, 0x55));
        assert_eq!(
            write_text("abc", buf.as_mut_ptr(), buf.len(), &mut n),
            Ok(())
        );
        assert_eq!((n, buf[3]), (3, 0));
        assert_eq!(
            write_text("x", buf.as_mut_ptr(), 2, std::ptr::null_mut()),
            Err(offload_result::NullParameter)
        );
    }

    #[test]
    fn null_and_bad_utf8_strings_have_their_codes() {
        assert_eq!(
            str_arg(std::ptr::null()),
            Err(offload_result::NullParameter)
        );
        let bad = b"e\xfftf\0";
        assert_eq!(
            str_arg(bad.as_ptr().cast()),
            Err(offload_result::InvalidUtf8)
        );
        assert_eq!(opt_str_arg(std::ptr::null()), Ok(None));
        assert_eq!(slice_arg::<u8>(std::ptr::null(), 0), Ok(&[][..]));
        assert_eq!(
            slice_arg::<u8>(std::ptr::null(), 1),
            Err(offload_result::NullParameter)
        );
    }
}
