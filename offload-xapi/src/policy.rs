//! Offload policies for PIFs and VIFs: which `other-config:ethtool-*` keys
//! to set, on which objects, and what the host will really do with them.
//!
//! The seed sets six keys per object with one `xe ...-param-set` each; here
//! the whole pool is read in five calls, only differences are written, and
//! every object's outcome is reported.

use std::collections::BTreeMap;
use std::fmt;

use offload_core::features::{
    legacy_by_name, legacy_by_xapi_key, xapi_flag_value, xapi_key_applied, xapi_value_read,
    XapiObject, LEGACY,
};
use offload_core::{glob, presets};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::records::{is_null, PifKind, PoolView};

/// One key and the value to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The `other-config` key, e.g. `ethtool-tx`.
    pub key: String,
    /// `on`, `off`, `true` or `false`.
    pub value: String,
}

/// What to set on PIFs and on VIFs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub pif: Vec<Setting>,
    pub vif: Vec<Setting>,
}

/// The names `--preset` accepts (offload-core's preset table).
pub const PRESETS: [&str; presets::PRESETS.len()] = {
    let mut names = [""; presets::PRESETS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = presets::PRESETS[i].name;
        i += 1;
    }
    names
};

fn off(key: &str) -> Setting {
    Setting {
        key: key.to_string(),
        value: "off".to_string(),
    }
}

impl Policy {
    /// A named preset: `seed` (the seed's six keys off on PIFs and VIFs) or
    /// `tx-only` (XCP-ng's advice for pfSense/OPNsense guests: `ethtool-tx=off`
    /// on VIFs only).
    pub fn preset(name: &str) -> Result<Policy> {
        let preset = presets::by_name(name).ok_or_else(|| {
            Error::invalid(
                format!("--preset {name:?}"),
                format!("unknown preset (known: {})", PRESETS.join(", ")),
            )
        })?;
        let settings = |groups| presets::xapi_keys(groups).map(off).collect();
        Ok(Policy {
            name: preset.name.to_string(),
            pif: settings(preset.pif_keys),
            vif: settings(preset.vifs),
        })
    }

