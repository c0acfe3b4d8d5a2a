//! Offload features of one interface through SIOCETHTOOL: read them, print them
//! exactly as `ethtool -k` does, and change them as `ethtool -K` does, with the
//! report of what actually changed.

pub mod legacy;
pub(crate) mod sys;

use std::fmt::Write as _;
use std::io;
use std::os::fd::OwnedFd;

use offload_core::features::{
    legacy_group_active, legacy_group_of, parse_set_args, FeatureBits, FeatureMasks,
    LegacyFeature, LegacyFeatures, ParseError, SetTarget, LEGACY,
};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ifname::IfName;
use crate::outcome::{Outcome, Status};

/// Every offload feature of one interface: names by bit, and the four masks
/// (offload-core's fixed-capacity [`FeatureMasks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureState {
    /// The interface.
    pub ifname: IfName,
    /// Feature names (ETH_SS_FEATURES), index = bit; empty names are unused bits.
    pub names: Vec<String>,
    /// Available / requested / active / never-changed bits.
    pub masks: FeatureMasks,
    /// How many 32-bit words the kernel uses (ETHTOOL_SFEATURES wants exactly this many).
    pub words: usize,
}

fn os_error(op: &'static str, ifname: &IfName, source: io::Error) -> Error {
    Error::Ethtool {
        op,
        ifname: ifname.to_string(),
        source,
    }
}

/// The SIOCETHTOOL handle: one socket, opened once per command in the
/// namespace it works in, for every read and change of that command.
#[derive(Debug)]
pub struct Ethtool(OwnedFd);

impl Ethtool {
    /// Opens the handle in the calling thread's network namespace.
    pub fn open() -> Result<Ethtool> {
        sys::socket().map(Ethtool).map_err(|source| Error::Ethtool {
            op: "socket",
            ifname: String::new(),
            source,
        })
    }

    /// Reads the features of `ifname`.
    pub fn read(&self, ifname: &IfName) -> Result<FeatureState> {
        FeatureState::read_with(&self.0, ifname)
    }

    /// Applies `request` to the interface `before` was read from with one
    /// ETHTOOL_SFEATURES and re-reads the masks, as ethtool does.
    /// Never-changeable bits are left out of `valid` (the kernel refuses the
    /// whole call otherwise) and show up as refused.
    pub fn apply(&self, before: FeatureState, request: Request) -> Result<ChangeReport> {
        let ifname = before.ifname;
        if !request.mask.is_empty() {
            let valid = request.mask.and_not(before.masks.never_changed);
            let wanted = request.values.and(valid);
            let blocks: Vec<(u32, u32)> = (0..before.words)
                .map(|w| (valid.word(w), wanted.word(w)))
                .collect();
            sys::set_features(&self.0, &ifname, &blocks)
                .map_err(|e| os_error("ETHTOOL_SFEATURES", &ifname, e))?;
        }
        // The names do not change with the features: re-read the masks only.
        let mut after = before.clone();
        after.masks = FeatureState::read_masks(&self.0, &ifname, before.words)?;
        Ok(ChangeReport {
            before,
            after,
            request,
        })
    }

    /// The kind of `ifname` from its driver (see [`crate::iface::classify`]).
    pub(crate) fn driver_info(&self, ifname: &IfName) -> (String, String) {
        sys::driver_info(&self.0, ifname)
            .map(|info| (info.driver, info.bus_info))
            .unwrap_or_default()
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.0
    }
}

impl FeatureState {
    /// Reads the features of `ifname` in the caller's network namespace.
    pub fn read(ifname: &IfName) -> Result<FeatureState> {
        Ethtool::open()?.read(ifname)
    }

    fn read_with(fd: &OwnedFd, ifname: &IfName) -> Result<FeatureState> {
        let count = sys::feature_count(fd, ifname)
            .map_err(|e| os_error("ETHTOOL_GSSET_INFO", ifname, e))?;
        let names = sys::feature_names(fd, ifname, count)
            .map_err(|e| os_error("ETHTOOL_GSTRINGS", ifname, e))?;
        let words = count.div_ceil(32);
        let masks = Self::read_masks(fd, ifname, words)?;
        Ok(FeatureState {
            ifname: *ifname,
            names,
            masks,
            words,
        })
    }

