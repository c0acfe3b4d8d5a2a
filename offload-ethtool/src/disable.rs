//! Switching features off on a selection of interfaces: what `offloadctl
//! disable` (the seed's `ethtool -K` loop), the C and Python bindings and the
//! dom0 plugin's presets do. One thread in the namespace for the whole
//! command, one socket, one read per interface (the snapshot and the change
//! share it), an outcome per interface. Falls back to the legacy ioctls on
//! kernels without ETHTOOL_GFEATURES.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use offload_core::features::legacy_by_name;
use offload_core::presets::{self, Preset};

use crate::error::{Error, Result};
use crate::features::{legacy, Ethtool, FeatureState, Request};
use crate::iface::{Interface, Selection};
use crate::ifname::IfName;
use crate::outcome::{Outcome, Report, Status};
use crate::snapshot::{self, SavedInterface, Snapshot};
use crate::{lock, netns};

/// The schema tag of a disable report.
pub const SCHEMA: &str = "offload.disable/2";

/// What to switch off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Features {
    /// A preset: its `nics` groups on the host's interfaces, its `vifs`
    /// groups on guest backends.
    Preset(&'static Preset),
    /// These legacy or kernel feature names, on every interface.
    Named(Vec<String>),
}

impl Default for Features {
    fn default() -> Features {
        Features::Preset(presets::DEFAULT)
    }
}

impl Features {
    /// A preset by name (`seed`, `tx-only`, `pfsense`).
    pub fn preset(name: &str) -> Result<Features> {
        presets::by_name(name)
            .map(Features::Preset)
            .ok_or_else(|| Error::InvalidSelection {
                reason: format!(
                    "unknown preset '{}' (known: {})",
                    name.escape_debug(),
                    presets::PRESETS.map(|p| p.name).join(", ")
                ),
            })
    }

    /// Feature names: legacy (`tx`, `tcp-segmentation-offload`) or kernel
    /// (`tx-checksum-ip-generic`); at least one.
    pub fn named(names: Vec<String>) -> Result<Features> {
        if names.is_empty() {
            return Err(Error::InvalidSelection {
                reason: "no features to switch off".into(),
            });
        }
        // Kernel feature names all have a dash; anything else must be legacy.
        if let Some(bad) = names
            .iter()
            .find(|f| legacy_by_name(f).is_none() && !f.contains('-'))
        {
            return Err(Error::InvalidSelection {
                reason: format!("unknown feature '{}'", bad.escape_debug()),
            });
        }
        Ok(Features::Named(names))
    }

    /// The `ethtool -K` words for one interface (empty: nothing to do).
    fn words_for(&self, interface: &Interface) -> Vec<String> {
        let off = |name: &str| [name.to_string(), "off".to_string()];
        match self {
            Features::Preset(preset) => {
                presets::short_names(interface.kind.role().preset_groups(preset))
                    .flat_map(off)
                    .collect()
            }
            Features::Named(names) => names.iter().flat_map(|n| off(n)).collect(),
        }
    }
}

/// Where to save the state before changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveTo {
    /// The snapshot file.
    pub path: PathBuf,
    /// Add to an existing snapshot instead of refusing (its entries win:
    /// they hold the state from before the first disable).
    pub force: bool,
}

/// One disable command.
#[derive(Debug, Clone, Default)]
pub struct Disable {
    /// The network namespace (None: the caller's).
    pub netns: Option<String>,
    /// Which interfaces.
    pub selection: Selection,
    /// Which features.
    pub features: Features,
    /// Plan only: change nothing, write nothing.
    pub dry_run: bool,
    /// Save a snapshot first.
    pub save: Option<SaveTo>,
    /// Set (by a SIGINT handler) to stop after the interface being changed;
    /// the report then holds what was done.
    pub stop: Option<Arc<AtomicBool>>,
}

/// One interface's state, read once.
enum State {
    Full(FeatureState),
    Legacy(legacy::LegacyState),
}

fn read(ethtool: &Ethtool, name: &IfName) -> Result<State> {
    if legacy::forced() {
        return legacy::read_with(ethtool, name).map(State::Legacy);
    }
    match ethtool.read(name) {
        Ok(state) => Ok(State::Full(state)),
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            legacy::read_with(ethtool, name).map(State::Legacy)
        }
        Err(e) => Err(e),
    }
}

fn parse(state: &FeatureState, words: &[String]) -> Result<Request> {
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    Request::parse(state, &refs).map_err(|e| Error::InvalidRequest {
        ifname: state.ifname.to_string(),
        reason: e.to_string(),
    })
}

/// The legacy groups of `words` that are on (what would move).
fn plan_legacy(state: &legacy::LegacyState, words: &[String]) -> Vec<String> {
    words
        .chunks(2)
        .filter(|pair| {
            state
                .get(&pair[0])
                .is_some_and(|on| on != (pair[1] == "on"))
        })
        .map(|pair| pair[0].clone())
        .collect()
}

/// One interface, prepared: its state and what it is asked.
struct Prepared {
    interface: Interface,
    words: Vec<String>,
    state: Result<State>,
}

