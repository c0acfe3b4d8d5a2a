//! The crate's one error type. Each variant names the object involved (file,
//! interface) and keeps the OS error, so callers can print one clear line and
//! still reach `raw_os_error()`.

use std::io;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No interface of that name exists (in the namespace looked at).
    NoSuchInterface {
        /// The name asked for.
        ifname: String,
    },
    /// Entering a network namespace failed.
    Netns {
        /// The namespace name or path.
        netns: String,
        /// The OS error.
        source: io::Error,
    },
    /// A worker thread (the one inside a namespace) panicked.
    WorkerPanicked,
    /// An interface name that cannot be one (empty, longer than 15 bytes, `/`,
    /// `:` or whitespace); refused before any syscall.
    InvalidIfname {
        /// The name given.
        ifname: String,
    },
    /// A feature request that cannot be applied as given (unknown name, value
    /// missing); nothing was changed.
    InvalidRequest {
        /// The interface.
        ifname: String,
        /// What is wrong.
        reason: String,
    },
    /// A SIOCETHTOOL (or socket) call failed.
    Ethtool {
        /// The operation (`ETHTOOL_SFEATURES`, ...).
        op: &'static str,
        /// The interface.
        ifname: String,
        /// The OS error, taken right after the call.
        source: io::Error,
    },
}

impl Error {
    /// The errno behind this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Ethtool { source, .. } | Error::Netns { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoSuchInterface { ifname } => write!(f, "{ifname}: no such interface"),
            Error::Netns { netns, source } => {
                write!(f, "network namespace {netns}: {source}")
            }
            Error::WorkerPanicked => write!(f, "a worker thread panicked"),
            Error::InvalidIfname { ifname } => write!(
                f,
                "'{ifname}' is not a valid interface name (1 to 15 bytes, no '/', ':' or spaces)"
            ),
            Error::InvalidRequest { ifname, reason } => {
                write!(f, "{ifname}: {reason}; nothing changed")
            }
            Error::Ethtool { op, ifname, source } => match source.raw_os_error() {
                Some(libc::ENODEV) => write!(f, "{ifname}: no such interface"),
                Some(libc::EPERM) => write!(
                    f,
                    "{ifname}: changing offload features needs CAP_NET_ADMIN ({op}: {source})"
                ),
                _ => write!(f, "{ifname}: {op}: {source}"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Netns { source, .. } | Error::Ethtool { source, .. } => Some(source),
            _ => None,
        }
    }
}
