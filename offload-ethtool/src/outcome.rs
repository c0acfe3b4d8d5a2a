//! What a command did to each interface, in one vocabulary for every
//! operation (disable, restore, a preset applied by the dom0 plugin) and every
//! front-end: the CLI prints it, C returns it, Python and the plugin get the
//! same JSON (serde, from these types).

use serde::Serialize;

use crate::error::Error;
use crate::iface::Kind;
use crate::ifname::IfName;

/// The result for one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every feature asked for reached its value, and some moved.
    Changed,
    /// Every feature asked for already had its value.
    Unchanged,
    /// Some features moved, some were refused (fixed, or kept by the driver).
    Partial,
    /// Nothing moved: every feature that had to move was refused.
    Refused,
    /// A dry run: `changed` lists what would move.
    Planned,
    /// Nothing asked of this interface (a preset that sets nothing on its role).
    Skipped,
    /// An error; nothing more was done on this interface.
    Failed,
}

impl Status {
    /// The word in reports (`changed`, `partial`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
            Status::Partial => "partial",
            Status::Refused => "refused",
            Status::Planned => "planned",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    /// Whether the interface ended as asked (counts as done for exit codes).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Status::Changed | Status::Unchanged | Status::Planned | Status::Skipped
        )
    }

    /// From what moved and what was refused.
    pub fn of(changed: usize, refused: usize) -> Status {
        match (changed, refused) {
            (0, 0) => Status::Unchanged,
            (_, 0) => Status::Changed,
            (0, _) => Status::Refused,
            _ => Status::Partial,
        }
    }
}

/// What happened to one interface.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The interface.
    pub ifname: IfName,
    /// What it is (None when it was named and could not be looked at).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The result.
    pub status: Status,
    /// Kernel features that moved (or would, in a dry run).
    pub changed: Vec<String>,
    /// Features asked for that did not reach their value.
    pub refused: Vec<String>,
    /// Why it failed or was refused, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error itself, for callers that map it (errno, kind).
    #[serde(skip)]
    pub cause: Option<Error>,
}

impl Outcome {
    /// An outcome with nothing recorded yet.
    pub fn new(ifname: IfName, kind: Option<Kind>, status: Status) -> Outcome {
        Outcome {
            ifname,
            kind,
            status,
            changed: Vec::new(),
            refused: Vec::new(),
            error: None,
            cause: None,
        }
    }

    /// Marks it failed with `error`.
    pub fn failed(ifname: IfName, kind: Option<Kind>, error: Error) -> Outcome {
        let mut outcome = Outcome::new(ifname, kind, Status::Failed);
        // The outcome names its interface already; the message need not repeat it.
        let message = error.to_string();
        let own_prefix = format!("{}: ", outcome.ifname);
        outcome.error = Some(match message.strip_prefix(&own_prefix) {
            Some(rest) => rest.to_string(),
            None => message,
        });
        outcome.cause = Some(error);
        outcome
    }
}

/// A whole run, as `--json` prints it and C and Python return it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `offload.disable/2` or `offload.restore/2`.
    pub schema: &'static str,
    /// Whether nothing was changed on purpose.
    pub dry_run: bool,
    /// One entry per interface, in the order worked on.
    pub interfaces: Vec<Outcome>,
    /// Set when the run stopped early (interrupted); the entries are what was done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Report {
    /// How many interfaces ended as asked.
    pub fn successes(&self) -> usize {
        self.interfaces
            .iter()
            .filter(|o| o.status.is_success())
            .count()
    }

    /// The report as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_does_not_repeat_the_interface_name() {
        let name = IfName::new("nosuch").unwrap();
        let error = Error::NoSuchInterface {
            ifname: "nosuch".into(),
        };
        let outcome = Outcome::failed(name, None, error);
        assert_eq!(outcome.error.as_deref(), Some("no such interface"));
    }

    #[test]
    fn status_from_counts_and_its_words() {
        assert_eq!(Status::of(0, 0), Status::Unchanged);
        assert_eq!(Status::of(2, 0), Status::Changed);
        assert_eq!(Status::of(0, 1), Status::Refused);
        assert_eq!(Status::of(1, 1), Status::Partial);
        for status in [
            Status::Changed,
            Status::Partial,
            Status::Failed,
            Status::Skipped,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert!(Status::Skipped.is_success() && !Status::Refused.is_success());
    }
}
