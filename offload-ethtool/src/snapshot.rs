//! Snapshots of the requested offload features of a set of interfaces, taken
//! before `disable` and put back by `restore`. Features are stored by kernel
//! name (bit numbers differ between kernels), with what the run was about to
//! change (restore puts back only that, unless asked for everything), and with
//! the host's identity so that a snapshot is never applied to another machine
//! by mistake.
//!
//! A snapshot file is never replaced by default, a damaged one is refused, and
//! it is written atomically: the rule of [`save_file`], which XAPI undo files
//! follow too.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use offload_core::features::{legacy_by_name, FeatureBits};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{legacy, Ethtool, FeatureState, Request};
use crate::iface::Selection;
use crate::ifname::IfName;
use crate::outcome::{Outcome, Report, Status};
use crate::save_file::{self, SavedState};
use crate::{lock, netns};

/// The schema tag written into every snapshot.
pub const SCHEMA: &str = "offload.snapshot/2";
/// The first schema (no record of what the run changed); still read.
pub const SCHEMA_V1: &str = "offload.snapshot/1";
/// The schema tag of a restore report.
pub const REPORT_SCHEMA: &str = "offload.restore/2";
/// Snapshots larger than this are refused before being read whole.
pub const MAX_SNAPSHOT_BYTES: u64 = save_file::MAX_SAVED_BYTES;

/// Which machine a snapshot belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host name when the snapshot was taken.
    pub hostname: String,
    /// HMAC-SHA256 of /etc/machine-id (stable across reboots and renames),
    /// keyed by it and naming this application, as machine-id(5) asks: the
    /// raw id is never written. Schema 1 snapshots hold the raw id.
    pub machine_id: String,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// HMAC-SHA256 (RFC 2104), for the application-specific machine id.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The application-specific id of a raw machine-id ("" for an empty one).
fn app_machine_id(raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    hmac_sha256(raw.as_bytes(), b"offload.snapshot")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Host {
    /// This machine.
    pub fn this() -> Host {
        Host {
            hostname: read_trimmed("/proc/sys/kernel/hostname"),
            machine_id: app_machine_id(&read_trimmed("/etc/machine-id")),
        }
    }

    /// Whether a snapshot of `schema` recorded on `self` belongs to this
    /// machine: the same machine id, never an empty one.
    fn is_this_machine(&self, schema: &str) -> bool {
        let raw = read_trimmed("/etc/machine-id");
        let here = if schema == SCHEMA_V1 {
            raw
        } else {
            app_machine_id(&raw)
        };
        !here.is_empty() && self.machine_id == here
    }
}

/// One interface's saved state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedInterface {
    /// The interface name (escaped when not printable ASCII).
    pub name: IfName,
    /// Features that were requested on (kernel names; legacy short names
    /// when `legacy`).
    pub requested_on: Vec<String>,
    /// Features that were requested off.
    pub requested_off: Vec<String>,
    /// The features the run was about to change: what restore puts back.
    /// Absent in schema 1 snapshots (restore then puts back everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    /// Taken through the legacy ioctls (kernels without ETHTOOL_GFEATURES).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
}

impl SavedInterface {
    /// Records the requested bits of `state` by name, and `changed`.
    pub fn from_state(state: &FeatureState, changed: &[String]) -> SavedInterface {
        let mut saved = SavedInterface {
            name: state.ifname,
            requested_on: Vec::new(),
            requested_off: Vec::new(),
            changed: Some(changed.to_vec()),
            legacy: false,
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

    /// Records the legacy groups of `state` by short name, and `changed`.
    pub fn from_legacy(state: &legacy::LegacyState, changed: &[String]) -> SavedInterface {
        let mut saved = SavedInterface {
            name: state.ifname,
            requested_on: Vec::new(),
            requested_off: Vec::new(),
            changed: Some(changed.to_vec()),
            legacy: true,
        };
        for (feature, value) in &state.values {
            match value {
                Some(true) => saved.requested_on.push(feature.short_name.to_string()),
                Some(false) => saved.requested_off.push(feature.short_name.to_string()),
                None => {}
            }
        }
        saved
    }

    /// (feature, saved value) for what a restore writes back.
    fn wanted(&self, all_features: bool) -> Vec<(&str, bool)> {
        let chosen =
            |name: &String| all_features || self.changed.as_ref().is_none_or(|c| c.contains(name));
        self.requested_on
            .iter()
            .filter(|n| chosen(n))
            .map(|n| (n.as_str(), true))
            .chain(
                self.requested_off
                    .iter()
                    .filter(|n| chosen(n))
                    .map(|n| (n.as_str(), false)),
            )
            .collect()
    }
}

/// A whole snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SCHEMA`] (or [`SCHEMA_V1`] for old files).
    pub schema: String,
    /// The machine it was taken on.
    pub host: Host,
    /// The network namespace it was taken in (None: the caller's).
    pub netns: Option<String>,
    /// The interfaces.
    pub interfaces: Vec<SavedInterface>,
}

impl Snapshot {
    /// A snapshot of `interfaces` on this host; a relative namespace path
    /// is stored absolute (a name under /run/netns stays a name).
    pub fn new(netns: Option<&str>, interfaces: Vec<SavedInterface>) -> Snapshot {
        let netns = netns.map(|ns| {
            if ns.contains('/') && !ns.starts_with('/') {
                std::path::absolute(ns)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| ns.to_string())
            } else {
                ns.to_string()
            }
        });
        Snapshot {
            schema: SCHEMA.to_string(),
            host: Host::this(),
            netns,
            interfaces,
        }
    }
}

