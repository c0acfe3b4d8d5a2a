//! `Async.` calls and their tasks: calls that outlive a read timeout
//! (`VM.clean_reboot` returns only when the new domain is built, minutes for
//! some guests) are started as tasks and polled, so the client always knows
//! whether the work is still running on the host.

use std::time::Duration;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::wire::Value;

/// A task the host runs for one of our calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub reference: String,
    /// The call it runs (`VM.clean_reboot`), for errors.
    pub method: String,
}

/// What polling a task found.
#[derive(Debug)]
pub enum Poll {
    /// Still running on the host (progress 0.0..=1.0).
    Pending { progress: f64 },
    /// Finished: the call's result, or its error as the host reported it.
    Done(std::result::Result<Value, Error>),
}

/// Starts `Async.<method>`; the answer is the task, not the result.
pub fn start(client: &Client, method: &str, params: &[Value]) -> Result<Task> {
    let answer = client.call(&format!("Async.{method}"), params)?;
    let reference = answer.as_str().ok_or_else(|| Error::Decode {
        target: client.endpoint().display(),
        method: format!("Async.{method}"),
        message: format!("expected a task reference, got {}", answer.kind()),
    })?;
    Ok(Task {
        reference: reference.to_string(),
        method: method.to_string(),
    })
}

impl Task {
    /// One look at the task (`task.get_record`: status, progress, result, error_info).
    pub fn poll(&self, client: &Client) -> Result<Poll> {
        let record = client.call("task.get_record", &[Value::str(self.reference.as_str())])?;
        let field = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or("");
        match field("status") {
            "pending" => Ok(Poll::Pending {
                progress: record
                    .get("progress")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            }),
            "success" => Ok(Poll::Done(Ok(Value::str(field("result"))))),
            status @ ("failure" | "cancelled" | "cancelling") => {
                let mut info: Vec<String> = record
                    .get("error_info")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect();
                if info.is_empty() {
                    info.push(format!("TASK_{}", status.to_ascii_uppercase()));
                }
                let code = info.remove(0);
                Ok(Poll::Done(Err(Error::Api {
                    method: self.method.clone(),
                    code,
                    params: info,
                })))
            }
            other => Err(Error::Decode {
                target: client.endpoint().display(),
                method: "task.get_record".into(),
                message: format!("unknown task status {other:?}"),
            }),
        }
    }

    /// Forgets the finished task on the host (xapi keeps tasks until destroyed
    /// or garbage-collected); failures are of no consequence.
    pub fn destroy(&self, client: &Client) {
        let _ = client.call("task.destroy", &[Value::str(self.reference.as_str())]);
    }

    /// Polls until the task is done (waiting `interval` between looks),
    /// destroys it and returns the call's own result. A poll that fails
    /// (after the client's retries) is returned as is: the task may still run.
    pub fn wait(&self, client: &Client, interval: Duration) -> Result<Value> {
        loop {
            match self.poll(client)? {
                Poll::Pending { .. } => std::thread::sleep(interval),
                Poll::Done(outcome) => {
                    self.destroy(client);
                    return outcome;
                }
            }
        }
    }
}

/// `Async.<method>` to completion: start, poll, destroy.
pub fn run(client: &Client, method: &str, params: &[Value], interval: Duration) -> Result<Value> {
    start(client, method, params)?.wait(client, interval)
}
