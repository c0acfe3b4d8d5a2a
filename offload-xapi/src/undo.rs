//! A real undo for `apply`: `apply --save FILE` records, before anything is
//! written, each object's previous `ethtool-*` values and its device's live
//! offloads (read in dom0 through the offload plugin); `restore FILE` puts
//! back exactly that.
//!
//! Why removing keys is not enough, from xapi's source: `Nm.determine_ethtool_settings`
//! (ocaml/xapi/nm.ml) passes networkd only the keys that are present, and
//! networkd's `Interface.set_ethtool_offload` (ocaml/networkd/bin/network_server.ml)
//! runs `ethtool -K` with those (plus its default `lro off`). A removed PIF key
//! leaves the NIC as the last `ethtool -K` left it, until a driver reload or
//! a host reboot. So a restore writes the saved values back; where a key did
//! not exist it writes the device's saved state explicitly (`on` where the
//! NIC was on), plugs the PIF (its bond master, once) so networkd runs
//! `ethtool -K` with them, and only then removes the keys that did not exist.
//! A VIF gets a fresh backend device at its next plug or VM start (xenopsd's
//! `vif-real` applies only present keys to a new `vifD.N`), so for VIFs the
//! saved values are written back and absent keys removed; `--replug` or
//! `--reboot` make running VMs pick that up.
//!
//! The file follows the local snapshots' rule ([`offload_ethtool::save_file`]):
//! never replaced; `force` adds objects and keys not yet saved and keeps
//! everything already saved (the state from before the first run); a damaged
//! file is refused before anything is written to the pool.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use offload_core::features::{legacy_by_xapi_key, legacy_group_active, XapiObject, LEGACY};
use offload_ethtool::save_file::{self, SavedState};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::effect::plug_targets;
use crate::error::{Error, Result};
use crate::follow_up::{take_effect, ActionOutcome};
use crate::object::class_name;
use crate::ops::{run_on, BulkReport, ObjectOutcome, Planned, RunOptions, Selection, Status};
use crate::policy::{pif_target, plan_apply, KeyChange, Policy, Target};
use crate::records::{is_null, PoolView};
use crate::wire::Value;

/// The schema tag of an undo file.
pub const SCHEMA: &str = "offload.xapi-undo/1";

/// The plugin (`/etc/xapi.d/plugins/offload`) and function that read a
/// device's features in dom0.
const PLUGIN: &str = "offload";
const GET_FEATURES: &str = "get_features";

/// Where `apply --save` writes.
#[derive(Debug, Clone)]
pub struct SaveTo {
    pub path: PathBuf,
    /// Add to an existing file (what it holds wins) instead of refusing.
    pub force: bool,
}

/// A whole undo file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoFile {
    /// [`SCHEMA`].
    pub schema: String,
    pub objects: Vec<SavedObject>,
}

/// One PIF or VIF as it was before the first `apply --save`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedObject {
    /// `PIF` or `VIF`.
    pub class: String,
    pub uuid: String,
    /// `host/eth0` or `vm/VIF 0`, for people.
    pub label: String,
    /// Each key the apply wrote, with its value before (`None`: absent).
    pub keys: BTreeMap<String, Option<String>>,
    /// The device's live offloads before, read in dom0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<SavedDevice>,
    /// Why the live offloads are not known (no device, the plugin failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_unknown: Option<String>,
}

/// A device's offloads as dom0 ran them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDevice {
    /// The host's uuid.
    pub host: String,
    /// `eth0`, `vif3.0`.
    pub ifname: String,
    /// Legacy group short name (`tx`) → on, as `ethtool -k` shows the group.
    pub offloads: BTreeMap<String, bool>,
}

impl SavedObject {
    fn object(&self) -> Option<XapiObject> {
        match self.class.as_str() {
            "PIF" => Some(XapiObject::Pif),
            "VIF" => Some(XapiObject::Vif),
            _ => None,
        }
    }

    /// The value to write back for a key that did not exist: the device's
    /// saved state of its group, when known.
    fn explicit_value(&self, key: &str) -> Option<&'static str> {
        let group = legacy_by_xapi_key(key)?;
        let on = *self.device.as_ref()?.offloads.get(group.short_name)?;
        Some(if on { "on" } else { "off" })
    }
}

