//! The unsafe part of reading a capture file mapped into memory: the mapping,
//! populating and prefetching it, and the guard that turns a file cut short
//! under the mapping into an error instead of a crash.
//!
//! Reading a page of a mapping past the end of a file that shrank after it
//! was mapped raises SIGBUS. A library must not take over a process's signals,
//! so files are mapped only after the program has installed the guard
//! ([`install_truncation_guard`]; `offloadctl` does). The guard's handler
//! replaces the missing page with a page of zeros, notes it against the
//! mapping, and returns; the reader then reports the file as changed while it
//! was read. A SIGBUS outside our mappings goes to the previous disposition.

use std::cell::UnsafeCell;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many files may be mapped at once (threads checking files in parallel);
/// beyond this a file is read instead.
const SLOTS: usize = 16;

/// A mapped file's address range, for the handler.
struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    /// A page of it was past the end of the file.
    cut_short: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    cut_short: AtomicBool::new(false),
};

static MAPPED: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
/// Slots in use; registering and releasing take this, the handler does not.
static CLAIMS: Mutex<[bool; SLOTS]> = Mutex::new([false; SLOTS]);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);

/// The disposition SIGBUS had before the guard, given back for faults that
/// are not ours. Written once, before the handler is installed.
struct Previous(UnsafeCell<libc::sigaction>);
// SAFETY: written only by `install_truncation_guard` before the handler that
// reads it can run, under `INSTALL`; never written again.
unsafe impl Sync for Previous {}
static PREVIOUS: Previous = Previous(UnsafeCell::new(
    // SAFETY: sigaction is plain data; all zeros is SIG_DFL with no flags.
    unsafe { std::mem::zeroed() },
));
static INSTALL: Mutex<()> = Mutex::new(());

/// Lets capture files be mapped into memory (faster: no copy, and prefetching
/// overlaps reading with classifying) by installing the SIGBUS guard. For
/// programs that own their signals (`offloadctl`); libraries and bindings
/// leave it alone and read files with `pread(2)`. Idempotent.
pub fn install_truncation_guard() -> io::Result<()> {
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if INSTALLED.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE_SIZE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is valid; the handler has the SA_SIGINFO
    // signature; PREVIOUS is written before any SIGBUS can reach our handler
    // (sigaction stores the old action before the new one takes effect).
    let result = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, PREVIOUS.0.get())
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    INSTALLED.store(true, Ordering::Release);
    Ok(())
}

extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo_t for an SA_SIGINFO handler.
    let address = unsafe { (*info).si_addr() } as usize;
    for slot in &MAPPED {
        let (start, end) = (
            slot.start.load(Ordering::Acquire),
            slot.end.load(Ordering::Acquire),
        );
        if start <= address && address < end {
            let page = address & !(PAGE_SIZE.load(Ordering::Relaxed) - 1);
            // SAFETY: the page lies inside a mapping we own (registered in
            // MAPPED until it is unmapped); MAP_FIXED replaces just that page
            // with zeros. mmap is a plain system call, safe in a handler.
            let zeros = unsafe {
                libc::mmap(
                    page as *mut libc::c_void,
                    PAGE_SIZE.load(Ordering::Relaxed),
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeros != libc::MAP_FAILED {
                slot.cut_short.store(true, Ordering::Release);
                return;
            }
        }
    }
    // Not ours: the previous disposition takes the fault when it recurs.
    // SAFETY: PREVIOUS holds the action sigaction gave us; sigaction is
    // async-signal-safe.
    unsafe {
        libc::sigaction(libc::SIGBUS, PREVIOUS.0.get(), std::ptr::null_mut());
    }
}

/// A whole file mapped read-only, registered with the guard.
pub struct Mapping {
    start: NonNull<u8>,
    len: usize,
    slot: usize,
}

// SAFETY: the mapping is read-only memory owned by this value; reading it from
// several threads is sound (a page replaced by the guard reads as zeros).
unsafe impl Send for Mapping {}
// SAFETY: as above: shared references only read.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `file`; `None` when the guard is not
    /// installed, the file is empty, or mapping fails (the caller reads instead).
    pub fn new(file: &File, len: usize) -> Option<Mapping> {
        if len == 0 || !INSTALLED.load(Ordering::Acquire) {
            return None;
        }
        let slot = {
            let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
            let free = claims.iter().position(|used| !used)?;
            claims[free] = true;
            free
        };
        // SAFETY: a fresh read-only private mapping of an open file; the kernel
        // picks the address. Pages past the file's end are the guard's.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        let Some(start) =
            NonNull::new(address.cast::<u8>()).filter(|_| address != libc::MAP_FAILED)
        else {
            release(slot);
            return None;
        };
        let registered = &MAPPED[slot];
        registered.cut_short.store(false, Ordering::Release);
        registered
            .end
            .store(start.as_ptr() as usize + len, Ordering::Release);
        registered
            .start
            .store(start.as_ptr() as usize, Ordering::Release);
        Some(Mapping { start, len, slot })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `start..start + len` is our live read-only mapping.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }

    /// Faults in the pages of `start..end` ahead of use, in one system call
    /// (`MADV_POPULATE_READ`); a kernel without it faults them on first touch.
    pub fn populate(&self, start: usize, end: usize) {
        let end = end.min(self.len);
        let page = start & !(PAGE_SIZE.load(Ordering::Relaxed) - 1);
        if page >= end {
            return;
        }
        const MADV_POPULATE_READ: libc::c_int = 22;
        // SAFETY: the range lies inside our mapping; madvise does not change
        // its contents. Errors (an old kernel, a file cut short) are ignored:
        // the pages are then faulted on first touch, under the guard.
        unsafe {
            libc::madvise(
                self.start.as_ptr().add(page).cast(),
                end - page,
                MADV_POPULATE_READ,
            );
        }
    }

    /// Lets go of the pages of `start..end` (rounded down to pages) once read:
    /// they stay in the page cache, but no longer count against this process,
    /// so its memory stays flat however large the file (a page touched again
    /// is simply faulted back in).
    pub fn release(&self, start: usize, end: usize) {
        let mask = !(PAGE_SIZE.load(Ordering::Relaxed) - 1);
        let (first, last) = (start & mask, end.min(self.len) & mask);
        if first >= last {
            return;
        }
        // SAFETY: the range lies inside our private read-only mapping, which
        // was never written: dropping its pages loses nothing (they are read
        // again from the file on the next touch).
        unsafe {
            libc::madvise(
                self.start.as_ptr().add(first).cast(),
                last - first,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// Asks for the cache lines of `start..end` (clamped to the mapping) to be
    /// fetched into L2 ahead of use. One prefetch per line and nothing else:
    /// it runs a few lines at a time between packets, paced with the
    /// classifying, so fetching the next chunk overlaps working on this one.
    #[inline(always)]
    pub fn prefetch(&self, start: usize, end: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            let end = end.min(self.len);
            let mut line = start;
            while line < end {
                // SAFETY: a prefetch never faults and has no effect on memory;
                // `line < end <= len`, so the address is inside the mapping.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
                    _mm_prefetch::<_MM_HINT_T1>(self.start.as_ptr().add(line).cast());
                }
                line += 64;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (start, end);
    }

    /// A page was past the end of the file: it shrank while it was read, and
    /// the bytes read from that page were zeros, not the file's.
    pub fn cut_short(&self) -> bool {
        MAPPED[self.slot].cut_short.load(Ordering::Acquire)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let registered = &MAPPED[self.slot];
        registered.start.store(0, Ordering::Release);
        registered.end.store(0, Ordering::Release);
        // SAFETY: unmapping our own mapping, which no reference outlives
        // (`bytes` borrows `self`).
        unsafe {
            libc::munmap(self.start.as_ptr().cast(), self.len);
        }
        release(self.slot);
    }
}

fn release(slot: usize) {
    let mut claims = CLAIMS.lock().unwrap_or_else(|e| e.into_inner());
    claims[slot] = false;
}
