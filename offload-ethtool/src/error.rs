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
    /// A selection that cannot be resolved as given (unknown kind, names
    /// together with filters); nothing was done.
    InvalidSelection {
        /// What is wrong.
        reason: String,
    },
    /// The selection matched no interface; nothing was done.
    NoMatch,
    /// A snapshot file that cannot be used (unreadable, not JSON, other
    /// schema, too large); nothing was done.
    BadSnapshot {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// `--save` names a file that exists; it is never replaced without `force`.
    SnapshotExists {
        /// The file.
        path: String,
    },
    /// Writing a snapshot failed; the previous file, if any, is untouched.
    SnapshotWrite {
        /// The file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// A snapshot taken on another machine (its machine-id differs).
    OtherHost {
        /// The host name recorded in the snapshot.
        hostname: String,
        /// This machine's host name.
        here: String,
    },
    /// Another disable or restore holds this namespace's lock.
    Busy {
        /// The lock file.
        path: String,
        /// How long this run waited.
        waited: std::time::Duration,
    },
    /// The lock file could not be opened or locked.
    Lock {
        /// The lock file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// Reading a kernel file (`/sys/class/net/...`, `/proc/net/...`) failed,
    /// or mounting the namespace's own sysfs to read it.
    KernelFile {
        /// The file.
        path: String,
        /// The interface it belongs to, if any.
        ifname: Option<String>,
        /// The OS error.
        source: io::Error,
    },
    /// A kernel file whose text this version cannot read.
    KernelFormat {
        /// The file.
        path: String,
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
            Error::Ethtool { source, .. }
            | Error::Netns { source, .. }
            | Error::SnapshotWrite { source, .. }
            | Error::Lock { source, .. }
            | Error::KernelFile { source, .. } => source.raw_os_error(),
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
            Error::InvalidSelection { reason } => write!(f, "{reason}; nothing changed"),
            Error::NoMatch => write!(f, "no interface matches the selection; nothing changed"),
            Error::BadSnapshot { path, reason } => {
                write!(f, "{path}: {reason}; nothing changed")
            }
            Error::SnapshotExists { path } => write!(
                f,
                "{path} exists and holds the state to restore; it is not replaced \
                 (restore it first, choose another file, or give --force to add to it); nothing changed"
            ),
            Error::SnapshotWrite { path, source } => {
                write!(f, "cannot save the snapshot {path}: {source}; nothing changed")
            }
            Error::Busy { path, waited } => write!(
                f,
                "another offloadctl disable or restore is running in this network namespace \
                 (lock {path} still held after {:.1}s); nothing changed",
                waited.as_secs_f64()
            ),
            Error::Lock { path, source } => write!(f, "lock {path}: {source}; nothing changed"),
            Error::OtherHost { hostname, here } => write!(
                f,
                "the snapshot was taken on host {hostname}, this is {here} (machine-id differs); nothing changed"
            ),
            Error::KernelFile {
                path,
                ifname: Some(ifname),
                source,
            } => write!(f, "{ifname}: {path}: {source}"),
            Error::KernelFile { path, source, .. } => write!(f, "{path}: {source}"),
            Error::KernelFormat { path, reason } => write!(f, "{path}: {reason}"),
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
            Error::Netns { source, .. }
            | Error::Ethtool { source, .. }
            | Error::SnapshotWrite { source, .. }
            | Error::Lock { source, .. }
            | Error::KernelFile { source, .. } => Some(source),
            _ => None,
        }
    }
}
