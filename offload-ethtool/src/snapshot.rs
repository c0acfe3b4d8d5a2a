//! Snapshots of the requested offload features of a set of interfaces, taken
//! before `disable` and put back by `restore`. Features are stored by kernel
//! name (bit numbers differ between kernels), with the host's identity so that
//! a snapshot is never applied to another machine by mistake.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::features::{self, FeatureState};

/// The schema tag written into every snapshot.
pub const SCHEMA: &str = "offload.snapshot/1";

/// Which machine a snapshot belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host name when the snapshot was taken.
    pub hostname: String,
    /// /etc/machine-id (stable across reboots and renames).
    pub machine_id: String,
}

impl Host {
    /// This machine.
    pub fn this() -> Host {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        Host {
            hostname: read("/proc/sys/kernel/hostname"),
            machine_id: read("/etc/machine-id"),
        }
    }
}

/// One interface's saved state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedInterface {
    /// The interface name.
    pub name: String,
    /// Kernel features that were requested on.
    pub requested_on: Vec<String>,
    /// Kernel features that were requested off.
    pub requested_off: Vec<String>,
}

impl SavedInterface {
    /// Records the requested bits of `state` by name.
    pub fn from_state(state: &FeatureState) -> SavedInterface {
        let mut saved = SavedInterface {
            name: state.ifname.clone(),
            requested_on: Vec::new(),
            requested_off: Vec::new(),
        };
        for (i, name) in state.names.iter().enumerate() {
            if name.is_empty() || state.is_fixed(i) {
                continue;
            }
            if state.is_requested(i) {
                saved.requested_on.push(name.clone());
            } else {
                saved.requested_off.push(name.clone());
            }
        }
        saved
    }
}

/// A whole snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The machine it was taken on.
    pub host: Host,
    /// The network namespace it was taken in (None: the caller's).
    pub netns: Option<String>,
    /// The interfaces.
    pub interfaces: Vec<SavedInterface>,
}

/// What restoring one interface did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    /// The interface.
    pub name: String,
    /// Features whose requested state could not be put back, or the error.
    pub problems: Vec<String>,
}

/// Puts one interface's requested features back and checks the result.
pub fn restore_interface(saved: &SavedInterface) -> Restored {
    let mut problems = Vec::new();
    let result = FeatureState::read(&saved.name).and_then(|state| {
        let mut requested = state.masks.requested;
        let mut set = |name: &str, on: bool, problems: &mut Vec<String>| match state.index_of(name)
        {
            Some(i) => requested.set(i, on),
            None => problems.push(format!("{name}: no such feature on this kernel")),
        };
        for name in &saved.requested_on {
            set(name, true, &mut problems);
        }
        for name in &saved.requested_off {
            set(name, false, &mut problems);
        }
        features::set_requested(&saved.name, requested)
    });
    match result {
        Ok(report) => {
            let after = &report.after;
            for (name, want) in saved
                .requested_on
                .iter()
                .map(|n| (n, true))
                .chain(saved.requested_off.iter().map(|n| (n, false)))
            {
                if let Some(i) = after.index_of(name) {
                    if after.is_requested(i) != want {
                        problems.push(format!(
                            "{name}: requested {} (saved {})",
                            on_off(after.is_requested(i)),
                            on_off(want)
                        ));
                    }
                }
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    Restored {
        name: saved.name.clone(),
        problems,
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// Reads a snapshot file; `Err` carries a one-line reason (unreadable, not JSON, wrong schema).
pub fn load(path: &std::path::Path) -> std::result::Result<Snapshot, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let snapshot: Snapshot = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not an offload snapshot ({e})", path.display()))?;
    if snapshot.schema != SCHEMA {
        return Err(format!(
            "{}: schema '{}', expected '{SCHEMA}'",
            path.display(),
            snapshot.schema
        ));
    }
    Ok(snapshot)
}

/// Takes the snapshot of `names` in the caller's namespace.
pub fn take(names: &[String], netns: Option<&str>) -> Result<Snapshot> {
    let interfaces = names
        .iter()
        .map(|name| FeatureState::read(name).map(|s| SavedInterface::from_state(&s)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Snapshot {
        schema: SCHEMA.to_string(),
        host: Host::this(),
        netns: netns.map(str::to_string),
        interfaces,
    })
}