impl SavedState for UndoFile {
    fn reads_schema(schema: &str) -> bool {
        schema == SCHEMA
    }

    fn schema(&self) -> &str {
        &self.schema
    }

    /// Objects and keys already saved keep their entry (the state before the
    /// first run); new objects and new keys of saved objects are added.
    fn merged_into(self, mut older: UndoFile) -> UndoFile {
        for saved in self.objects {
            match older
                .objects
                .iter_mut()
                .find(|o| o.uuid == saved.uuid && o.class == saved.class)
            {
                Some(old) => {
                    for (key, before) in saved.keys {
                        old.keys.entry(key).or_insert(before);
                    }
                    if old.device.is_none() && saved.device.is_some() {
                        old.device = saved.device;
                        old.device_unknown = None;
                    }
                }
                None => older.objects.push(saved),
            }
        }
        older
    }
}

/// Reads an undo file.
pub fn load(path: &Path) -> Result<UndoFile> {
    Ok(save_file::load(path)?)
}

/// `apply` that first saves what it is about to change: the file is checked
/// before the pool is read (a second save without `force`, or a damaged
/// file, stops here), written before the first key, and a dry run writes none.
pub fn apply_saving(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    options: &RunOptions,
    save: &SaveTo,
) -> Result<BulkReport> {
    policy.check_for(selection.object())?;
    if selection.object() == XapiObject::Network {
        return Err(Error::invalid(
            "--save",
            "network keys are not saved: an undo file holds PIFs and VIFs",
        ));
    }
    save_file::check_writable::<UndoFile>(&save.path, save.force)?;
    let started = Instant::now();
    let calls_before = client.calls_made();
    let (view, targets) = selection.resolve(client)?;
    let settings = policy.settings_for(selection.object());
    let planned = Planned {
        policy_name: &policy.name,
        object: selection.object(),
        view: &view,
        targets,
    };
    let mut report = run_on(
        client,
        &planned,
        options,
        |_, current| plan_apply(planned.object, current, settings).into(),
        |outcomes| {
            let file = UndoFile {
                schema: SCHEMA.to_string(),
                objects: saved_objects(client, &view, outcomes, options),
            };
            Ok(save_file::save(&save.path, file, save.force)?)
        },
    )?;
    report.calls = client.calls_made() - calls_before;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The objects about to be written, with their keys' previous values and
/// their devices' live offloads (one plugin call per device, in parallel).
fn saved_objects(
    client: &Client,
    view: &PoolView,
    outcomes: &[ObjectOutcome],
    options: &RunOptions,
) -> Vec<SavedObject> {
    let work: Vec<&ObjectOutcome> = outcomes
        .iter()
        .filter(|o| o.status == Status::NotAttempted)
        .collect();
    let slots: Vec<Mutex<Option<SavedObject>>> = work.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.workers.clamp(1, 8).min(work.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(outcome) = work.get(i) else { break };
                let (device, device_unknown) = match read_device(client, view, &outcome.target) {
                    Ok(device) => (Some(device), None),
                    Err(why) => (None, Some(why)),
                };
                let saved = SavedObject {
                    class: class_name(outcome.target.class).to_string(),
                    uuid: outcome.target.uuid.clone(),
                    label: outcome.target.label.clone(),
                    keys: outcome
                        .changes
                        .iter()
                        .map(|c| (c.key.clone(), c.from.clone()))
                        .collect(),
                    device,
                    device_unknown,
                };
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(saved);
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

/// The dom0 device of a target and its host: a PIF's own device, a VIF's
/// `vif<domid>.<device>` while its VM has a domain.
fn device_of(view: &PoolView, target: &Target) -> std::result::Result<(String, String), String> {
    match target.class {
        XapiObject::Pif => {
            let pif = view.pifs.get(&target.reference).ok_or("not in the pool")?;
            Ok((pif.host.clone(), pif.device.clone()))
        }
        XapiObject::Network => Err("network keys are not saved".into()),
        XapiObject::Vif => {
            let vif = view.vifs.get(&target.reference).ok_or("not in the pool")?;
            let vm = view.vms.get(&vif.vm).ok_or("its VM is not in the pool")?;
            if vm.domid < 0 || is_null(&vm.resident_on) || !vif.currently_attached {
                return Err(
                    "no device: the VM has no running domain (its next start creates a fresh one)"
                        .into(),
                );
            }
            Ok((
                vm.resident_on.clone(),
                format!("vif{}.{}", vm.domid, vif.device),
            ))
        }
    }
}

/// Reads a target's device offloads through the plugin.
fn read_device(
    client: &Client,
    view: &PoolView,
    target: &Target,
) -> std::result::Result<SavedDevice, String> {
    let (host, ifname) = device_of(view, target)?;
    let answer = client
        .call(
            "host.call_plugin",
            &[
                Value::str(host.as_str()),
                Value::str(PLUGIN),
                Value::str(GET_FEATURES),
                Value::string_map([("ifname", ifname.as_str())]),
            ],
        )
        .map_err(|e| format!("reading {ifname} through the {PLUGIN} plugin: {e}"))?;
    let text = answer
        .as_str()
        .ok_or_else(|| format!("{PLUGIN} plugin: {GET_FEATURES} answered a non-string"))?;
    let offloads = offloads_of_plugin_answer(text)
        .map_err(|e| format!("{PLUGIN} plugin: {GET_FEATURES} answer for {ifname}: {e}"))?;
    Ok(SavedDevice {
        host: view
            .hosts
            .get(&host)
            .map_or(host.clone(), |h| h.uuid.clone()),
        ifname,
        offloads,
    })
}

/// The legacy groups XAPI has keys for, from the plugin's `get_features`
/// answer (an `offloadctl show --json` entry: `features: [{name, active}]`).
pub fn offloads_of_plugin_answer(
    text: &str,
) -> std::result::Result<BTreeMap<String, bool>, String> {
    #[derive(Deserialize)]
    struct Feature {
        name: String,
        active: bool,
    }
    #[derive(Deserialize)]
    struct Entry {
        features: Vec<Feature>,
    }
    let entry: Entry = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(LEGACY
        .iter()
        .filter(|group| group.xapi_key.is_some())
        .filter_map(|group| {
            let on = legacy_group_active(
                group,
                entry.features.iter().map(|f| (f.name.as_str(), f.active)),
            )?;
            Some((group.short_name.to_string(), on))
        })
        .collect())
}

/// How `restore` runs.
#[derive(Clone, Default)]
pub struct RestoreOptions {
    pub run: RunOptions,
    /// VIFs: unplug and plug those of running VMs afterwards.
    pub replug: bool,
    /// VIFs: clean-reboot running VMs afterwards (where no replug worked).
    pub reboot: bool,
    pub reboot_limit: usize,
}

/// A saved object that keeps explicit keys after the restore, and why.
#[derive(Debug, Clone, Serialize)]
pub struct KeptExplicit {
    pub uuid: String,
    pub label: String,
    pub keys: Vec<String>,
    pub reason: String,
}

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// Per class: the saved values (and, on PIFs, the device's saved state
    /// for keys that did not exist) written back.
    pub written: Vec<BulkReport>,
    /// `PIF.plug` so networkd runs `ethtool -K` with them; VIF replugs and
    /// reboots when asked.
    pub actions: Vec<ActionOutcome>,
    /// Per class: the keys that did not exist, removed.
    pub removed: Vec<BulkReport>,
    /// PIFs whose explicit values stay (not attached, plug failed).
    pub kept: Vec<KeptExplicit>,
    /// Saved objects that are no longer in the pool (uuid, label).
    pub missing: Vec<(String, String)>,
    /// Saved objects whose device state was not known: keys that did not
    /// exist are removed without switching anything back on.
    pub unknown_devices: Vec<(String, String)>,
}

impl RestoreReport {
    pub fn failed(&self) -> bool {
        self.written.iter().chain(&self.removed).any(|r| r.failed())
            || self.actions.iter().any(|a| !a.ok)
    }
}

/// Puts back what `file` saved (see the module documentation for the order).
pub fn restore(
    client: &Client,
    file: &UndoFile,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    let mut report = RestoreReport {
        written: Vec::new(),
        actions: Vec::new(),
        removed: Vec::new(),
        kept: Vec::new(),
        missing: Vec::new(),
        unknown_devices: Vec::new(),
    };
    for object in [XapiObject::Pif, XapiObject::Vif] {
        let saved: Vec<&SavedObject> = file
            .objects
            .iter()
            .filter(|o| o.object() == Some(object))
            .collect();
        if saved.is_empty() {
            continue;
        }
        let pifs = object == XapiObject::Pif;
        let view = PoolView::fetch_classes(client, pifs, !pifs)?;
        let targets = targets_of(&view, object, &saved, &mut report.missing);
        let by_uuid = |t: &Target| saved.iter().copied().find(|s| s.uuid == t.uuid);
        for s in &saved {
            if s.device.is_none() && s.keys.values().any(Option::is_none) && pifs {
                report
                    .unknown_devices
                    .push((s.uuid.clone(), s.label.clone()));
            }
        }
        let name = format!("restore ({})", class_name(object));
        let planned = Planned {
            policy_name: &name,
            object,
            view: &view,
            targets: targets.clone(),
        };
        // Phase 1: saved values; on PIFs the device's state where a key did
        // not exist; on VIFs absent keys are removed at once.
        let mut written = run_on(
            client,
            &planned,
            &options.run,
            |target, current| {
                by_uuid(target)
                    .map(|s| first_phase(s, object, current))
                    .unwrap_or_default()
                    .into()
            },
            |_| Ok(()),
        )?;
        if !pifs {
            if !options.run.dry_run && (options.replug || options.reboot) {
                report.actions.extend(take_effect(
                    client,
                    &written,
                    options.replug,
                    options.reboot,
                    options.reboot_limit,
                )?);
            }
            report.written.push(written);
            continue;
        }
        // Phase 2: PIF.plug (a bond master once, never a slave), so networkd
        // runs ethtool -K with the explicit values.
        let plugs = if options.run.dry_run {
            Vec::new()
        } else {
            take_effect(client, &written, true, false, 0)?
        };
        // Phase 3: remove the keys that did not exist where the host has
        // applied the explicit values (or the device state is unknown).
        let fresh = if options.run.dry_run {
            view.clone()
        } else {
            PoolView::fetch_classes(client, true, false)?
        };
        let mut removable: Vec<Target> = Vec::new();
        for target in &targets {
            let Some(s) = by_uuid(target) else { continue };
            let absent: Vec<String> = s
                .keys
                .iter()
                .filter(|(_, before)| before.is_none())
                .map(|(k, _)| k.clone())
                .collect();
            if absent.is_empty() {
                continue;
            }
            let outcome = written
                .objects
                .iter()
                .find(|o| o.target.uuid == target.uuid);
            let written_ok = outcome.is_some_and(|o| {
                matches!(
                    o.status,
                    Status::Changed | Status::Unchanged | Status::WouldChange
                )
            });
            let reason = if s.device.is_none() || options.run.dry_run {
                None
            } else if !written_ok {
                Some("writing the saved state failed".to_string())
            } else if !outcome.is_some_and(|o| o.live) {
                Some(
                    "not attached: the explicit values apply at its next PIF.plug; run restore \
                     again after it to remove them"
                        .to_string(),
                )
            } else {
                plug_failure(&fresh, target, &plugs)
            };
            match reason {
                None => removable.push(target.clone()),
                Some(reason) => report.kept.push(KeptExplicit {
                    uuid: s.uuid.clone(),
                    label: s.label.clone(),
                    keys: absent,
                    reason,
                }),
            }
        }
        let planned = Planned {
            policy_name: &name,
            object,
            view: &fresh,
            targets: removable,
        };
        let removed = run_on(
            client,
            &planned,
            &options.run,
            |target, current| {
                by_uuid(target)
                    .map(|s| absent_keys_removed(s, current, options.run.dry_run))
                    .unwrap_or_default()
                    .into()
            },
            |_| Ok(()),
        )?;
        // Plugged here, or listed as kept: nothing is left for a replug hint.
        for o in &mut written.objects {
            o.pending = None;
        }
        report.written.push(written);
        report.actions.extend(plugs);
        report.removed.push(removed);
    }
    Ok(report)
}

/// The saved objects still in the pool, as targets (by uuid); the others
/// are listed in `missing`.
fn targets_of(
    view: &PoolView,
    object: XapiObject,
    saved: &[&SavedObject],
    missing: &mut Vec<(String, String)>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    for s in saved {
        let found = match object {
            XapiObject::Pif => view
                .pifs
                .iter()
                .find(|(_, p)| p.uuid.eq_ignore_ascii_case(&s.uuid))
                .map(|(r, p)| pif_target(view, r, p)),
            XapiObject::Vif => view
                .vifs
                .iter()
                .find(|(_, v)| v.uuid.eq_ignore_ascii_case(&s.uuid))
                .map(|(r, v)| Target {
                    class: XapiObject::Vif,
                    reference: r.clone(),
                    uuid: v.uuid.clone(),
                    label: s.label.clone(),
                }),
            XapiObject::Network => None,
        };
        match found {
            Some(t) => targets.push(t),
            None => missing.push((s.uuid.clone(), s.label.clone())),
        }
    }
    targets
}

/// Phase 1 for one object: each saved value back; a key that did not exist
/// becomes the device's saved state on a PIF (nothing when unknown), and is
/// removed on a VIF.
fn first_phase(
    saved: &SavedObject,
    object: XapiObject,
    current: &BTreeMap<String, String>,
) -> Vec<KeyChange> {
    saved
        .keys
        .iter()
        .filter_map(|(key, before)| {
            let to = match (before, object) {
                (Some(value), _) => Some(value.clone()),
                (None, XapiObject::Pif | XapiObject::Network) => {
                    Some(saved.explicit_value(key)?.to_string())
                }
                (None, XapiObject::Vif) => None,
            };
            let from = current.get(key).cloned();
            (from != to).then(|| KeyChange {
                key: key.clone(),
                from,
                to,
            })
        })
        .collect()
}

/// Phase 3 for one PIF: the keys that did not exist, removed (in a dry run,
/// also those phase 1 would have written).
fn absent_keys_removed(
    saved: &SavedObject,
    current: &BTreeMap<String, String>,
    dry_run: bool,
) -> Vec<KeyChange> {
    saved
        .keys
        .iter()
        .filter(|(key, before)| {
            before.is_none()
                && (current.contains_key(*key) || (dry_run && saved.explicit_value(key).is_some()))
        })
        .map(|(key, _)| KeyChange {
            key: key.clone(),
            from: current.get(key).cloned(),
            to: None,
        })
        .collect()
}

/// Why the plug that applies `target`'s keys did not happen or failed.
fn plug_failure(view: &PoolView, target: &Target, plugs: &[ActionOutcome]) -> Option<String> {
    let plug = plug_targets(view, &[target]).into_iter().next()?;
    match plugs.iter().find(|a| a.uuid == plug.uuid) {
        Some(a) if a.ok => None,
        Some(a) => Some(format!(
            "PIF.plug of {} failed ({}); the explicit values stay so its next plug applies them",
            plug.label,
            a.error.as_ref().map_or("", |e| e.message.as_str())
        )),
        None => Some(format!("{} was not plugged", plug.label)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(uuid: &str, keys: &[(&str, Option<&str>)], tx_on: Option<bool>) -> SavedObject {
        SavedObject {
            class: "PIF".into(),
            uuid: uuid.into(),
            label: format!("h/{uuid}"),
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            device: tx_on.map(|on| SavedDevice {
                host: "h".into(),
                ifname: "eth0".into(),
                offloads: [("tx".to_string(), on), ("sg".to_string(), false)].into(),
            }),
            device_unknown: None,
        }
    }

    #[test]
    fn a_second_save_keeps_every_value_already_saved() {
        let first = UndoFile {
            schema: SCHEMA.into(),
            objects: vec![object("a", &[("ethtool-tx", None)], Some(true))],
        };
        let second = UndoFile {
            schema: SCHEMA.into(),
            objects: vec![
                object(
                    "a",
                    &[("ethtool-tx", Some("off")), ("ethtool-sg", None)],
                    Some(false),
                ),
                object("b", &[("ethtool-tx", Some("on"))], None),
            ],
        };
        let merged = second.merged_into(first);
        assert_eq!(merged.objects.len(), 2);
        let a = &merged.objects[0];
        assert_eq!(a.keys["ethtool-tx"], None, "the first run's 'absent' stays");
        assert_eq!(a.keys["ethtool-sg"], None);
        assert!(a.device.as_ref().unwrap().offloads["tx"]);
    }

    #[test]
    fn restore_writes_the_device_state_where_a_key_did_not_exist() {
        let saved = object(
            "a",
            &[
                ("ethtool-tx", None),
                ("ethtool-sg", None),
                ("ethtool-tso", Some("true")),
            ],
            Some(true),
        );
        let current: BTreeMap<String, String> = [
            ("ethtool-tx", "off"),
            ("ethtool-sg", "off"),
            ("ethtool-tso", "off"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let plan = first_phase(&saved, XapiObject::Pif, &current);
        let to: Vec<(&str, Option<&str>)> = plan
            .iter()
            .map(|c| (c.key.as_str(), c.to.as_deref()))
            .collect();
        // tx was on: explicit on; sg was off: explicit off (already so, no
        // write); tso had a value: that value.
        assert_eq!(
            to,
            [("ethtool-tso", Some("true")), ("ethtool-tx", Some("on"))]
        );
        let vif = SavedObject {
            class: "VIF".into(),
            ..saved.clone()
        };
        let plan = first_phase(&vif, XapiObject::Vif, &current);
        assert!(plan.iter().any(|c| c.key == "ethtool-tx" && c.to.is_none()));
        let removed = absent_keys_removed(&saved, &current, false);
        let keys: Vec<&str> = removed.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["ethtool-sg", "ethtool-tx"]);
    }

    #[test]
    fn the_plugins_real_answer_reads_as_ethtool_k_prints_it() {
        // The plugin's get_features is an `offloadctl show --json` entry:
        // offload-ethtool's InterfaceJson. Read `lo` and compare each group
        // with the `ethtool -k` text of the same state.
        let lo = offload_ethtool::IfName::new("lo").unwrap();
        let state = offload_ethtool::features::FeatureState::read(&lo).unwrap();
        let answer = serde_json::to_string(&state.json()).unwrap();
        let offloads = offloads_of_plugin_answer(&answer).unwrap();
        let text = state.render_ethtool_k();
        for group in LEGACY.iter().filter(|g| g.xapi_key.is_some()) {
            let Some(&on) = offloads.get(group.short_name) else {
                continue;
            };
            let line = format!("{}: {}", group.long_name, if on { "on" } else { "off" });
            assert!(text.contains(&line), "{line} not in\n{text}");
        }
        assert!(offloads.contains_key("tx"), "{offloads:?}");
    }

    #[test]
    fn the_plugin_answer_gives_each_group_as_ethtool_shows_it() {
        let answer = r#"{"ifname": "eth0", "kind": "nic", "features": [
            {"name": "tx-checksum-ipv4", "active": false, "requested": false, "fixed": true},
            {"name": "tx-checksum-ip-generic", "active": true, "requested": true, "fixed": false},
            {"name": "tx-scatter-gather", "active": false, "requested": false, "fixed": false},
            {"name": "rx-lro", "active": false, "requested": false, "fixed": true}]}"#;
        let offloads = offloads_of_plugin_answer(answer).unwrap();
        assert!(offloads["tx"], "one member active: the group is on");
        assert!(!offloads["sg"]);
        assert!(!offloads["lro"]);
        assert!(!offloads.contains_key("gro"), "not listed: unknown");
        assert!(offloads_of_plugin_answer("[]").is_err());
    }
}