    /// `tx=off,sg=off`: ethtool short or long names or XAPI keys, values
    /// on|off|true|false. The same settings go to PIFs and VIFs; keys the
    /// host ignores on VIFs (gro, lro) are rejected there by [`Policy::check_for`].
    pub fn from_settings(spec: &str) -> Result<Policy> {
        let bad = |message: String| Error::invalid(format!("--set {spec:?}"), message);
        let mut settings: Vec<Setting> = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| bad(format!("{item:?} is not NAME=VALUE")))?;
            let (name, value) = (name.trim(), value.trim());
            let feature = legacy_by_xapi_key(name)
                .or_else(|| legacy_by_name(name))
                .ok_or_else(|| bad(format!("unknown offload {name:?}{}", suggestion(name))))?;
            let key = feature.xapi_key.ok_or_else(|| {
                bad(format!(
                    "{name:?} has no XAPI key; the host cannot persist it"
                ))
            })?;
            if xapi_flag_value(value).is_none() {
                return Err(bad(format!(
                    "value {value:?} for {name} must be on, off, true or false"
                )));
            }
            if settings.iter().any(|s| s.key == key) {
                return Err(bad(format!("{name} given twice")));
            }
            settings.push(Setting {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        if settings.is_empty() {
            return Err(bad("no settings".to_string()));
        }
        Ok(Policy {
            name: "custom".to_string(),
            pif: settings.clone(),
            vif: settings,
        })
    }

    /// The settings for one kind of object.
    pub fn settings_for(&self, object: XapiObject) -> &[Setting] {
        match object {
            XapiObject::Pif => &self.pif,
            XapiObject::Vif => &self.vif,
            // A bridge is a host device like a NIC: the PIF settings.
            XapiObject::Network => &self.pif,
        }
    }

    /// Refuses settings the host would silently drop on that kind of object.
    pub fn check_for(&self, object: XapiObject) -> Result<()> {
        for s in self.settings_for(object) {
            if !xapi_key_applied(object, &s.key) {
                return Err(Error::invalid(
                    format!("{}={}", s.key, s.value),
                    "the host ignores this key on VIFs (xenopsd passes only rx, tx, sg, tso, ufo, gso)",
                ));
            }
        }
        Ok(())
    }
}

/// " (did you mean ethtool-sg?)" for near misses of known keys and names.
fn suggestion(name: &str) -> String {
    let mut best: Option<(usize, &str)> = None;
    for f in LEGACY.iter() {
        for candidate in [Some(f.short_name), f.xapi_key].into_iter().flatten() {
            let d = edit_distance(name, candidate);
            if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, candidate));
            }
        }
    }
    best.map(|(_, c)| format!(" (did you mean {c}?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// What the host will do with one `ethtool-*` key found in other_config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum KeyVerdict {
    /// Read and applied (value on/true → on, off/false → off).
    Applied { on: bool },
    /// The key is read but the value is not one the host accepts; ignored
    /// with a log line only.
    IgnoredValue { reason: String },
    /// The host never reads this key on this kind of object.
    IgnoredKey { reason: String },
    /// A link setting (speed, duplex, autoneg, advertise), not an offload.
    LinkSetting,
}

/// Judges one `other-config` entry as the host will read it.
pub fn audit_key(object: XapiObject, key: &str, value: &str) -> KeyVerdict {
    if matches!(
        key,
        "ethtool-speed" | "ethtool-duplex" | "ethtool-autoneg" | "ethtool-advertise"
    ) {
        return KeyVerdict::LinkSetting;
    }
    if legacy_by_xapi_key(key).is_none() {
        return KeyVerdict::IgnoredKey {
            reason: format!("not a key the host reads{}", suggestion(key)),
        };
    }
    if !xapi_key_applied(object, key) {
        return KeyVerdict::IgnoredKey {
            reason: "xenopsd passes only rx, tx, sg, tso, ufo, gso to VIFs".to_string(),
        };
    }
    match xapi_value_read(object, value) {
        Some(on) => KeyVerdict::Applied { on },
        None if value.is_empty() && object == XapiObject::Vif => KeyVerdict::IgnoredValue {
            reason: "empty: the host treats it as unset".to_string(),
        },
        None => {
            let trimmed = value.trim_matches(|c| {
                matches!(
                    c,
                    '"' | '\'' | '\u{201c}' | '\u{201d}' | '\u{2018}' | '\u{2019}'
                )
            });
            let reason = if trimmed != value && xapi_flag_value(trimmed).is_some() {
                format!("value {value:?} has quotes around it (pasted from a web page?); the host needs exactly {trimmed}")
            } else if xapi_flag_value(&value.trim().to_ascii_lowercase()).is_some() {
                format!("value {value:?} must be lower case without spaces")
            } else {
                format!("value {value:?} is not on, off, true or false")
            };
            KeyVerdict::IgnoredValue { reason }
        }
    }
}

/// A selection of PIFs. Empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct PifFilter {
    /// Host name-labels, hostnames or uuids (globs).
    pub hosts: Vec<String>,
    /// Device names (globs), e.g. `eth*`.
    pub devices: Vec<String>,
    /// Network name-labels, bridges or uuids (globs).
    pub networks: Vec<String>,
    pub kinds: Vec<PifKind>,
}

/// A selection of VIFs: by default every VIF of every VM except the control
/// domain, templates and snapshots (the seed's selection).
#[derive(Debug, Clone, Default)]
pub struct VifFilter {
    /// VM name-labels (globs).
    pub vm_names: Vec<String>,
    pub vm_uuids: Vec<String>,
    /// Network name-labels, bridges or uuids (globs).
    pub networks: Vec<String>,
    /// Also the VIFs of custom templates (never built-in ones): VMs cloned
    /// or copied from them get the keys at creation.
    pub include_templates: bool,
}

