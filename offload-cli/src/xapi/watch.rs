//! `offloadctl xapi watch`: keep a policy applied to PIFs and VIFs created
//! later, through offload-xapi's event loop.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_xapi::ops::{Selection, Status};
use offload_xapi::policy::PifFilter;
use offload_xapi::watch::{self, Explicit, WatchEvent};
use offload_xapi::{ConnectOptions, Error};

use super::exit::code;
use super::objects::VifSelect;
use super::policy_args::PolicyArgs;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Values set by someone else: a key whose value the host applies (on/true,\n\
off/false; Xen Orchestra writes true/false, and XO 6 ethtool-tx=true on every VIF it creates)\n\
and that contradicts the policy is left as it is and reported once per object, key and value\n\
(JSON: {\"event\": \"left-as-set\"}); --override writes the policy's value instead. A missing\n\
key, or a value the host ignores (Off, quoted), is always written."
)]
pub(super) struct WatchArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Watch PIFs only.
    #[arg(long, conflicts_with = "vifs_only")]
    pifs_only: bool,
    /// Watch VIFs only.
    #[arg(long)]
    vifs_only: bool,
    #[command(flatten)]
    vif_select: VifSelect,
    /// Also the VIFs of custom templates (never built-in ones): xapi copies
    /// VIF other-config on VM.clone and VM.copy, so VMs made from them start
    /// with the keys instead of racing the watcher.
    #[arg(long)]
    include_templates: bool,
    /// Overwrite values someone else set that the host applies and the
    /// policy contradicts (default: report them once and leave them).
    #[arg(long = "override")]
    override_explicit: bool,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

/// Runs until Ctrl-C: applies the policy to what the pool creates.
pub(super) fn run(
    options: &ConnectOptions,
    args: &WatchArgs,
    cancel: Arc<AtomicBool>,
) -> Result<u8, Error> {
    let policy = args.policy.policy()?;
    let mut selections = Vec::new();
    if !args.vifs_only && !policy.pif.is_empty() {
        selections.push(Selection::Pifs(PifFilter::default()));
    }
    if !args.pifs_only && !policy.vif.is_empty() {
        let mut selection = args.vif_select.selection();
        if let Selection::Vifs(filter) = &mut selection {
            filter.include_templates = args.include_templates;
        }
        selections.push(selection);
    }
    let json = args.json;
    let explicit = if args.override_explicit {
        Explicit::Override
    } else {
        Explicit::Keep
    };
    watch::watch(
        options,
        &policy,
        &selections,
        explicit,
        cancel,
        |event| match event {
            WatchEvent::Connected { target } => {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"event": "connected", "target": target})
                    );
                } else {
                    eprintln!("watching {target} (Ctrl-C to stop)");
                }
            }
            WatchEvent::Applied { reason, report } => {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"event": "applied", "reason": reason, "report": report})
                    );
                } else {
                    outln!(
                        "{}: {} {}: {} changed, {} unchanged, {} failed",
                        reason,
                        offload_xapi::object::class_name(report.class),
                        report.policy,
                        report.count(Status::Changed),
                        report.count(Status::Unchanged),
                        report.count(Status::Failed)
                    );
                }
            }
            WatchEvent::RunningWithout { target, pending } => {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"event": "running-without", "object": target, "pending": pending})
                    );
                } else {
                    outln!(
                    "started before the keys were written: {} {} runs without them ({pending}); \
                     offloadctl xapi vif apply ... --replug applies them now",
                    target.uuid, target.label
                );
                }
            }
            WatchEvent::LeftAsSet { target, keys } => {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"event": "left-as-set", "object": target, "keys": keys})
                    );
                } else {
                    let keys = keys
                        .iter()
                        .map(|k| format!("{}={} (policy: {})", k.key, k.found, k.wanted))
                        .collect::<Vec<_>>()
                        .join(", ");
                    outln!(
                    "left as set by someone else: {} {} {keys} (--override enforces the policy)",
                    target.uuid, target.label
                );
                }
            }
            WatchEvent::Failed { error, retry_in } => {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"event": "failed", "error": error.to_string(), "retry_in_s": retry_in.as_secs()})
                    );
                } else {
                    eprintln!(
                        "offloadctl xapi watch: {error}; retrying in {} s",
                        retry_in.as_secs()
                    );
                }
            }
        },
    )?;
    Ok(code::OK)
}
