//! Pool-wide operations: list, apply, verify and clear a policy on PIFs or
//! VIFs, then optionally make running devices pick it up.
//!
//! Every operation reads the pool with one `get_all_records` per class,
//! writes only what differs, with bounded concurrency, and reports each
//! object's outcome, including exactly which keys were written before a
//! failure.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use offload_core::features::XapiObject;
use serde::Serialize;

use crate::client::Client;
use crate::effect::{no_effect, properties_of, with_bond_slaves, ClearLeaves, NoEffect};
use crate::error::{Error, Result};
pub use crate::follow_up::{take_effect, ActionOutcome, FollowUp};
use crate::object::class_name;
use crate::policy::{
    audit_key, other_config_of, pending_reason, plan_apply, plan_apply_keeping_explicit,
    plan_clear, select_networks, select_pifs, select_vifs, verify_keys, ExplicitKey, KeyChange,
    KeyCheck, KeyVerdict, NetworkFilter, Pending, PifFilter, Policy, Target, VifFilter,
};
use crate::records::PoolView;
use crate::wire::Value;

/// Which objects an operation works on.
#[derive(Debug, Clone)]
pub enum Selection {
    Pifs(PifFilter),
    Vifs(VifFilter),
    /// Networks: their keys reach each host's bridge (the PIF settings of a policy).
    Networks(NetworkFilter),
}

impl Selection {
    pub fn object(&self) -> XapiObject {
        match self {
            Selection::Pifs(_) => XapiObject::Pif,
            Selection::Vifs(_) => XapiObject::Vif,
            Selection::Networks(_) => XapiObject::Network,
        }
    }

    /// Reads what this selection needs and picks the targets.
    pub fn resolve(&self, client: &Client) -> Result<(PoolView, Vec<Target>)> {
        match self {
            Selection::Pifs(filter) => {
                let view = PoolView::fetch_classes(client, true, false)?;
                // Keys on a bond master without a device go to its slaves.
                let targets = with_bond_slaves(&view, select_pifs(&view, filter)?);
                Ok((view, targets))
            }
            Selection::Vifs(filter) => {
                let view = PoolView::fetch_classes(client, false, true)?;
                let targets = select_vifs(&view, filter)?;
                Ok((view, targets))
            }
            Selection::Networks(filter) => {
                // PIFs too: which hosts have the bridge, and their properties.
                let view = PoolView::fetch_classes(client, true, false)?;
                let targets = select_networks(&view, filter)?;
                Ok((view, targets))
            }
        }
    }
}

/// How a bulk write runs.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Parallel connections (0 → 8).
    pub workers: usize,
    /// Report what would change, write nothing.
    pub dry_run: bool,
    /// Set (e.g. by Ctrl-C) to stop starting new objects.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Called after each object with (done, total).
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
    /// `apply`: leave a key whose value the host applies and the policy
    /// contradicts (written by another tool, e.g. Xen Orchestra's
    /// `ethtool-tx=true`) as it is, and report it in `kept`
    /// ([`crate::policy::plan_apply_keeping_explicit`]). `watch` does this
    /// unless told to override.
    pub keep_explicit: bool,
}

/// What one object's plan writes, and what it leaves.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<KeyChange>,
    pub kept: Vec<ExplicitKey>,
}

impl From<Vec<KeyChange>> for Plan {
    fn from(changes: Vec<KeyChange>) -> Plan {
        Plan {
            changes,
            kept: Vec::new(),
        }
    }
}