/// A selection of networks (their bridges on every host). Empty selects all.
#[derive(Debug, Clone, Default)]
pub struct NetworkFilter {
    /// Network name-labels, bridges or uuids (globs), as `--network` of PIFs and VIFs.
    pub networks: Vec<String>,
}

/// The networks a filter selects, labelled `name (bridge)`, in label order.
pub fn select_networks(view: &PoolView, filter: &NetworkFilter) -> Result<Vec<Target>> {
    let mut selected: Vec<Target> = view
        .networks
        .iter()
        .filter(|(_, n)| {
            any_glob(
                &filter.networks,
                &[n.name_label.as_str(), n.bridge.as_str(), n.uuid.as_str()],
            )
        })
        .map(|(r, n)| Target {
            class: XapiObject::Network,
            reference: r.clone(),
            uuid: n.uuid.clone(),
            label: format!("{} ({})", n.name_label, n.bridge),
        })
        .collect();
    if selected.is_empty() && !filter.networks.is_empty() {
        return Err(Error::no_match("--network", "matches no network"));
    }
    selected.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(selected)
}

fn any_glob(patterns: &[String], candidates: &[&str]) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| candidates.iter().any(|c| glob::matches(p, c)))
}

/// One object a policy looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    #[serde(serialize_with = "crate::object::serialize_class")]
    pub class: XapiObject,
    #[serde(rename = "ref")]
    pub reference: String,
    pub uuid: String,
    /// `host/eth0` or `vm-name/VIF 0`, for people.
    pub label: String,
}

impl Target {
    /// A target known only by class and ref (tests, lookups).
    pub fn unlabelled(class: XapiObject, reference: &str) -> Target {
        Target {
            class,
            reference: reference.to_string(),
            uuid: String::new(),
            label: String::new(),
        }
    }
}

/// The PIFs a filter selects, in a stable order (host, device).
pub fn select_pifs(view: &PoolView, filter: &PifFilter) -> Result<Vec<Target>> {
    let mut selected: Vec<Target> = view
        .pifs
        .iter()
        .filter(|(_, p)| {
            let host = view.hosts.get(&p.host);
            let net = view.networks.get(&p.network);
            any_glob(
                &filter.hosts,
                &[
                    host.map_or("", |h| h.name_label.as_str()),
                    host.map_or("", |h| h.hostname.as_str()),
                    host.map_or("", |h| h.uuid.as_str()),
                ],
            ) && any_glob(&filter.devices, &[p.device.as_str()])
                && any_glob(
                    &filter.networks,
                    &[
                        net.map_or("", |n| n.name_label.as_str()),
                        net.map_or("", |n| n.bridge.as_str()),
                        net.map_or("", |n| n.uuid.as_str()),
                    ],
                )
                && (filter.kinds.is_empty() || filter.kinds.contains(&p.kind()))
        })
        .map(|(r, p)| pif_target(view, r, p))
        .collect();
    if selected.is_empty()
        && (!filter.hosts.is_empty() || !filter.devices.is_empty() || !filter.networks.is_empty())
    {
        return Err(Error::no_match("PIF selection", "matches no PIF"));
    }
    selected.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(selected)
}

/// The target for one PIF, labelled `host/device` (`host/eth1.100` for a VLAN).
pub fn pif_target(view: &PoolView, reference: &str, p: &crate::records::Pif) -> Target {
    Target {
        class: XapiObject::Pif,
        reference: reference.to_string(),
        uuid: p.uuid.clone(),
        label: format!("{}/{}", view.host_name(&p.host), pif_device_label(p)),
    }
}

fn pif_device_label(p: &crate::records::Pif) -> String {
    if p.vlan >= 0 {
        format!("{}.{}", p.device, p.vlan)
    } else {
        p.device.clone()
    }
}

