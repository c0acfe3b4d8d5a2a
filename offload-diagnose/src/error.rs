//! The crate's one error type. Each variant names the object involved (file,
//! interface) and keeps the OS error, so callers can print one clear line and
//! still reach `raw_os_error()`.

use std::io;
use std::path::PathBuf;

use crate::pcap::Problem;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading captures or capturing.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A capture file could not be opened or read.
    CaptureFileIo {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A capture file is damaged or not a capture file; `records` packets were
    /// read before the damage at byte `offset`.
    CaptureFileDamaged {
        /// The file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// Packets read before it.
        records: u64,
        /// What is wrong.
        problem: Problem,
    },
    /// No interface of that name exists (in the namespace looked at).
    NoSuchInterface {
        /// The name asked for.
        ifname: String,
    },
    /// Nothing to capture on (`--all` found no interface that is up).
    NoInterfaces,
    /// More interfaces than one capture handles.
    TooManyInterfaces {
        /// How many were asked for.
        count: usize,
        /// The most one capture takes.
        limit: usize,
    },
    /// Opening or reading a capture socket failed.
    Capture {
        /// The interface.
        ifname: String,
        /// The OS error (its payload names the failed call).
        source: io::Error,
    },
    /// A capture thread panicked; its packets are lost.
    CaptureThreadPanicked,
    /// The interface layer refused (a bad name, a namespace that cannot be entered).
    Interface(offload_ethtool::Error),
}

impl From<offload_ethtool::Error> for Error {
    fn from(e: offload_ethtool::Error) -> Error {
        Error::Interface(e)
    }
}

impl Error {
    /// The errno behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::CaptureFileIo { source, .. } | Error::Capture { source, .. } => {
                source.raw_os_error().or_else(|| {
                    source
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<crate::capture::sys::OpError>())
                        .and_then(|e| e.source.raw_os_error())
                })
            }
            Error::Interface(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::CaptureFileIo { path, source } => write!(f, "{}: {source}", path.display()),
            Error::CaptureFileDamaged {
                path,
                offset,
                records,
                problem,
            } => write!(
                f,
                "{}: {problem} at byte {offset}, after {records} packets",
                path.display()
            ),
            Error::NoSuchInterface { ifname } => write!(f, "{ifname}: no such interface"),
            Error::NoInterfaces => write!(f, "no interface is up to capture on"),
            Error::TooManyInterfaces { count, limit } => write!(
                f,
                "{count} interfaces asked for, one capture takes at most {limit}"
            ),
            Error::Capture { ifname, source } => {
                if self.raw_os_error() == Some(libc::EPERM)
                    || self.raw_os_error() == Some(libc::EACCES)
                {
                    write!(
                        f,
                        "{ifname}: capturing needs CAP_NET_RAW: run as root, or grant it with `setcap cap_net_raw+ep` on the offloadctl binary ({source})"
                    )
                } else {
                    write!(f, "{ifname}: {source}")
                }
            }
            Error::CaptureThreadPanicked => write!(f, "a capture thread panicked"),
            Error::Interface(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::CaptureFileIo { source, .. } | Error::Capture { source, .. } => Some(source),
            Error::Interface(e) => e.source(),
            _ => None,
        }
    }
}
