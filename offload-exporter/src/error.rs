//! The crate's one error type: what failed (an address, a file) and the OS error.

use std::fmt;
use std::io;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong serving or writing metrics.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be opened or polled.
    Listen {
        /// The address.
        address: String,
        /// The OS error.
        source: io::Error,
    },
    /// The textfile (or its temporary file) could not be written or renamed.
    Textfile {
        /// The file.
        path: String,
        /// The OS error.
        source: io::Error,
    },
}

impl Error {
    /// The errno, for exit codes.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Listen { source, .. } | Error::Textfile { source, .. } => source.raw_os_error(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Listen { address, source } => write!(f, "listen on {address}: {source}"),
            Error::Textfile { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Listen { source, .. } | Error::Textfile { source, .. } => Some(source),
        }
    }
}