/// The VIFs a filter selects, in a stable order (VM name, device).
pub fn select_vifs(view: &PoolView, filter: &VifFilter) -> Result<Vec<Target>> {
    let chosen = |vm: &crate::records::Vm| {
        vm.is_guest() || (filter.include_templates && vm.is_custom_template())
    };
    let vm_selected = |vm: &crate::records::Vm| {
        chosen(vm)
            && any_glob(&filter.vm_names, &[vm.name_label.as_str()])
            && (filter.vm_uuids.is_empty()
                || filter
                    .vm_uuids
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&vm.uuid)))
    };
    for pattern in &filter.vm_names {
        if !view
            .vms
            .values()
            .any(|vm| chosen(vm) && glob::matches(pattern, &vm.name_label))
        {
            return Err(Error::no_match(
                format!("--vm {pattern:?}"),
                "matches no VM (dom0, templates and snapshots are never selected)",
            ));
        }
    }
    for uuid in &filter.vm_uuids {
        if !view
            .vms
            .values()
            .any(|vm| chosen(vm) && vm.uuid.eq_ignore_ascii_case(uuid))
        {
            return Err(Error::no_match(
                format!("--vm-uuid {uuid:?}"),
                "is not the uuid of a VM in this pool",
            ));
        }
    }
    let mut selected: Vec<(String, i64, Target)> = view
        .vifs
        .iter()
        .filter_map(|(r, vif)| {
            let vm = view.vms.get(&vif.vm)?;
            let net = view.networks.get(&vif.network);
            let net_names = [
                net.map_or("", |n| n.name_label.as_str()),
                net.map_or("", |n| n.bridge.as_str()),
                net.map_or("", |n| n.uuid.as_str()),
            ];
            (vm_selected(vm) && any_glob(&filter.networks, &net_names)).then(|| {
                let target = Target {
                    class: XapiObject::Vif,
                    reference: r.clone(),
                    uuid: vif.uuid.clone(),
                    label: format!("{}/VIF {}", vm.name_label, vif.device),
                };
                (
                    vm.name_label.clone(),
                    vif.device.parse().unwrap_or(i64::MAX),
                    target,
                )
            })
        })
        .collect();
    if selected.is_empty() && !filter.networks.is_empty() {
        return Err(Error::no_match(
            "--network",
            "matches no VIF of a selected VM",
        ));
    }
    selected.sort_by(|a, b| (&a.0, a.1, &a.2.uuid).cmp(&(&b.0, b.1, &b.2.uuid)));
    Ok(selected.into_iter().map(|(_, _, t)| t).collect())
}

/// One key to write on one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    pub key: String,
    /// The value before (None: key absent).
    pub from: Option<String>,
    /// The value after (None: key removed).
    pub to: Option<String>,
}

/// The current other_config of a target.
pub fn other_config_of<'v>(
    view: &'v PoolView,
    target: &Target,
) -> Option<&'v BTreeMap<String, String>> {
    match target.class {
        XapiObject::Pif => view.pifs.get(&target.reference).map(|p| &p.other_config),
        XapiObject::Vif => view.vifs.get(&target.reference).map(|v| &v.other_config),
        XapiObject::Network => view
            .networks
            .get(&target.reference)
            .map(|n| &n.other_config),
    }
}

/// The keys to write so `target` carries `settings`: nothing where the host
/// already reads the wanted setting (`false` for `off`, as another writer
/// may have spelled it).
pub fn plan_apply(
    object: XapiObject,
    current: &BTreeMap<String, String>,
    settings: &[Setting],
) -> Vec<KeyChange> {
    let read = |value: &str| xapi_value_read(object, value);
    settings
        .iter()
        .filter(|s| match current.get(&s.key) {
            None => true,
            Some(found) => {
                found != &s.value && (read(found).is_none() || read(found) != read(&s.value))
            }
        })
        .map(|s| KeyChange {
            key: s.key.clone(),
            from: current.get(&s.key).cloned(),
            to: Some(s.value.clone()),
        })
        .collect()
}

