//! Making the host re-read changed keys: `PIF.plug` (a bond's master, once),
//! `VIF.unplug` + `VIF.plug`, `VM.clean_reboot`. The VIF and VM calls run as
//! `Async.` tasks and are polled, so a call that outlives the read timeout
//! is still known to run, `--reboot-limit` bounds the reboots the host runs
//! at once, and a VIF left unplugged is plugged back or reported with the
//! command that repairs it.

use std::time::Duration;

use offload_core::features::XapiObject;
use serde::Serialize;

use crate::client::Client;
use crate::effect::{network_pifs, plug_targets};
use crate::error::{Error, Result};
use crate::ops::{BulkReport, ErrorInfo, ObjectOutcome, Status};
use crate::policy::{pif_target, running_vm_of, Target};
use crate::records::PoolView;
use crate::task::{self, Poll, Task};
use crate::wire::Value;

/// Between two looks at a task.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Polls of one reboot task that may fail in a row before its state is
/// given up as unknown (and no further reboot is started).
const POLL_FAILURES: u32 = 20;

/// A call that makes the host re-read changed keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// `PIF.plug` on an attached PIF.
    PifPlug,
    /// `VIF.unplug` then `VIF.plug` on a VIF of a running VM.
    VifReplug,
    /// `VM.clean_reboot` of a running VM.
    VmCleanReboot,
}

impl FollowUp {
    /// The XAPI call(s), as reports name them.
    pub fn name(self) -> &'static str {
        match self {
            FollowUp::PifPlug => "PIF.plug",
            FollowUp::VifReplug => "VIF.unplug+plug",
            FollowUp::VmCleanReboot => "VM.clean_reboot",
        }
    }
}