    /// ETHTOOL_GFEATURES into core's masks.
    fn read_masks(fd: &OwnedFd, ifname: &IfName, words: usize) -> Result<FeatureMasks> {
        let blocks = sys::get_features(fd, ifname, words)
            .map_err(|e| os_error("ETHTOOL_GFEATURES", ifname, e))?;
        let mask = |pick: fn(&sys::Block) -> u32| {
            let words: Vec<u32> = blocks.iter().map(pick).collect();
            FeatureBits::from_words(&words)
                .map_err(|e| os_error("ETHTOOL_GFEATURES", ifname, io::Error::other(e.to_string())))
        };
        Ok(FeatureMasks {
            available: mask(|b| b.available)?,
            requested: mask(|b| b.requested)?,
            active: mask(|b| b.active)?,
            never_changed: mask(|b| b.never_changed)?,
        })
    }

    /// Whether feature `i` is in effect.
    pub fn is_active(&self, i: usize) -> bool {
        self.masks.active.get(i)
    }

    /// Whether feature `i` is requested (wanted) on.
    pub fn is_requested(&self, i: usize) -> bool {
        self.masks.requested.get(i)
    }

    /// Whether feature `i` can never be changed (`[fixed]` in `ethtool -k`).
    pub fn is_fixed(&self, i: usize) -> bool {
        self.masks.is_fixed(i)
    }

    /// The bits of the kernel features that legacy group `legacy` covers.
    fn members_of(&self, legacy: &LegacyFeature) -> Vec<usize> {
        (0..self.names.len())
            .filter(|&i| legacy_group_of(&self.names[i]).is_some_and(|g| g.flag == legacy.flag))
            .collect()
    }

    /// Each legacy group as `ethtool -k` shows it: on when any of its
    /// features is active; `None` when the interface has none of them.
    pub fn legacy_groups(&self) -> Vec<(&'static LegacyFeature, Option<bool>)> {
        LEGACY
            .iter()
            .map(|legacy| {
                let members = self.members_of(legacy);
                let on = (!members.is_empty()).then(|| members.iter().any(|&i| self.is_active(i)));
                (legacy, on)
            })
            .collect()
    }

    /// The bit of a kernel feature name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        (!name.is_empty())
            .then(|| self.names.iter().position(|n| n == name))
            .flatten()
    }

    fn line(&self, out: &mut String, indent: &str, label: &str, i: usize) {
        let state = if self.is_active(i) { "on" } else { "off" };
        let suffix = if self.is_fixed(i) {
            " [fixed]"
        } else if self.is_requested(i) != self.is_active(i) {
            if self.is_requested(i) {
                " [requested on]"
            } else {
                " [requested off]"
            }
        } else {
            ""
        };
        let _ = writeln!(out, "{indent}{label}: {state}{suffix}");
    }

    /// The text of `ethtool -k IFNAME` (ethtool 6.1, netlink backend): legacy
    /// groups first (a group of one feature printed once, under the long name),
    /// then every other named feature in bit order.
    pub fn render_ethtool_k(&self) -> String {
        let mut out = format!("Features for {}:\n", self.ifname);
        for legacy in LEGACY.iter().filter(|l| l.short_name != "ufo") {
            let members = self.members_of(legacy);
            if let [only] = members[..] {
                self.line(&mut out, "", legacy.long_name, only);
                continue;
            }
            let any = legacy_group_active(
                legacy,
                members
                    .iter()
                    .map(|&i| (self.names[i].as_str(), self.is_active(i))),
            )
            .unwrap_or(false);
            let _ = writeln!(
                out,
                "{}: {}",
                legacy.long_name,
                if any { "on" } else { "off" }
            );
            for i in members {
                self.line(&mut out, "\t", &self.names[i], i);
            }
        }
        for (i, name) in self.names.iter().enumerate() {
            if !name.is_empty() && legacy_group_of(name).is_none() {
                self.line(&mut out, "", name, i);
            }
        }
        out
    }
}

/// One interface as JSON: an entry of `offloadctl show --json` (schema
/// `offload.features/1`), also returned by the C and Python bindings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceJson<'a> {
    /// The interface.
    pub ifname: &'a IfName,
    /// Every named feature in bit order.
    pub features: Vec<FeatureJson<'a>>,
}

/// One feature in [`InterfaceJson`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureJson<'a> {
    /// The kernel feature name.
    pub name: &'a str,
    /// In effect.
    pub active: bool,
    /// Requested on.
    pub requested: bool,
    /// Never changeable (`[fixed]`).
    pub fixed: bool,
}

impl FeatureState {
    /// The JSON view of this interface (unused bits left out).
    pub fn json(&self) -> InterfaceJson<'_> {
        InterfaceJson {
            ifname: &self.ifname,
            features: self
                .names
                .iter()
                .enumerate()
                .filter(|(_, n)| !n.is_empty())
                .map(|(i, name)| FeatureJson {
                    name,
                    active: self.is_active(i),
                    requested: self.is_requested(i),
                    fixed: self.is_fixed(i),
                })
                .collect(),
        }
    }
}