/// A key another writer set to a value the host applies and the policy
/// contradicts (Xen Orchestra 6 writes `ethtool-tx=true` on every VIF it
/// creates): left as it is unless the caller overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplicitKey {
    pub key: String,
    /// The value found (the host reads it as `on`).
    pub found: String,
    pub on: bool,
    /// The policy's value.
    pub wanted: String,
}

/// The rule for explicit values that contradict the policy (`watch`'s
/// default): [`plan_apply`] without the keys whose current value the host
/// applies as the opposite of the policy; those are returned apart. A value
/// the host ignores (`"off"` in quotes, `Off`) is not explicit: it is
/// replaced like a missing key.
pub fn plan_apply_keeping_explicit(
    object: XapiObject,
    current: &BTreeMap<String, String>,
    settings: &[Setting],
) -> (Vec<KeyChange>, Vec<ExplicitKey>) {
    let mut kept = Vec::new();
    let changes = plan_apply(object, current, settings)
        .into_iter()
        .filter(|change| {
            let wanted = change
                .to
                .as_deref()
                .and_then(|v| xapi_value_read(object, v));
            match change
                .from
                .as_deref()
                .map(|v| (v, xapi_value_read(object, v)))
            {
                Some((found, Some(on))) if Some(on) != wanted => {
                    kept.push(ExplicitKey {
                        key: change.key.clone(),
                        found: found.to_string(),
                        on,
                        wanted: change.to.clone().unwrap_or_default(),
                    });
                    false
                }
                _ => true,
            }
        })
        .collect();
    (changes, kept)
}

/// The keys to remove: the policy's keys, or with `all_offload_keys` every
/// `ethtool-*` offload key (link settings stay).
pub fn plan_clear(
    current: &BTreeMap<String, String>,
    settings: &[Setting],
    all_offload_keys: bool,
) -> Vec<KeyChange> {
    current
        .iter()
        .filter(|(k, _)| {
            if all_offload_keys {
                k.starts_with("ethtool-")
                    && !matches!(
                        audit_key(XapiObject::Pif, k, "off"),
                        KeyVerdict::LinkSetting
                    )
            } else {
                settings.iter().any(|s| &s.key == *k)
            }
        })
        .map(|(k, v)| KeyChange {
            key: k.clone(),
            from: Some(v.clone()),
            to: None,
        })
        .collect()
}

/// How one object compares with a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyCheck {
    pub key: String,
    pub wanted: String,
    pub found: Option<String>,
    /// The host will run with the wanted setting.
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<KeyProblem>,
}

/// Why a key does not give the wanted setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key is absent.
    Missing,
    /// The host reads the opposite value.
    Is { on: bool },
    /// The host ignores the key or its value (the reason says why).
    Ignored(String),
    /// A link setting, not an offload.
    LinkSetting,
    /// The key is absent and `PIF.properties` gives the opposite value.
    FromProperties { on: bool },
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Missing => f.write_str("missing"),
            KeyProblem::Is { on } => write!(f, "is {}", if *on { "on" } else { "off" }),
            KeyProblem::Ignored(reason) => f.write_str(reason),
            KeyProblem::LinkSetting => f.write_str("link setting"),
            KeyProblem::FromProperties { on } => write!(
                f,
                "missing: the host applies PIF.properties gro={}",
                if *on { "on" } else { "off" }
            ),
        }
    }
}

