//! The crate's one error type.

use std::fmt;
use std::io;

/// Everything that can go wrong talking to XAPI.
///
/// XAPI's own errors arrive as [`Error::Api`] with the code and parameters
/// exactly as the host sent them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The host could not be reached, or the connection broke.
    Transport { target: String, source: io::Error },
    /// TLS failed (unknown CA, handshake error).
    Tls { target: String, message: String },
    /// The host's certificate is not the one pinned with `--fingerprint`.
    CertificateMismatch {
        target: String,
        expected: String,
        found: String,
    },
    /// The call did not finish in time.
    Timeout { target: String, method: String },
    /// The server answered with an HTTP error (xapi answers malformed bodies with 500).
    Http {
        target: String,
        status: u16,
        body: String,
    },
    /// The response body was not valid XML-RPC / JSON-RPC, or not what the method returns.
    Decode {
        target: String,
        method: String,
        message: String,
    },
    /// A XAPI error: code and parameters verbatim.
    Api {
        method: String,
        code: String,
        params: Vec<String>,
    },
    /// Credentials could not be read.
    Credentials { source: String, message: String },
    /// A bad argument from our caller (URL, policy, filter).
    InvalidArgument { what: String, message: String },
    /// A policy or trust specification that names nothing or two things.
    Spec(SpecError),
    /// A selection (VM name or uuid, host, network, device) that matches
    /// nothing in the pool: nothing was read beyond the records, nothing written.
    NoMatch { what: String, message: String },
    /// The run was interrupted (Ctrl-C) before it finished.
    Interrupted,
    /// An undo file (`--save`, `restore`) names a file that exists; it is
    /// never replaced without `force`. Nothing was written to the pool.
    SaveExists { path: String },
    /// An undo file that cannot be used (unreadable, damaged, another
    /// schema) or written; nothing was written to the pool.
    SaveFile {
        path: String,
        reason: String,
        source: Option<io::Error>,
    },
}

/// Why a [`crate::spec::PolicySpec`] or [`crate::spec::TrustSpec`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecError {
    /// Neither a preset nor settings: there is no default policy.
    NoPolicy,
    /// Both a preset and settings.
    PresetAndSettings,
    /// Both a pinned fingerprint and "insecure".
    FingerprintAndInsecure,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpecError::NoPolicy => {
                "no policy: give a preset (seed, tx-only) or settings (e.g. tx=off,sg=off)"
            }
            SpecError::PresetAndSettings => "give either a preset or settings, not both",
            SpecError::FingerprintAndInsecure => {
                "give either a fingerprint to pin or insecure, not both"
            }
        })
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The OS errno behind a transport failure.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Transport { source, .. } => source.raw_os_error(),
            Error::SaveFile {
                source: Some(source),
                ..
            } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The XAPI error code, for [`Error::Api`].
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether retrying the same idempotent call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transport { .. } | Error::Timeout { .. })
    }

    pub(crate) fn no_match(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::NoMatch {
            what: what.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            what: what.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport { target, source } => write!(f, "{target}: {source}"),
            Error::Tls { target, message } => write!(f, "{target}: TLS: {message}"),
            Error::CertificateMismatch {
                target,
                expected,
                found,
            } => write!(
                f,
                "{target}: certificate fingerprint is {found}, not the pinned {expected} \
                 (refusing to talk to it)"
            ),
            Error::Timeout { target, method } => write!(f, "{target}: {method} timed out"),
            Error::Http {
                target,
                status,
                body,
            } => {
                let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                write!(
                    f,
                    "{target}: HTTP {status} {}",
                    first.chars().take(200).collect::<String>()
                )
            }
            Error::Decode {
                target,
                method,
                message,
            } => {
                write!(f, "{target}: bad response to {method}: {message}")
            }
            Error::Api {
                method,
                code,
                params,
            } => {
                write!(f, "{method}: {code}")?;
                if !params.is_empty() {
                    write!(f, " [{}]", params.join(", "))?;
                }
                Ok(())
            }
            Error::Credentials { source, message } => {
                write!(f, "credentials from {source}: {message}")
            }
            Error::InvalidArgument { what, message } | Error::NoMatch { what, message } => {
                write!(f, "{what}: {message}")
            }
            Error::Spec(problem) => problem.fmt(f),
            Error::Interrupted => f.write_str("interrupted"),
            Error::SaveExists { path } => write!(
                f,
                "{path}: exists; an undo file is never replaced (--force adds to it and keeps what it holds)"
            ),
            Error::SaveFile { path, reason, .. } => write!(f, "{path}: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(source),
            Error::SaveFile {
                source: Some(source),
                ..
            } => Some(source),
            _ => None,
        }
    }
}

impl From<offload_ethtool::Error> for Error {
    /// The save-file rule's errors (the only part of offload-ethtool used here).
    fn from(e: offload_ethtool::Error) -> Error {
        use offload_ethtool::Error as E;
        match e {
            E::SnapshotExists { path } => Error::SaveExists { path },
            E::SnapshotWrite { path, source } => Error::SaveFile {
                path,
                reason: format!("cannot write: {source}"),
                source: Some(source),
            },
            E::BadSnapshot { path, reason } => Error::SaveFile {
                path,
                reason,
                source: None,
            },
            other => Error::SaveFile {
                path: String::new(),
                reason: other.to_string(),
                source: None,
            },
        }
    }
}
