//! Where `capture --write` saves packets: a new file (never through a symlink,
//! never over an existing file), a FIFO, or a device such as `/dev/stdout`.
//!
//! Every wait is bounded and interruptible: the file is opened non-blocking, so
//! a FIFO with no reader yet, or a reader that stopped reading, never blocks
//! the capture in open(2) or write(2). While waiting, the capture's interrupt
//! flag (Ctrl-C, SIGTERM) and its deadline (`--seconds`) are checked; once one
//! of them is up, a writer that made no progress for [`STALL_LIMIT`] gives up.
//!
//! Packets are counted as saved only once all of their bytes reached the file,
//! so a failed write (a full disk) says exactly how many the file holds.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sys;

/// Bytes gathered before a write(2): few system calls, bounded memory.
const BUFFER_LEN: usize = 1 << 20;

/// How long a stalled writer keeps waiting once the capture is asked to stop.
pub const STALL_LIMIT: Duration = Duration::from_secs(1);

/// How often a wait looks at the interrupt flag and the deadline.
const POLL_MS: i32 = 100;

/// When to stop waiting: the capture's interrupt flag and its deadline.
#[derive(Debug, Clone, Default)]
pub struct GiveUp {
    /// Set from a signal handler.
    pub interrupt: Arc<AtomicBool>,
    /// The end of `--seconds`.
    pub deadline: Option<Instant>,
}

impl GiveUp {
    fn asked(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// A save target opened non-blocking, with a write buffer that knows where
/// each packet ends.
pub struct SaveFile {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    /// Offsets in `buf` where the packets it holds end, oldest first.
    packet_ends: VecDeque<usize>,
    saved: u64,
    give_up: GiveUp,
}

/// Whether an error means the reader went away (`| head`): the end of the
/// capture, not a failure.
pub fn is_reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Whether `metadata` is that of what standard output writes to.
fn is_stdout(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|out| out.dev() == metadata.dev() && out.ino() == metadata.ino())
}

/// Whether `path` names what standard output writes to (`/dev/stdout`, or the
/// file the shell redirected it to): the summary must then go elsewhere.
pub fn is_standard_output(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| is_stdout(&m))
}

impl SaveFile {
    /// Creates `path` (refusing a symlink or an existing regular file), or opens
    /// an existing FIFO or device, waiting for a FIFO's reader as long as
    /// `give_up` allows.
    pub fn open(path: &Path, give_up: GiveUp) -> io::Result<SaveFile> {
        let file = loop {
            let created = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .mode(0o644)
                .open(path);
            match created {
                Ok(file) => break file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            // It exists: only a FIFO or a device may be written to.
            match OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
            {
                // Unless the shell made it for our stdout (`--write /dev/stdout > x`).
                Ok(file) if file.metadata().is_ok_and(|m| m.is_file() && !is_stdout(&m)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "the file exists; not overwriting it (remove it or choose another name)",
                    ))
                }
                Ok(file) => break file,
                // A FIFO that nobody has opened for reading yet.
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                    if give_up.asked() {
                        return Err(io::Error::new(
                            io::ErrorKind::Interrupted,
                            "no process opened the FIFO for reading",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(POLL_MS as u64));
                }
                Err(e) => return Err(e),
            }
        };
        Ok(SaveFile {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(BUFFER_LEN),
            packet_ends: VecDeque::new(),
            saved: 0,
            give_up,
        })
    }

    /// The path given to [`Self::open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks the end of one packet's bytes in what was written so far.
    pub fn end_packet(&mut self) {
        self.packet_ends.push_back(self.buf.len());
    }

    /// Packets whose bytes all reached the file.
    pub fn saved(&self) -> u64 {
        self.saved
    }

    /// Writes out the buffer; on error the unwritten rest stays buffered and
    /// [`Self::saved`] counts what the file holds.
    fn write_out(&mut self) -> io::Result<()> {
        let mut written = 0;
        let mut progress = Instant::now();
        let result = loop {
            if written == self.buf.len() {
                break Ok(());
            }
            match (&self.file).write(&self.buf[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    progress = Instant::now();
                    while self.packet_ends.front().is_some_and(|&end| end <= written) {
                        self.packet_ends.pop_front();
                        self.saved += 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.give_up.asked() && progress.elapsed() >= STALL_LIMIT {
                        break Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the reader stopped reading",
                        ));
                    }
                    sys::wait_writable(self.file.as_fd(), POLL_MS)?;
                }
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        for end in &mut self.packet_ends {
            *end -= written;
        }
        result
    }
}

impl Write for SaveFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > BUFFER_LEN && !self.buf.is_empty() {
            self.write_out()?;
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()
    }
}