impl Prepared {
    /// What would move (None: this interface will fail, changing nothing).
    fn plan(&self) -> Option<Vec<String>> {
        match &self.state {
            Ok(State::Full(state)) => parse(state, &self.words).ok().map(|r| r.plan(state)),
            Ok(State::Legacy(state)) => Some(plan_legacy(state, &self.words)),
            Err(_) => None,
        }
    }

    fn saved(&self, plan: &[String]) -> Option<SavedInterface> {
        match &self.state {
            Ok(State::Full(state)) => Some(SavedInterface::from_state(state, plan)),
            Ok(State::Legacy(state)) => Some(SavedInterface::from_legacy(state, plan)),
            Err(_) => None,
        }
    }

    fn run(self, ethtool: &Ethtool, dry_run: bool) -> Outcome {
        let Prepared {
            interface,
            words,
            state,
        } = self;
        let kind = Some(interface.kind);
        if words.is_empty() {
            return Outcome::new(interface.name, kind, Status::Skipped);
        }
        let result = state.and_then(|state| {
            let mut outcome = Outcome::new(interface.name, kind, Status::Planned);
            match state {
                State::Full(state) => {
                    let request = parse(&state, &words)?;
                    if dry_run {
                        outcome.changed = request.plan(&state);
                        return Ok(outcome);
                    }
                    let report = ethtool.apply(state, request)?;
                    (outcome.changed, outcome.refused) = report.requested_outcome();
                }
                State::Legacy(state) => {
                    if dry_run {
                        outcome.changed = plan_legacy(&state, &words);
                        return Ok(outcome);
                    }
                    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                    let (before, after) = legacy::apply_with(ethtool, &interface.name, &refs)?;
                    for pair in words.chunks(2) {
                        let wanted = pair[1] == "on";
                        match (before.get(&pair[0]), after.get(&pair[0])) {
                            (Some(b), Some(a)) if b != a && a == wanted => {
                                outcome.changed.push(pair[0].clone())
                            }
                            (_, Some(a)) if a != wanted => outcome.refused.push(pair[0].clone()),
                            _ => {}
                        }
                    }
                }
            }
            outcome.status = Status::of(outcome.changed.len(), outcome.refused.len());
            Ok(outcome)
        });
        result.unwrap_or_else(|e| Outcome::failed(interface.name, kind, e))
    }
}

/// Runs a disable: resolves the selection, reads each interface once, saves
/// the snapshot (before anything changes; not in a dry run), then changes or
/// plans each interface. `Err` means nothing was changed.
pub fn run(command: Disable) -> Result<Report> {
    let netns = command.netns.clone();
    netns::run_in(netns.as_deref(), move || run_here(command))
}

fn run_here(command: Disable) -> Result<Report> {
    // A dry run changes nothing and needs no lock.
    let _lock = if command.dry_run {
        None
    } else {
        Some(lock::lock_here(lock::DEFAULT_WAIT, command.stop.as_ref())?)
    };
    let ethtool = Ethtool::open()?;
    let chosen = command.selection.resolve_here(&ethtool)?;
    if chosen.is_empty() {
        return Err(Error::NoMatch);
    }
    let mut missing = Vec::new();
    let mut prepared = Vec::with_capacity(chosen.len());
    for (at, choice) in chosen.into_iter().enumerate() {
        let interface = match choice {
            Ok(interface) => interface,
            Err(name) => {
                missing.push((at, name));
                continue;
            }
        };
        let words = command.features.words_for(&interface);
        let state = if words.is_empty() {
            Err(Error::NoMatch)
        } else {
            read(&ethtool, &interface.name)
        };
        prepared.push(Prepared {
            interface,
            words,
            state,
        });
    }
    if let Some(save) = &command.save {
        let mut interfaces = Vec::new();
        for p in prepared.iter().filter(|p| !p.words.is_empty()) {
            // A request that cannot be parsed fails that interface below; it
            // changes nothing, so there is nothing to record for it.
            if let Some(saved) = p.plan().and_then(|plan| p.saved(&plan)) {
                interfaces.push(saved);
            }
        }
        let snap = Snapshot::new(command.netns.as_deref(), interfaces);
        if command.dry_run {
            snapshot::check_writable(&save.path, save.force)?;
        } else {
            snapshot::save(&save.path, snap, save.force)?;
        }
    }
    let stopped = || {
        command
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    };
    let mut interrupted = false;
    let mut interfaces: Vec<Outcome> = Vec::with_capacity(prepared.len());
    for p in prepared {
        if stopped() {
            interrupted = true;
            break;
        }
        interfaces.push(p.run(&ethtool, command.dry_run));
    }
    // Named interfaces that are not there keep their place in the report.
    for (at, name) in missing {
        if at > interfaces.len() {
            break; // interrupted before reaching it
        }
        let error = Error::NoSuchInterface {
            ifname: name.to_string(),
        };
        interfaces.insert(at, Outcome::failed(name, None, error));
    }
    Ok(Report {
        schema: SCHEMA,
        dry_run: command.dry_run,
        interfaces,
        interrupted,
    })
}
