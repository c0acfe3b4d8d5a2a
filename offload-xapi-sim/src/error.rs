//! The simulator's one error type: what can stop it from starting.

use std::fmt;
use std::io;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Why the simulator could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The pool description or configuration cannot be simulated.
    InvalidArgument {
        /// What was checked.
        what: String,
        /// Why it was refused.
        message: String,
    },
    /// A listener could not be opened.
    Transport {
        /// The address or socket path.
        target: String,
        /// The OS error.
        source: io::Error,
    },
    /// The self-signed certificate or TLS configuration could not be built.
    Tls {
        /// Which listener.
        target: String,
        /// What failed.
        message: String,
    },
}

impl Error {
    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            what: what.into(),
            message: message.into(),
        }
    }

    /// The OS error number, where one caused this.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Transport { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { what, message } => write!(f, "{what}: {message}"),
            Error::Transport { target, source } => write!(f, "{target}: {source}"),
            Error::Tls { target, message } => write!(f, "{target}: TLS: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            _ => None,
        }
    }
}
