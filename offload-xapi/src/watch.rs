//! `offloadctl xapi watch`: keep a policy applied to PIFs and VIFs created
//! later (new VMs and new NICs inherit nothing otherwise), following
//! `event.from` and reconnecting after failures until stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, ConnectOptions};
use crate::error::{Error, Result};
use crate::ops::Status;
use crate::ops::{self, BulkReport, RunOptions, Selection};
use crate::policy::{ExplicitKey, Pending, Policy, Target};
use crate::wire::Value;

/// What the watcher reports as it goes.
#[derive(Debug)]
pub enum WatchEvent {
    Connected {
        target: String,
    },
    /// The policy was (re)applied; `reason` says why.
    Applied {
        reason: String,
        report: BulkReport,
    },
    /// The connection or a call failed; retrying after `retry_in`.
    Failed {
        error: Error,
        retry_in: Duration,
    },
    /// A VIF got its keys while its VM was already running (created and
    /// started before the watcher could write, or running when it started):
    /// the backend read its keys at start, so the VM runs without them
    /// until a VIF plug or an API reboot (`pending` says which).
    RunningWithout {
        target: Target,
        pending: Pending,
    },
    /// An object carries a value, set by someone else, that the host applies
    /// and the policy contradicts; it is left as it is
    /// ([`Explicit::Keep`]). Reported once per object, key and value.
    LeftAsSet {
        target: Target,
        keys: Vec<ExplicitKey>,
    },
}

/// What `watch` does with an explicit value that contradicts the policy
/// (e.g. Xen Orchestra 6's `ethtool-tx=true` on every VIF it creates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Explicit {
    /// Report it and leave it: someone chose it (the default).
    #[default]
    Keep,
    /// Enforce the policy: overwrite it.
    Override,
}

/// How long one `event.from` waits on the host before returning empty. Short,
/// because the stop flag (Ctrl-C) is only looked at between calls; an idle
/// call every 2 s costs the host nothing.
const EVENT_TIMEOUT_SECS: f64 = 2.0;

/// Runs until `stop` is set. Each (re)connection first applies the policy
/// to everything selected, then re-applies whenever a PIF or VIF is added or
/// changed (one apply per batch of events: it reads the pool and writes only
/// what differs, so bursts of new VMs cost one pass, and a key someone
/// removed comes back).
///
/// A key whose value the host applies and the policy contradicts is left as
/// it is and reported once ([`WatchEvent::LeftAsSet`]) unless `explicit` is
/// [`Explicit::Override`]; a key missing or with a value the host ignores is
/// written.
pub fn watch(
    connect: &ConnectOptions,
    policy: &Policy,
    selections: &[Selection],
    explicit: Explicit,
    stop: Arc<AtomicBool>,
    mut report: impl FnMut(WatchEvent),
) -> Result<()> {
    let mut reported: std::collections::BTreeSet<(String, String, String)> = Default::default();
    for selection in selections {
        policy.check_for(selection.object())?;
    }
    let classes: Vec<Value> = selections
        .iter()
        .map(|s| {
            Value::str(match s {
                Selection::Pifs(_) => "pif",
                Selection::Vifs(_) => "vif",
                Selection::Networks(_) => "network",
            })
        })
        .collect();
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::SeqCst) {
        let result = (|| -> Result<()> {
            let client = Client::connect(connect.clone())?;
            report(WatchEvent::Connected {
                target: client.endpoint().display(),
            });
            let run = RunOptions {
                cancel: Some(stop.clone()),
                keep_explicit: explicit == Explicit::Keep,
                ..RunOptions::default()
            };
            let mut apply_all = |reason: &str, report: &mut dyn FnMut(WatchEvent)| -> Result<()> {
                for selection in selections {
                    let r = ops::apply(&client, policy, selection, &run)?;
                    for object in &r.objects {
                        if let (
                            Status::Changed,
                            Some(pending @ (Pending::VifOfRunningVm | Pending::VifOfPausedVm)),
                        ) = (object.status, object.pending)
                        {
                            report(WatchEvent::RunningWithout {
                                target: object.target.clone(),
                                pending,
                            });
                        }
                        let new: Vec<ExplicitKey> = object
                            .kept
                            .iter()
                            .filter(|k| {
                                reported.insert((
                                    object.target.uuid.clone(),
                                    k.key.clone(),
                                    k.found.clone(),
                                ))
                            })
                            .cloned()
                            .collect();
                        if !new.is_empty() {
                            report(WatchEvent::LeftAsSet {
                                target: object.target.clone(),
                                keys: new,
                            });
                        }
                    }
                    report(WatchEvent::Applied {
                        reason: reason.to_string(),
                        report: r,
                    });
                }
                Ok(())
            };
            // Take the token first, so nothing added during the first pass is missed.
            let mut token = current_token(&client, &classes)?;
            apply_all("start", &mut report)?;
            backoff = Duration::from_secs(1);
            while !stop.load(Ordering::SeqCst) {
                let result = client.call(
                    "event.from",
                    &[
                        Value::Array(classes.clone()),
                        Value::str(token.as_str()),
                        Value::Double(EVENT_TIMEOUT_SECS),
                    ],
                )?;
                token = result
                    .get("token")
                    .and_then(Value::as_str)
                    .unwrap_or(&token)
                    .to_string();
                let changed: Vec<String> = result
                    .get("events")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .iter()
                    // New objects, and changed ones (someone removed or edited
                    // a key). Our own writes also come back as `mod`: the pass
                    // they trigger finds nothing to write, so it settles.
                    .filter(|e| {
                        matches!(
                            e.get("operation").and_then(Value::as_str),
                            Some("add" | "mod")
                        )
                    })
                    .map(|e| {
                        format!(
                            "{} {}",
                            e.get("class").and_then(Value::as_str).unwrap_or("?"),
                            e.get("ref").and_then(Value::as_str).unwrap_or("?")
                        )
                    })
                    .collect();
                if !changed.is_empty() && !stop.load(Ordering::SeqCst) {
                    apply_all(&format!("changed: {}", changed.join(", ")), &mut report)?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => break,
            Err(error @ Error::InvalidArgument { .. }) => return Err(error),
            // Retrying a wrong password would lock accounts out; stop here,
            // with the host's error as it came.
            Err(error) if error.api_code() == Some("SESSION_AUTHENTICATION_FAILED") => {
                return Err(error)
            }
            Err(error) => {
                report(WatchEvent::Failed {
                    error,
                    retry_in: backoff,
                });
                let deadline = std::time::Instant::now() + backoff;
                while std::time::Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    Ok(())
}

/// A token for "from now on": `event.from` with an empty token returns every
/// existing object, which we skip.
fn current_token(client: &Client, classes: &[Value]) -> Result<String> {
    let result = client.call(
        "event.from",
        &[
            Value::Array(classes.to_vec()),
            Value::str(""),
            Value::Double(0.0),
        ],
    )?;
    result
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Decode {
            target: client.endpoint().display(),
            method: "event.from".into(),
            message: "result has no token".into(),
        })
}
