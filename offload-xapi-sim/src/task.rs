//! `Async.` calls and their tasks, as xapi runs them: `Async.X.m` answers a
//! task ref at once (ocaml/xapi/server_helpers.ml `do_dispatch`, the async
//! branch of `exec_with_new_task`); the call itself runs inside the task, so
//! its checks and errors land in the task's `error_info`, and the task stays
//! `pending` until the work is done (`TaskHelper.complete` / `failed`).
//!
//! Time is simulated: a lifecycle call takes `SimConfig::lifecycle_duration`;
//! tasks complete on the first call made after their due time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use offload_xapi::wire::Value;

use super::db::{Class, Db, NULL_REF};

/// The fields of a task record (datamodel.ml's `task`), in wire names.
pub const TASK_FIELDS: &[&str] = &[
    "uuid",
    "name_label",
    "name_description",
    "allowed_operations",
    "current_operations",
    "created",
    "finished",
    "status",
    "resident_on",
    "progress",
    "type",
    "result",
    "error_info",
    "other_config",
    "subtask_of",
    "subtasks",
    "backtrace",
];

/// A task whose call has not run yet.
#[derive(Debug, Clone)]
pub struct Pending {
    pub task: String,
    /// The call, canonical (`VM.clean_reboot`), and its arguments after the session.
    pub method: String,
    pub args: Vec<Value>,
    pub due: Instant,
}

/// Whether a call takes simulated time: VM lifecycle and VIF hotplug,
/// which xapi runs through xenopsd (minutes for some guests).
pub fn takes_time(method: &str) -> bool {
    matches!(
        method,
        "VM.start"
            | "VM.clean_reboot"
            | "VM.hard_reboot"
            | "VM.clean_shutdown"
            | "VM.hard_shutdown"
            | "VIF.plug"
            | "VIF.unplug"
    )
}

/// `YYYYMMDDTHH:MM:SSZ` for a task's `created`/`finished` (the epoch when
/// not finished, as xapi's `Date.epoch`).
fn stamp(finished: bool) -> Value {
    Value::DateTime(if finished {
        "20260101T00:00:00Z".to_string()
    } else {
        "19700101T00:00:00Z".to_string()
    })
}

/// Inserts a pending task for `method` (Db.Task.create in `TaskHelper`).
pub fn create(db: &mut Db, method: &str, host: &str) -> String {
    let fields: BTreeMap<String, Value> = [
        ("name_label", Value::str(format!("Async.{method}"))),
        ("name_description", Value::str("")),
        (
            "allowed_operations",
            Value::Array(vec![Value::str("cancel")]),
        ),
        ("current_operations", Value::Struct(BTreeMap::new())),
        ("created", stamp(true)),
        ("finished", stamp(false)),
        ("status", Value::str("pending")),
        ("resident_on", Value::str(host)),
        ("progress", Value::Double(0.0)),
        ("type", Value::str("<none/>")),
        ("result", Value::str("")),
        ("error_info", Value::Array(Vec::new())),
        ("other_config", Value::Struct(BTreeMap::new())),
        ("subtask_of", Value::str(NULL_REF)),
        ("subtasks", Value::Array(Vec::new())),
        ("backtrace", Value::str("()")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    db.insert(Class::Task, fields)
}

/// Records a finished call on its task: `success` with the result as text
/// (xapi stores the marshalled result), or `failure` with the error.
pub fn finish(db: &mut Db, task: &str, outcome: Result<Value, Vec<String>>) {
    db.update(task, |f| {
        f.insert("progress".into(), Value::Double(1.0));
        f.insert("finished".into(), stamp(true));
        f.insert("allowed_operations".into(), Value::Array(Vec::new()));
        match outcome {
            Ok(value) => {
                f.insert("status".into(), Value::str("success"));
                let text = value.as_str().map(str::to_string).unwrap_or_default();
                f.insert("result".into(), Value::String(text));
            }
            Err(description) => {
                f.insert("status".into(), Value::str("failure"));
                f.insert(
                    "error_info".into(),
                    Value::Array(description.into_iter().map(Value::String).collect()),
                );
            }
        }
    });
}

/// Pending tasks by call name, for the high-water mark tests read.
pub fn in_flight(pending: &[Pending], method: &str) -> usize {
    pending.iter().filter(|p| p.method == method).count()
}

/// When a task for `method` started now is due.
pub fn due(method: &str, lifecycle: Duration) -> Instant {
    Instant::now()
        + if takes_time(method) {
            lifecycle
        } else {
            Duration::ZERO
        }
}