impl SavedState for Snapshot {
    fn reads_schema(schema: &str) -> bool {
        schema == SCHEMA || schema == SCHEMA_V1
    }

    fn schema(&self) -> &str {
        &self.schema
    }

    /// `self` added to an `older` snapshot: interfaces `older` holds keep
    /// its entry (the state from before the first run), others are added.
    fn merged_into(self, mut older: Snapshot) -> Snapshot {
        for saved in self.interfaces {
            if !older.interfaces.iter().any(|o| o.name == saved.name) {
                older.interfaces.push(saved);
            }
        }
        older.schema = SCHEMA.to_string();
        older.host = self.host;
        older
    }
}

/// Reads a snapshot file (at most [`MAX_SNAPSHOT_BYTES`]; the rule is
/// [`save_file`]'s).
pub fn load(path: &Path) -> Result<Snapshot> {
    save_file::load(path)
}

/// Whether [`save`] would be allowed (a dry run checks, writes nothing).
pub fn check_writable(path: &Path, force: bool) -> Result<()> {
    save_file::check_writable::<Snapshot>(path, force)
}

/// Writes `snapshot` to `path` atomically. An existing file is refused
/// unless `force`, which adds to it instead of replacing it (its entries
/// win); a damaged one is refused. Nothing is left behind on error.
pub fn save(path: &Path, snapshot: Snapshot, force: bool) -> Result<()> {
    save_file::save(path, snapshot, force)
}