impl Serialize for FollowUp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The outcome of one follow-up action (replug, reboot, plug).
#[derive(Debug, Clone, Serialize)]
pub struct ActionOutcome {
    pub action: FollowUp,
    pub uuid: String,
    pub label: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Set when the call may have left the object worse than before (a VIF
    /// unplugged and not plugged back, a reboot whose task was lost): the
    /// exact command that repairs or checks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<String>,
}

fn record(action: FollowUp, uuid: &str, label: &str, result: Result<()>) -> ActionOutcome {
    ActionOutcome {
        action,
        uuid: uuid.to_string(),
        label: label.to_string(),
        ok: result.is_ok(),
        error: result.err().as_ref().map(ErrorInfo::from),
        repair: None,
    }
}

/// Makes the host re-read what `report` changed:
/// - PIFs with `replug`: `PIF.plug` (re-applies ethtool settings on an
///   attached PIF); a bond slave through its master, once; never a slave;
/// - VIFs with `replug`: `Async.VIF.unplug` + `Async.VIF.plug` on running VMs;
/// - VIFs with `reboot`: `Async.VM.clean_reboot` of each running VM, at most
///   `reboot_limit` tasks running on the host at any time.
///
/// It acts on every live object that carries the policy after this run, also
/// those an earlier run changed (so `apply` then `apply --replug` works), but
/// never on objects whose write failed.
pub fn take_effect(
    client: &Client,
    report: &BulkReport,
    replug: bool,
    reboot: bool,
    reboot_limit: usize,
) -> Result<Vec<ActionOutcome>> {
    let pending: Vec<&ObjectOutcome> = report
        .objects
        .iter()
        .filter(|o| matches!(o.status, Status::Changed | Status::Unchanged) && o.live)
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let mut actions = Vec::new();
    if matches!(report.class, XapiObject::Pif | XapiObject::Network) {
        if replug {
            // A bond slave's keys are applied by plugging its master, once;
            // PIF.plug on a slave is CANNOT_PLUG_BOND_SLAVE (Xapi_pif.plug).
            // A network's bridges by plugging the network's attached PIFs
            // (Nm.bring_pif_up configures the bridge with the network's keys).
            let view = PoolView::fetch_classes(client, true, false)?;
            let bridges: Vec<Target> = pending
                .iter()
                .filter(|o| o.target.class == XapiObject::Network)
                .flat_map(|o| network_pifs(&view, &o.target.reference))
                .filter(|(_, p)| p.currently_attached)
                .map(|(r, p)| pif_target(&view, r, p))
                .collect();
            let targets: Vec<&Target> = pending
                .iter()
                .map(|o| &o.target)
                .filter(|t| t.class == XapiObject::Pif)
                .chain(&bridges)
                .collect();
            for target in plug_targets(&view, &targets) {
                let r = client
                    .call("PIF.plug", &[Value::str(target.reference.as_str())])
                    .map(drop);
                actions.push(record(FollowUp::PifPlug, &target.uuid, &target.label, r));
            }
        }
        return Ok(actions);
    }
    if replug {
        for o in &pending {
            actions.push(replug_vif(client, &o.target));
        }
    }
    if reboot {
        // One reboot per VM, whatever its number of changed VIFs; skip VMs
        // whose VIFs were all replugged successfully.
        let view = PoolView::fetch_classes(client, false, true)?;
        let replugged: Vec<&str> = actions
            .iter()
            .filter(|a| a.ok)
            .map(|a| a.uuid.as_str())
            .collect();
        let mut vms: Vec<(String, String, String)> = Vec::new();
        for o in &pending {
            if replugged.contains(&o.target.uuid.as_str()) {
                continue;
            }
            if let Some(vm_ref) = running_vm_of(&view, &o.target.reference) {
                if !vms.iter().any(|(r, _, _)| *r == vm_ref) {
                    let vm = &view.vms[&vm_ref];
                    vms.push((vm_ref, vm.uuid.clone(), vm.name_label.clone()));
                }
            }
        }
        actions.extend(reboot_all(client, &vms, reboot_limit.max(1)));
    }
    Ok(actions)
}

/// Unplugs and plugs one VIF. An unplug that failed leaves the VIF as it
/// was unless the host says it is detached; then the plug is tried twice
/// (`DEVICE_ALREADY_ATTACHED` on a retry means the first one worked), and a
/// VIF still detached is reported with `xe vif-plug`.
fn replug_vif(client: &Client, target: &Target) -> ActionOutcome {
    let vif = [Value::str(target.reference.as_str())];
    let done = |result: Result<()>, repair: Option<String>| ActionOutcome {
        repair,
        ..record(FollowUp::VifReplug, &target.uuid, &target.label, result)
    };
    let repair = || Some(format!("xe vif-plug uuid={}", target.uuid));
    if let Err(e) = task::run(client, "VIF.unplug", &vif, POLL_INTERVAL) {
        let detached = matches!(&e, Error::Api { code, .. } if code == "DEVICE_ALREADY_DETACHED");
        if !detached {
            match client.call("VIF.get_currently_attached", &vif) {
                Ok(Value::Bool(true)) => return done(Err(e), None),
                Ok(_) => {}
                // Unknown: the VIF may be detached; say how to make sure.
                Err(_) => return done(Err(e), repair()),
            }
        }
    }
    let mut last = None;
    for _ in 0..2 {
        match task::run(client, "VIF.plug", &vif, POLL_INTERVAL) {
            Ok(_) => return done(Ok(()), None),
            Err(Error::Api { code, .. }) if code == "DEVICE_ALREADY_ATTACHED" => {
                return done(Ok(()), None)
            }
            Err(e) => last = Some(e),
        }
    }
    let error = last.unwrap_or(Error::Interrupted);
    done(Err(error), repair())
}

/// `Async.VM.clean_reboot` of each VM with at most `limit` tasks in flight:
/// a new reboot starts only when a running one is known to have finished.
fn reboot_all(
    client: &Client,
    vms: &[(String, String, String)],
    limit: usize,
) -> Vec<ActionOutcome> {
    let mut results = Vec::new();
    let mut queue = vms.iter();
    let mut running: Vec<(Task, &(String, String, String), u32)> = Vec::new();
    let mut lost = false;
    loop {
        while running.len() < limit && !lost {
            let Some(vm) = queue.next() else { break };
            match task::start(client, "VM.clean_reboot", &[Value::str(vm.0.as_str())]) {
                Ok(task) => running.push((task, vm, 0)),
                Err(e) => results.push(record(FollowUp::VmCleanReboot, &vm.1, &vm.2, Err(e))),
            }
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
        let mut still = Vec::new();
        for (task, vm, failures) in running {
            match task.poll(client) {
                Ok(Poll::Pending { .. }) => still.push((task, vm, 0)),
                Ok(Poll::Done(outcome)) => {
                    task.destroy(client);
                    results.push(record(
                        FollowUp::VmCleanReboot,
                        &vm.1,
                        &vm.2,
                        outcome.map(drop),
                    ));
                }
                Err(_) if failures + 1 < POLL_FAILURES => still.push((task, vm, failures + 1)),
                Err(e) => {
                    // The reboot may still run: start no other one.
                    lost = true;
                    let mut outcome = record(FollowUp::VmCleanReboot, &vm.1, &vm.2, Err(e));
                    outcome.repair = Some(format!(
                        "xe vm-param-get uuid={} param-name=power-state (its reboot task {} may still run; no further reboot was started)",
                        vm.1, task.reference
                    ));
                    results.push(outcome);
                }
            }
        }
        running = still;
    }
    for vm in queue {
        let stopped = Err(Error::Interrupted);
        results.push(record(FollowUp::VmCleanReboot, &vm.1, &vm.2, stopped));
    }
    results
}