impl RunOptions {
    fn workers(&self) -> usize {
        if self.workers == 0 {
            8
        } else {
            self.workers
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }
}

/// A XAPI error, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    /// The XAPI code, or a local kind (`TRANSPORT`, `TIMEOUT`, ...).
    pub code: String,
    pub params: Vec<String>,
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> ErrorInfo {
        let (code, params) = match e {
            Error::Api { code, params, .. } => (code.clone(), params.clone()),
            Error::Transport { .. } => ("TRANSPORT".to_string(), Vec::new()),
            Error::Timeout { .. } => ("TIMEOUT".to_string(), Vec::new()),
            Error::Http { status, .. } => ("HTTP".to_string(), vec![status.to_string()]),
            Error::Decode { .. } => ("DECODE".to_string(), Vec::new()),
            Error::Interrupted => ("INTERRUPTED".to_string(), Vec::new()),
            _ => ("ERROR".to_string(), Vec::new()),
        };
        ErrorInfo {
            code,
            params,
            message: e.to_string(),
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Keys were written.
    Changed,
    /// Already as wanted; no call made.
    Unchanged,
    /// Dry run: these keys would be written.
    WouldChange,
    /// A call failed; `written` lists what was written before it.
    Failed,
    /// Not attempted (interrupted, or an earlier fatal error).
    NotAttempted,
    /// Not written: the keys would change nothing here (`effect` says why
    /// and where they belong).
    NoEffect,
}

/// One object's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectOutcome {
    #[serde(flatten)]
    pub target: Target,
    pub status: Status,
    /// The planned changes.
    pub changes: Vec<KeyChange>,
    /// Keys left as another writer set them although the policy says
    /// otherwise (`RunOptions::keep_explicit`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<ExplicitKey>,
    /// Keys fully written (for a failed object, those written before the failure).
    pub written: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Why the running device does not use the new value yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Why keys on this object change nothing on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<NoEffect>,
    /// The device is up (attached PIF, attached VIF of a running VM): a
    /// replug or reboot would make the host re-read its keys.
    #[serde(skip)]
    pub live: bool,
}

/// The outcome of a bulk write.
#[derive(Debug, Clone, Serialize)]
pub struct BulkReport {
    #[serde(serialize_with = "crate::object::serialize_class")]
    pub class: XapiObject,
    pub policy: String,
    pub dry_run: bool,
    pub objects: Vec<ObjectOutcome>,
    /// For `clear`: what removing the keys does not undo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clear_leaves: Option<ClearLeaves>,
    /// HTTP calls made by the whole operation (reads included).
    pub calls: u64,
    pub seconds: f64,
}

impl BulkReport {
    pub fn count(&self, status: Status) -> usize {
        self.objects.iter().filter(|o| o.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.objects
            .iter()
            .any(|o| matches!(o.status, Status::Failed | Status::NotAttempted))
    }
}

/// Writes `policy` on the selected objects.
pub fn apply(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    options: &RunOptions,
) -> Result<BulkReport> {
    policy.check_for(selection.object())?;
    let settings = policy.settings_for(selection.object());
    let object = selection.object();
    run(client, &policy.name, selection, options, |current| {
        if options.keep_explicit {
            let (changes, kept) = plan_apply_keeping_explicit(object, current, settings);
            Plan { changes, kept }
        } else {
            plan_apply(object, current, settings).into()
        }
    })
}

/// Removes the policy's keys (or, with `all_offload_keys`, every
/// `ethtool-*` offload key) from the selected objects.
pub fn clear(
    client: &Client,
    policy: Option<&Policy>,
    selection: &Selection,
    options: &RunOptions,
) -> Result<BulkReport> {
    let settings = policy
        .map(|p| p.settings_for(selection.object()).to_vec())
        .unwrap_or_default();
    let name = policy.map_or("all ethtool offload keys".to_string(), |p| p.name.clone());
    let mut report = run(client, &name, selection, options, |current| {
        plan_clear(current, &settings, policy.is_none()).into()
    })?;
    report.clear_leaves = Some(ClearLeaves::of(selection.object()));
    Ok(report)
}

fn run(
    client: &Client,
    policy_name: &str,
    selection: &Selection,
    options: &RunOptions,
    plan: impl Fn(&BTreeMap<String, String>) -> Plan,
) -> Result<BulkReport> {
    let started = Instant::now();
    let calls_before = client.calls_made();
    let (view, targets) = selection.resolve(client)?;
    let mut report = run_on(
        client,
        &Planned {
            policy_name,
            object: selection.object(),
            view: &view,
            targets,
        },
        options,
        |_, current| plan(current),
        |_| Ok(()),
    )?;
    report.calls = client.calls_made() - calls_before;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Targets of one class, read from `view`, about to be written.
pub(crate) struct Planned<'v> {
    pub policy_name: &'v str,
    pub object: XapiObject,
    pub view: &'v PoolView,
    pub targets: Vec<Target>,
}

/// Plans each target (`plan` gets the target and its other_config), calls
/// `before_write` with the view and the planned outcomes (an error there
/// stops the run before anything is written), writes, and reports.
pub(crate) fn run_on(
    client: &Client,
    planned: &Planned<'_>,
    options: &RunOptions,
    plan: impl Fn(&Target, &BTreeMap<String, String>) -> Plan,
    before_write: impl FnOnce(&[ObjectOutcome]) -> Result<()>,
) -> Result<BulkReport> {
    let started = Instant::now();
    let calls_before = client.calls_made();
    let view = planned.view;
    let empty = BTreeMap::new();
    let mut outcomes: Vec<ObjectOutcome> = planned
        .targets
        .iter()
        .cloned()
        .map(|target| {
            let effect = no_effect(view, &target);
            // PIF keys without a device are not written (the slaves of a
            // selected bond are selected instead); VIF keys are, for the day
            // the guest gets PV drivers.
            let skip = effect.is_some() && target.class == XapiObject::Pif;
            let Plan { changes, kept } = if skip {
                Plan::default()
            } else {
                plan(&target, other_config_of(view, &target).unwrap_or(&empty))
            };
            let status = match (skip, changes.is_empty(), options.dry_run) {
                (true, _, _) => Status::NoEffect,
                (false, true, _) => Status::Unchanged,
                (false, false, true) => Status::WouldChange,
                (false, false, false) => Status::NotAttempted,
            };
            ObjectOutcome {
                target,
                status,
                changes,
                kept,
                written: Vec::new(),
                error: None,
                pending: None,
                effect,
                live: false,
            }
        })
        .collect();
    if !options.dry_run {
        before_write(&outcomes)?;
        write_all(client, planned.object, &mut outcomes, options);
    }
    for outcome in &mut outcomes {
        let reason = pending_reason(view, &outcome.target);
        outcome.live = reason.is_some_and(Pending::actionable);
        if matches!(outcome.status, Status::Changed | Status::WouldChange) {
            outcome.pending = reason;
        }
    }
    Ok(BulkReport {
        class: planned.object,
        policy: planned.policy_name.to_string(),
        dry_run: options.dry_run,
        objects: outcomes,
        clear_leaves: None,
        calls: client.calls_made() - calls_before,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes every planned change with `workers` threads, one object per task.
fn write_all(
    client: &Client,
    object: XapiObject,
    outcomes: &mut [ObjectOutcome],
    options: &RunOptions,
) {
    let work: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i].status == Status::NotAttempted)
        .collect();
    let total = outcomes.len();
    let done = AtomicUsize::new(total - work.len());
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<&mut ObjectOutcome>> = outcomes.iter_mut().map(Mutex::new).collect();
    std::thread::scope(|scope| {
        for _ in 0..options.workers().min(work.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&index) = work.get(i) else { break };
                if options.cancelled() {
                    continue;
                }
                let mut outcome = slots[index].lock().unwrap_or_else(|p| p.into_inner());
                write_object(client, object, &mut outcome);
                drop(outcome);
                let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(progress) = &options.progress {
                    progress(finished, total);
                }
            });
        }
    });
}