/// What one interface answers: the full feature set, or the legacy groups
/// that old kernels without ETHTOOL_GFEATURES still answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readout {
    /// ETHTOOL_GFEATURES worked.
    Full(FeatureState),
    /// The per-group legacy ioctls (forced, or the kernel lacks GFEATURES).
    Legacy(legacy::LegacyState),
}

impl Readout {
    /// Reads `name` with GFEATURES, or the legacy ioctls when forced
    /// ([`legacy::forced`]) or when the kernel answers EOPNOTSUPP.
    pub fn read(ethtool: &Ethtool, name: &IfName) -> Result<Readout> {
        let legacy = || legacy::read_with(ethtool, name).map(Readout::Legacy);
        if legacy::forced() {
            return legacy();
        }
        match ethtool.read(name) {
            Ok(state) => Ok(Readout::Full(state)),
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => legacy(),
            Err(e) => Err(e),
        }
    }

    /// The text of `ethtool -k`.
    pub fn render_ethtool_k(&self) -> String {
        match self {
            Readout::Full(s) => s.render_ethtool_k(),
            Readout::Legacy(s) => s.render_ethtool_k(),
        }
    }

    /// The JSON view (schema `offload.features/1`).
    pub fn json(&self) -> InterfaceJson<'_> {
        match self {
            Readout::Full(s) => s.json(),
            Readout::Legacy(s) => s.json(),
        }
    }

    /// Each legacy group's state (`None`: the interface lacks the group).
    pub fn legacy_groups(&self) -> Vec<(&'static LegacyFeature, Option<bool>)> {
        match self {
            Readout::Full(s) => s.legacy_groups(),
            Readout::Legacy(s) => s.values.clone(),
        }
    }
}

/// A change request in kernel bits: which bits were named and their wanted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Bits named by the request (a legacy name names every feature it covers).
    pub mask: FeatureBits,
    /// Wanted values of the named bits ("on" wins when a bit is named twice).
    pub values: FeatureBits,
    /// Legacy groups named that cover no feature of this interface (`ufo` today).
    pub not_present: Vec<&'static str>,
}

impl Request {
    /// Parses an `ethtool -K` argument list against this interface's feature names.
    pub fn parse<'a>(
        state: &FeatureState,
        args: &[&'a str],
    ) -> std::result::Result<Request, ParseError<'a>> {
        let mut request = Request {
            mask: FeatureBits::EMPTY,
            values: FeatureBits::EMPTY,
            not_present: Vec::new(),
        };
        // Each kernel name's group, matched once (not once per legacy word).
        let groups: Vec<Option<LegacyFeatures>> = state
            .names
            .iter()
            .map(|name| legacy_group_of(name).map(|g| g.flag))
            .collect();
        parse_set_args(
            args,
            |name| state.index_of(name),
            |target, on| match target {
                SetTarget::Legacy(legacy) => {
                    let mut any = false;
                    for (i, group) in groups.iter().enumerate() {
                        if *group == Some(legacy.flag) {
                            any = true;
                            request.name_bit(i, on);
                        }
                    }
                    if !any && !request.not_present.contains(&legacy.long_name) {
                        request.not_present.push(legacy.long_name);
                    }
                }
                SetTarget::Kernel(i) => request.name_bit(i, on),
            },
        )?;
        Ok(request)
    }

    fn name_bit(&mut self, i: usize, on: bool) {
        self.mask.set(i, true);
        if on {
            self.values.set(i, true);
        }
    }

    /// Whether the request names kernel bit `i`.
    pub fn names_bit(&self, i: usize) -> bool {
        self.mask.get(i)
    }

    /// The kernel features this request would move on `state`, without
    /// changing anything (a dry run's plan): named, not fixed, and not
    /// already at the wanted value.
    pub fn plan(&self, state: &FeatureState) -> Vec<String> {
        (0..state.names.len())
            .filter(|&i| {
                self.names_bit(i) && !state.is_fixed(i) && state.is_active(i) != self.values.get(i)
            })
            .map(|i| state.names[i].clone())
            .collect()
    }
}

/// What a change did, in ethtool's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReport {
    /// The state before.
    pub before: FeatureState,
    /// The state after (re-read from the kernel).
    pub after: FeatureState,
    /// The request.
    pub request: Request,
}