/// Takes a snapshot of every feature of the selected interfaces (no
/// record of a change: a restore puts all of them back), in one thread
/// inside `netns`.
pub fn take(netns: Option<&str>, selection: &Selection) -> Result<Snapshot> {
    let selection = selection.clone();
    let interfaces = netns::run_in(netns, move || {
        let ethtool = Ethtool::open()?;
        selection
            .resolve_here(&ethtool)?
            .into_iter()
            .map(|choice| {
                let interface = choice.map_err(|name| Error::NoSuchInterface {
                    ifname: name.to_string(),
                })?;
                let state = ethtool.read(&interface.name)?;
                let mut saved = SavedInterface::from_state(&state, &[]);
                saved.changed = None;
                Ok(saved)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(Snapshot::new(netns, interfaces))
}

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct Restore {
    /// Restore even if the snapshot was taken on another machine.
    pub allow_other_host: bool,
    /// Work in this namespace instead of the one the snapshot names.
    pub netns: Option<String>,
    /// Put back every saved feature, not only those the run changed.
    pub all_features: bool,
    /// Set (by a SIGINT handler) to stop after the interface being restored.
    pub stop: Option<Arc<AtomicBool>>,
}

/// Puts the saved features back: checks the host, then in one thread in the
/// snapshot's namespace reads each interface once, writes its saved
/// requested bits, and reports what moved. `Err` means nothing was changed.
pub fn restore(snapshot: &Snapshot, options: &Restore) -> Result<Report> {
    run_restore(snapshot, options, false)
}

/// What [`restore`] would put back, changing nothing (a dry run): the same
/// host check and reads, no lock, each interface `planned` with the
/// features that would move in `changed`.
pub fn plan_restore(snapshot: &Snapshot, options: &Restore) -> Result<Report> {
    run_restore(snapshot, options, true)
}

fn run_restore(snapshot: &Snapshot, options: &Restore, dry_run: bool) -> Result<Report> {
    if !options.allow_other_host && !snapshot.host.is_this_machine(&snapshot.schema) {
        return Err(Error::OtherHost {
            hostname: snapshot.host.hostname.clone(),
            here: Host::this().hostname,
        });
    }
    let saved = snapshot.interfaces.clone();
    let all = options.all_features;
    let netns = options.netns.clone().or_else(|| snapshot.netns.clone());
    let stop = options.stop.clone();
    netns::run_in(netns.as_deref(), move || {
        // A dry run changes nothing and needs no lock.
        let _lock = if dry_run {
            None
        } else {
            Some(lock::lock_here(lock::DEFAULT_WAIT, stop.as_ref())?)
        };
        let ethtool = Ethtool::open()?;
        let mut report = Report {
            schema: REPORT_SCHEMA,
            dry_run,
            interfaces: Vec::with_capacity(saved.len()),
            interrupted: false,
        };
        for s in &saved {
            if stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                report.interrupted = true;
                break;
            }
            report
                .interfaces
                .push(restore_interface(&ethtool, s, all, dry_run));
        }
        Ok(report)
    })
}

/// Puts one interface's saved features back.
fn restore_interface(
    ethtool: &Ethtool,
    saved: &SavedInterface,
    all: bool,
    dry_run: bool,
) -> Outcome {
    let wanted = saved.wanted(all);
    let result = if saved.legacy || legacy::forced() {
        restore_legacy(ethtool, saved.name, &wanted, dry_run)
    } else {
        restore_full(ethtool, saved.name, &wanted, dry_run)
    };
    result.unwrap_or_else(|e| Outcome::failed(saved.name, None, e))
}

fn restore_full(
    ethtool: &Ethtool,
    name: IfName,
    wanted: &[(&str, bool)],
    dry_run: bool,
) -> Result<Outcome> {
    let state = ethtool.read(&name)?;
    let mut outcome = Outcome::new(name, None, Status::Unchanged);
    let (mut mask, mut values) = (FeatureBits::EMPTY, FeatureBits::EMPTY);
    let mut named = Vec::new();
    for &(feature, on) in wanted {
        match state.index_of(feature) {
            Some(i) => {
                mask.set(i, true);
                values.set(i, on);
                named.push((i, on));
            }
            None => outcome.refused.push(feature.to_string()),
        }
    }
    if !outcome.refused.is_empty() {
        outcome.error = Some(format!(
            "not features of this kernel: {}",
            outcome.refused.join(" ")
        ));
    }
    let request = Request::requested(&state, mask, values);
    if dry_run {
        // What the write below would move: changeable, requested otherwise.
        outcome.status = Status::Planned;
        outcome.changed = named
            .iter()
            .filter(|&&(i, on)| request.names_bit(i) && state.is_requested(i) != on)
            .map(|&(i, _)| state.names[i].clone())
            .collect();
        return Ok(outcome);
    }
    let report = ethtool.apply(state, request)?;
    for (i, on) in named {
        let (before, after) = (&report.before, &report.after);
        if after.is_requested(i) != on {
            outcome.refused.push(after.names[i].clone());
        } else if before.is_requested(i) != on {
            outcome.changed.push(after.names[i].clone());
        }
    }
    outcome.status = Status::of(outcome.changed.len(), outcome.refused.len());
    Ok(outcome)
}

fn restore_legacy(
    ethtool: &Ethtool,
    name: IfName,
    wanted: &[(&str, bool)],
    dry_run: bool,
) -> Result<Outcome> {
    let mut outcome = Outcome::new(name, None, Status::Unchanged);
    if dry_run {
        let state = legacy::read_with(ethtool, &name)?;
        outcome.status = Status::Planned;
        for &(feature, on) in wanted {
            match state.get(feature) {
                Some(now) if now != on => outcome.changed.push(feature.to_string()),
                Some(_) => {}
                None => outcome.refused.push(feature.to_string()),
            }
        }
        return Ok(outcome);
    }
    let words: Vec<&str> = wanted
        .iter()
        .filter(|(n, _)| legacy_by_name(n).is_some())
        .flat_map(|&(n, on)| [n, if on { "on" } else { "off" }])
        .collect();
    let (before, after) = legacy::apply_with(ethtool, &name, &words)?;
    for &(feature, on) in wanted {
        match (before.get(feature), after.get(feature)) {
            (_, Some(a)) if a != on => outcome.refused.push(feature.to_string()),
            (Some(b), Some(_)) if b != on => outcome.changed.push(feature.to_string()),
            (_, None) => outcome.refused.push(feature.to_string()),
            _ => {}
        }
    }
    outcome.status = Status::of(outcome.changed.len(), outcome.refused.len());
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(app_machine_id(""), "");
    }

    #[test]
    fn a_snapshot_from_another_machine_or_an_empty_id_is_not_this_one() {
        let mut host = Host::this();
        if host.machine_id.is_empty() {
            return; // no /etc/machine-id here: nothing is "this host"
        }
        assert!(host.is_this_machine(SCHEMA));
        host.machine_id = String::new();
        assert!(!host.is_this_machine(SCHEMA));
        host.machine_id = app_machine_id("another-machine");
        assert!(!host.is_this_machine(SCHEMA));
    }
}