/// Sets keys the way `xe ...-param-set other-config:k=v` does: remove, then
/// add (`add_to_other_config` refuses an existing key).
fn write_object(client: &Client, object: XapiObject, outcome: &mut ObjectOutcome) {
    let class = class_name(object);
    let reference = Value::str(outcome.target.reference.as_str());
    for change in outcome.changes.clone() {
        let key = Value::str(change.key.as_str());
        let result = (|| -> Result<()> {
            if change.from.is_some() || change.to.is_none() {
                client.call(
                    &format!("{class}.remove_from_other_config"),
                    &[reference.clone(), key.clone()],
                )?;
            }
            if let Some(to) = &change.to {
                let add = [reference.clone(), key.clone(), Value::str(to.as_str())];
                match client.call(&format!("{class}.add_to_other_config"), &add) {
                    // Someone set it between our read and our write: do it their way once more.
                    Err(Error::Api { code, .. }) if code == "MAP_DUPLICATE_KEY" => {
                        client.call(
                            &format!("{class}.remove_from_other_config"),
                            &[reference.clone(), key.clone()],
                        )?;
                        client.call(&format!("{class}.add_to_other_config"), &add)?;
                    }
                    other => {
                        other?;
                    }
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => outcome.written.push(change.key.clone()),
            Err(e) => {
                outcome.status = Status::Failed;
                outcome.error = Some(ErrorInfo::from(&e));
                return;
            }
        }
    }
    outcome.status = Status::Changed;
}

/// One object's keys as the host will read them.
#[derive(Debug, Clone, Serialize)]
pub struct ListedObject {
    #[serde(flatten)]
    pub target: Target,
    pub keys: Vec<ListedKey>,
    /// `PIF.properties` networkd reads with the keys (only `gro`): it
    /// applies when `ethtool-gro` is absent, at every plug (a bond slave's
    /// come from its master; a network's when all its PIFs agree).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Why keys on this object change nothing on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<NoEffect>,
}

/// One `ethtool-*` entry of other_config with the host's reading of it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedKey {
    pub key: String,
    pub value: String,
    #[serde(flatten)]
    pub verdict: KeyVerdict,
}

impl ListedObject {
    /// Entries the host will not apply as written.
    pub fn problems(&self) -> usize {
        self.keys
            .iter()
            .filter(|k| {
                matches!(
                    k.verdict,
                    KeyVerdict::IgnoredKey { .. } | KeyVerdict::IgnoredValue { .. }
                )
            })
            .count()
    }
}

/// Every `ethtool-*` key on the selected objects, judged as the host reads it.
pub fn list(client: &Client, selection: &Selection) -> Result<Vec<ListedObject>> {
    let (view, targets) = selection.resolve(client)?;
    let empty = BTreeMap::new();
    Ok(targets
        .into_iter()
        .map(|target| {
            let keys = other_config_of(&view, &target)
                .unwrap_or(&empty)
                .iter()
                .filter(|(k, _)| k.starts_with("ethtool-"))
                .map(|(k, v)| ListedKey {
                    key: k.clone(),
                    value: v.clone(),
                    verdict: audit_key(selection.object(), k, v),
                })
                .collect();
            let effect = no_effect(&view, &target);
            ListedObject {
                properties: properties_of(&view, &target),
                target,
                keys,
                effect,
            }
        })
        .collect())
}

/// One object checked against a policy.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedObject {
    #[serde(flatten)]
    pub target: Target,
    /// The keys are as the policy wants and the host applies them here.
    pub ok: bool,
    pub keys: Vec<KeyCheck>,
    /// Why keys on this object change nothing on the host (then `ok` is false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<NoEffect>,
}

/// Checks the selected objects against `policy` as the host will read their keys.
pub fn verify(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
) -> Result<Vec<VerifiedObject>> {
    policy.check_for(selection.object())?;
    let (view, targets) = selection.resolve(client)?;
    let settings = policy.settings_for(selection.object());
    let empty = BTreeMap::new();
    Ok(targets
        .into_iter()
        .map(|target| {
            let keys = verify_keys(
                selection.object(),
                other_config_of(&view, &target).unwrap_or(&empty),
                &properties_of(&view, &target),
                settings,
            );
            let effect = no_effect(&view, &target);
            let ok = effect.is_none() && keys.iter().all(|k| k.ok);
            VerifiedObject {
                target,
                ok,
                keys,
                effect,
            }
        })
        .collect())
}

/// One host's answer to a plugin call.
#[derive(Debug, Clone, Serialize)]
pub struct HostOutcome {
    pub host: String,
    pub uuid: String,
    pub ok: bool,
    /// The plugin's result string (JSON for the offload plugin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// Calls `plugin`/`function` with `args` on each selected host (all when
/// `host_names` is empty) through `host.call_plugin`, in parallel.
pub fn call_plugin_on_hosts(
    client: &Client,
    host_names: &[String],
    plugin: &str,
    function: &str,
    args: &BTreeMap<String, String>,
) -> Result<Vec<HostOutcome>> {
    let hosts = crate::records::records_of::<crate::records::Host>(
        "host",
        &client.call("host.get_all_records", &[])?,
    )?;
    let names_host = |name: &str, h: &crate::records::Host| {
        offload_core::glob::matches(name, &h.name_label) || h.uuid == name
    };
    for name in host_names {
        if !hosts.values().any(|h| names_host(name, h)) {
            return Err(Error::no_match(
                format!("--host {name:?}"),
                "matches no host of this pool",
            ));
        }
    }
    let selected: Vec<(&String, &crate::records::Host)> = hosts
        .iter()
        .filter(|(_, h)| host_names.is_empty() || host_names.iter().any(|n| names_host(n, h)))
        .collect();
    let arg_map = Value::string_map(args.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut outcomes: Vec<HostOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = selected
            .iter()
            .map(|(reference, host)| {
                let params = [
                    Value::str(reference.as_str()),
                    Value::str(plugin),
                    Value::str(function),
                    arg_map.clone(),
                ];
                let client = client.clone();
                scope.spawn(move || {
                    let result = client.call("host.call_plugin", &params);
                    HostOutcome {
                        host: host.name_label.clone(),
                        uuid: host.uuid.clone(),
                        ok: result.is_ok(),
                        output: result
                            .as_ref()
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string)),
                        error: result.as_ref().err().map(ErrorInfo::from),
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    outcomes.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(outcomes)
}