impl Serialize for KeyProblem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Checks `current` against `settings` as the host reads it: `true` counts
/// as `on`, a curly-quoted `"off"` does not count at all, and an absent key
/// with a value in `properties` (PIF gro) counts as that value, as
/// `Nm.determine_ethtool_settings` passes it to networkd.
pub fn verify_keys(
    object: XapiObject,
    current: &BTreeMap<String, String>,
    properties: &BTreeMap<String, String>,
    settings: &[Setting],
) -> Vec<KeyCheck> {
    settings
        .iter()
        .map(|s| {
            let wanted = xapi_flag_value(&s.value);
            let found = current.get(&s.key).cloned();
            let property = s
                .key
                .strip_prefix("ethtool-")
                .and_then(|name| properties.get(name))
                .filter(|_| object != XapiObject::Vif);
            let (ok, problem) = match &found {
                None => match property.map(|p| xapi_flag_value(p)) {
                    Some(Some(on)) if Some(on) == wanted => (true, None),
                    Some(Some(on)) => (false, Some(KeyProblem::FromProperties { on })),
                    _ => (false, Some(KeyProblem::Missing)),
                },
                Some(v) => match audit_key(object, &s.key, v) {
                    KeyVerdict::Applied { on } if Some(on) == wanted => (true, None),
                    KeyVerdict::Applied { on } => (false, Some(KeyProblem::Is { on })),
                    KeyVerdict::IgnoredValue { reason } | KeyVerdict::IgnoredKey { reason } => {
                        (false, Some(KeyProblem::Ignored(reason)))
                    }
                    KeyVerdict::LinkSetting => (false, Some(KeyProblem::LinkSetting)),
                },
            };
            KeyCheck {
                key: s.key.clone(),
                wanted: s.value.clone(),
                found,
                ok,
                problem,
            }
        })
        .collect()
}

/// Why a device still runs with older settings after a change, and what
/// would make the host re-read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// An attached PIF: the next `PIF.plug` or host boot applies the keys.
    PifAttached {
        /// The management interface: a replug briefly interrupts it.
        management: bool,
    },
    /// An attached VIF of a running VM: the next VIF plug, VM start or API reboot.
    VifOfRunningVm,
    /// A VIF of a paused VM: its backend exists and keeps the old settings;
    /// nothing can be replugged or rebooted until the VM is unpaused.
    VifOfPausedVm,
    /// A network with attached PIFs: each host's bridge applies the keys at
    /// the next `PIF.plug` of the network's PIF there, or xapi start.
    NetworkBridges,
}

impl Pending {
    /// Whether a replug or reboot can make the host re-read the keys now.
    pub fn actionable(self) -> bool {
        !matches!(self, Pending::VifOfPausedVm)
    }
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::PifAttached { management } => {
                f.write_str("host applies it at the next PIF.plug or host boot")?;
                if *management {
                    f.write_str(" (management interface: replug briefly interrupts it)")?;
                }
                Ok(())
            }
            Pending::VifOfRunningVm => {
                f.write_str("VM is running: applies at the next VIF plug, VM start or API reboot")
            }
            Pending::VifOfPausedVm => f.write_str(
                "VM is paused: applies at the next VIF plug or API reboot once it is unpaused",
            ),
            Pending::NetworkBridges => f.write_str(
                "bridges apply it at the next PIF.plug of the network's PIFs, xapi start or host boot",
            ),
        }
    }
}

