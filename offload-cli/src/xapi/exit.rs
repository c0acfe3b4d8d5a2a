//! Exit codes of `offloadctl xapi`: one per kind of failure, and the
//! done / partial / none answer of a run over many objects.

use offload_xapi::ops::{BulkReport, Status};
use offload_xapi::Error;

/// Exit codes of `offloadctl xapi` (also in `--help`).
pub mod code {
    pub const OK: u8 = 0;
    /// Some objects failed, or `verify` found objects that differ.
    pub const SOME: u8 = 1;
    /// Every object failed.
    pub const NONE: u8 = 2;
    pub const USAGE: u8 = 64;
    /// The selection (VM name, host, network) matches nothing.
    pub const NO_MATCH: u8 = 67;
    /// Wrong user or password.
    pub const AUTH: u8 = 70;
    /// Host unreachable, connection refused or broken, timeout.
    pub const UNREACHABLE: u8 = 71;
    /// TLS failure or certificate fingerprint mismatch.
    pub const TLS: u8 = 72;
    /// The host is a pool member and the master could not be reached through it.
    pub const NOT_MASTER: u8 = 73;
    /// The server's answer was not valid XML-RPC/JSON-RPC, or an HTTP error.
    pub const PROTOCOL: u8 = 74;
    /// Another XAPI error.
    pub const API: u8 = 75;
    /// The password could not be read.
    pub const CREDENTIALS: u8 = 76;
    /// `--save` names an existing file (never replaced without --force).
    pub const SAVE_EXISTS: u8 = 77;
    /// An undo file that is unreadable, damaged or cannot be written.
    pub const SAVE_FILE: u8 = 78;
    /// Interrupted (Ctrl-C); the report says what was done.
    pub const INTERRUPTED: u8 = 130;
}

/// The exit code for an error that stopped the whole command.
pub fn for_error(error: &Error) -> u8 {
    match error {
        Error::NoMatch { .. } => code::NO_MATCH,
        Error::InvalidArgument { .. } | Error::Spec(_) => code::USAGE,
        Error::Credentials { .. } => code::CREDENTIALS,
        Error::Transport { .. } | Error::Timeout { .. } => code::UNREACHABLE,
        Error::Tls { .. } | Error::CertificateMismatch { .. } => code::TLS,
        Error::Http { .. } | Error::Decode { .. } => code::PROTOCOL,
        Error::Api { code: c, .. } if c == "SESSION_AUTHENTICATION_FAILED" => code::AUTH,
        Error::Api { code: c, .. } if c == "HOST_IS_SLAVE" => code::NOT_MASTER,
        Error::Interrupted => code::INTERRUPTED,
        Error::SaveExists { .. } => code::SAVE_EXISTS,
        Error::SaveFile { .. } => code::SAVE_FILE,
        _ => code::API,
    }
}

/// OK when nothing failed, NONE when every attempt failed, SOME in between.
pub fn for_failures(failed: usize, attempted: usize) -> u8 {
    if failed == 0 {
        code::OK
    } else if failed < attempted {
        code::SOME
    } else {
        code::NONE
    }
}

/// The exit code of a bulk write: unchanged objects were not attempted.
pub fn for_report(report: &BulkReport) -> u8 {
    let attempted = report
        .objects
        .iter()
        .filter(|o| !matches!(o.status, Status::Unchanged | Status::NoEffect))
        .count();
    let failed = report
        .objects
        .iter()
        .filter(|o| matches!(o.status, Status::Failed | Status::NotAttempted))
        .count();
    for_failures(failed, attempted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use offload_xapi::SpecError;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let no_match = Error::NoMatch {
            what: "--vm \"x\"".into(),
            message: "matches no VM".into(),
        };
        assert_eq!(for_error(&no_match), code::NO_MATCH);
        // The text no longer decides: an invalid argument saying "matches no" is still usage.
        let usage = Error::InvalidArgument {
            what: "--vm-ish".into(),
            message: "matches no rule".into(),
        };
        assert_eq!(for_error(&usage), code::USAGE);
        assert_eq!(
            for_error(&Error::Spec(SpecError::FingerprintAndInsecure)),
            code::USAGE
        );
        let api = |c: &str| Error::Api {
            method: "session.login_with_password".into(),
            code: c.into(),
            params: Vec::new(),
        };
        assert_eq!(for_error(&api("SESSION_AUTHENTICATION_FAILED")), code::AUTH);
        assert_eq!(for_error(&api("HOST_IS_SLAVE")), code::NOT_MASTER);
        assert_eq!(for_error(&api("VM_BAD_POWER_STATE")), code::API);
        assert_eq!(for_error(&Error::Interrupted), code::INTERRUPTED);
    }

    #[test]
    fn runs_are_done_partial_or_failed() {
        assert_eq!(for_failures(0, 0), code::OK);
        assert_eq!(for_failures(0, 5), code::OK);
        assert_eq!(for_failures(2, 5), code::SOME);
        assert_eq!(for_failures(5, 5), code::NONE);
    }
}