/// One line of "Actual changes:".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The kernel feature.
    pub feature: String,
    /// Its state now.
    pub active: bool,
    /// Whether the request named it.
    pub requested: bool,
    /// Whether it ended up other than requested (fixed, unsupported, or dropped by a dependency).
    pub refused: bool,
}

/// A change as JSON: `{"ifname", "status", "changes"}`, what
/// `offload_features_apply_json` and the pyo3 `apply_json` return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeJson<'a> {
    /// The interface.
    pub ifname: &'a IfName,
    /// The outcome in the one vocabulary.
    pub status: Status,
    /// Every line of "Actual changes:".
    pub changes: Vec<Change>,
}

impl ChangeReport {
    /// (moved, refused) feature names among those the request named.
    pub fn requested_outcome(&self) -> (Vec<String>, Vec<String>) {
        let (mut moved, mut refused) = (Vec::new(), Vec::new());
        for change in self.changes().into_iter().filter(|c| c.requested) {
            if change.refused {
                refused.push(change.feature);
            } else {
                moved.push(change.feature);
            }
        }
        (moved, refused)
    }

    /// This change in the vocabulary of every report (`offloadctl set --json`).
    pub fn outcome(&self) -> Outcome {
        let (changed, refused) = self.requested_outcome();
        let mut outcome = Outcome::new(self.after.ifname, None, self.status());
        outcome.changed = changed;
        outcome.refused = refused;
        outcome
    }

    /// The outcome of this change: changed, unchanged, partial or refused.
    pub fn status(&self) -> Status {
        let (moved, refused) = self.requested_outcome();
        Status::of(moved.len(), refused.len())
    }

    /// The JSON view.
    pub fn json(&self) -> ChangeJson<'_> {
        ChangeJson {
            ifname: &self.after.ifname,
            status: self.status(),
            changes: self.changes(),
        }
    }

    /// Every feature that changed or did not reach its requested value, in bit order.
    pub fn changes(&self) -> Vec<Change> {
        let (before, after, req) = (&self.before, &self.after, &self.request);
        (0..after.names.len())
            .filter_map(|i| {
                let named = req.mask.get(i);
                let refused = named && after.is_active(i) != req.values.get(i);
                let changed = before.is_active(i) != after.is_active(i);
                (refused || changed).then(|| Change {
                    feature: after.names[i].clone(),
                    active: after.is_active(i),
                    requested: named,
                    refused,
                })
            })
            .collect()
    }

    /// Whether no named bit reached its value (ethtool: "Could not change any
    /// device features"); true for an empty request too.
    pub fn nothing_changed(&self) -> bool {
        let changes = self.changes();
        let refused = changes.iter().filter(|c| c.refused).count();
        let named = (0..self.after.names.len())
            .filter(|&i| self.request.mask.get(i))
            .count();
        refused == named
    }

    /// ethtool 6.1's report: "Actual changes:" and a line per feature, when
    /// anything differs from what was asked or something unasked changed.
    pub fn render_ethtool(&self) -> String {
        let changes = self.changes();
        let diff = changes.iter().any(|c| c.refused || !c.requested);
        if !diff {
            return String::new();
        }
        let mut out = String::from("Actual changes:\n");
        for c in &changes {
            let state = if c.active { "on" } else { "off" };
            if c.refused {
                let wanted = if c.active { "off" } else { "on" };
                let _ = writeln!(out, "{}: {state} [requested {wanted}]", c.feature);
            } else if !c.requested {
                let _ = writeln!(out, "{}: {state} [not requested]", c.feature);
            } else {
                let _ = writeln!(out, "{}: {state}", c.feature);
            }
        }
        out
    }
}

/// Applies `request` to `ifname` (reads it first; see [`Ethtool::apply`]).
pub fn apply(ifname: &IfName, request: Request) -> Result<ChangeReport> {
    let ethtool = Ethtool::open()?;
    let before = ethtool.read(ifname)?;
    ethtool.apply(before, request)
}

/// [`Ethtool::apply`] on a fresh handle, for a state just read.
pub fn apply_to(before: FeatureState, request: Request) -> Result<ChangeReport> {
    Ethtool::open()?.apply(before, request)
}

impl Request {
    /// Sets the requested bits named by `mask` to their value in `requested`,
    /// limited to the changeable features of `state` (what restore writes).
    pub fn requested(state: &FeatureState, mask: FeatureBits, requested: FeatureBits) -> Request {
        let mask = mask.and(state.masks.changeable());
        Request {
            mask,
            values: requested.and(mask),
            not_present: Vec::new(),
        }
    }
}