impl Serialize for Pending {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether a target's device still runs with older settings after a change.
pub fn pending_reason(view: &PoolView, target: &Target) -> Option<Pending> {
    match target.class {
        XapiObject::Pif => {
            let pif = view.pifs.get(&target.reference)?;
            pif.currently_attached.then_some(Pending::PifAttached {
                management: pif.management,
            })
        }
        XapiObject::Vif => {
            let vif = view.vifs.get(&target.reference)?;
            let vm = view.vms.get(&vif.vm)?;
            if !vif.currently_attached {
                None
            } else if vm.is_running() {
                Some(Pending::VifOfRunningVm)
            } else if vm.power_state.eq_ignore_ascii_case("paused") {
                Some(Pending::VifOfPausedVm)
            } else {
                None
            }
        }
        XapiObject::Network => view
            .pifs
            .values()
            .any(|p| p.network == target.reference && p.currently_attached)
            .then_some(Pending::NetworkBridges),
    }
}

/// The VM a VIF belongs to, when it is running.
pub fn running_vm_of(view: &PoolView, vif_ref: &str) -> Option<String> {
    let vif = view.vifs.get(vif_ref)?;
    let vm = view.vms.get(&vif.vm)?;
    (vm.is_running() && !is_null(&vif.vm)).then(|| vif.vm.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn presets_are_the_seed_and_xcp_ng_advice() {
        let seed = Policy::preset("seed").unwrap();
        assert_eq!(seed.pif.len(), 6);
        assert_eq!(seed.vif, seed.pif);
        assert!(seed.pif.iter().all(|s| s.value == "off"));
        let tx = Policy::preset("tx-only").unwrap();
        assert!(tx.pif.is_empty());
        assert_eq!(tx.vif, vec![off("ethtool-tx")]);
        assert!(Policy::preset("fast")
            .unwrap_err()
            .to_string()
            .contains("\"fast\""));
    }

    #[test]
    fn settings_accept_every_spelling_and_reject_the_rest() {
        let p = Policy::from_settings("tx=off, scatter-gather=off,ethtool-tso=false").unwrap();
        let keys: Vec<_> = p
            .pif
            .iter()
            .map(|s| (s.key.as_str(), s.value.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("ethtool-tx", "off"),
                ("ethtool-sg", "off"),
                ("ethtool-tso", "false")
            ]
        );
        for (bad, needle) in [
            ("sgo=off", "did you mean"),
            ("tx=0", "must be on, off"),
            ("tx", "NAME=VALUE"),
            ("rxvlan=off", "no XAPI key"),
            ("tx=off,tx=on", "twice"),
            ("", "no settings"),
        ] {
            let err = Policy::from_settings(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad}: {err}");
        }
        let gro = Policy::from_settings("gro=off").unwrap();
        assert!(gro.check_for(XapiObject::Pif).is_ok());
        assert!(gro
            .check_for(XapiObject::Vif)
            .unwrap_err()
            .to_string()
            .contains("ignores"));
    }

    #[test]
    fn audit_reads_values_like_the_host() {
        assert_eq!(
            audit_key(XapiObject::Vif, "ethtool-tx", "false"),
            KeyVerdict::Applied { on: false }
        );
        let KeyVerdict::IgnoredValue { reason } =
            audit_key(XapiObject::Pif, "ethtool-gso", "\u{201d}off\u{201d}")
        else {
            panic!("curly quotes must be ignored")
        };
        assert!(reason.contains("quotes"), "{reason}");
        assert!(matches!(
            audit_key(XapiObject::Pif, "ethtool-tx", "Off"),
            KeyVerdict::IgnoredValue { .. }
        ));
        let KeyVerdict::IgnoredKey { reason } = audit_key(XapiObject::Pif, "ethtool-sgo", "off")
        else {
            panic!()
        };
        assert!(reason.contains("ethtool-sg"), "{reason}");
        assert!(matches!(
            audit_key(XapiObject::Vif, "ethtool-gro", "off"),
            KeyVerdict::IgnoredKey { .. }
        ));
        assert_eq!(
            audit_key(XapiObject::Pif, "ethtool-speed", "1000"),
            KeyVerdict::LinkSetting
        );
    }

    #[test]
    fn plans_write_only_differences() {
        let policy = Policy::preset("seed").unwrap();
        let current = map(&[
            ("ethtool-tx", "off"),
            ("ethtool-sg", "on"),
            ("ethtool-rx", "false"),
            ("mtu", "9000"),
        ]);
        let plan = plan_apply(XapiObject::Pif, &current, &policy.pif);
        assert_eq!(plan.len(), 4, "rx=false already reads as off: {plan:?}");
        assert!(plan
            .iter()
            .any(|c| c.key == "ethtool-sg" && c.from.as_deref() == Some("on")));
        assert!(!plan.iter().any(|c| c.key == "ethtool-tx"));
        let clear = plan_clear(
            &map(&[
                ("ethtool-tx", "off"),
                ("ethtool-speed", "1000"),
                ("ethtool-sgo", "off"),
            ]),
            &[],
            true,
        );
        let keys: Vec<_> = clear.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["ethtool-sgo", "ethtool-tx"]);
    }

    #[test]
    fn other_writers_values_read_as_the_host_reads_them() {
        // Xen Orchestra: true/false; XO 6 sets ethtool-tx=true on new VIFs.
        let settings = Policy::preset("seed").unwrap().vif;
        let xo = map(&[
            ("ethtool-tx", "true"),
            ("ethtool-sg", "false"),
            ("ethtool-tso", "Off"),
        ]);
        let checks = verify_keys(XapiObject::Vif, &xo, &BTreeMap::new(), &settings);
        let tx = checks.iter().find(|c| c.key == "ethtool-tx").unwrap();
        assert_eq!(tx.problem, Some(KeyProblem::Is { on: true }));
        assert!(checks.iter().find(|c| c.key == "ethtool-sg").unwrap().ok);
        // vif-real reads a value through $(xenstore-read): trailing newlines go.
        assert_eq!(
            audit_key(XapiObject::Vif, "ethtool-tx", "off\n"),
            KeyVerdict::Applied { on: false }
        );
        assert!(matches!(
            audit_key(XapiObject::Pif, "ethtool-tx", "off\n"),
            KeyVerdict::IgnoredValue { .. }
        ));
        assert!(matches!(
            audit_key(XapiObject::Vif, "ethtool-tx", ""),
            KeyVerdict::IgnoredValue { reason } if reason.contains("unset")
        ));

        let (changes, kept) = plan_apply_keeping_explicit(XapiObject::Vif, &xo, &settings);
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].key.as_str(), kept[0].found.as_str()),
            ("ethtool-tx", "true")
        );
        let written: Vec<_> = changes.iter().map(|c| c.key.as_str()).collect();
        assert!(
            written.contains(&"ethtool-tso"),
            "an ignored value is replaced"
        );
        assert!(written.contains(&"ethtool-gso"), "a missing key is written");
        assert!(!written.contains(&"ethtool-tx") && !written.contains(&"ethtool-sg"));
    }

    #[test]
    fn verify_counts_true_as_on_and_quotes_as_missing() {
        let settings = Policy::from_settings("tx=off,sg=off,tso=off").unwrap().vif;
        let checks = verify_keys(
            XapiObject::Vif,
            &map(&[("ethtool-tx", "false"), ("ethtool-sg", "\"off\"")]),
            &BTreeMap::new(),
            &settings,
        );
        assert!(checks[0].ok);
        assert!(!checks[1].ok);
        assert!(matches!(&checks[1].problem, Some(KeyProblem::Ignored(r)) if r.contains("quotes")));
        assert_eq!(checks[2].problem, Some(KeyProblem::Missing));
        assert_eq!(
            serde_json::to_value(&checks[2]).unwrap()["problem"],
            "missing"
        );
    }

    #[test]
    fn paused_vms_keep_old_settings_but_cannot_be_replugged() {
        use crate::records::{Vif, Vm};
        let mut view = PoolView::default();
        for (name, state) in [("run", "Running"), ("pause", "Paused"), ("halt", "Halted")] {
            view.vms.insert(
                name.into(),
                Vm {
                    power_state: state.into(),
                    ..Vm::default()
                },
            );
            view.vifs.insert(
                name.into(),
                Vif {
                    vm: name.into(),
                    currently_attached: state != "Halted",
                    ..Vif::default()
                },
            );
        }
        let pending = |r: &str| pending_reason(&view, &Target::unlabelled(XapiObject::Vif, r));
        assert_eq!(pending("run"), Some(Pending::VifOfRunningVm));
        assert_eq!(pending("pause"), Some(Pending::VifOfPausedVm));
        assert!(!Pending::VifOfPausedVm.actionable());
        assert_eq!(pending("halt"), None);
    }
}
