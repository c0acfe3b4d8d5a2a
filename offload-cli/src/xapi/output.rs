//! What `offloadctl xapi pif|vif` prints: JSON envelopes, and text built
//! from offload-xapi's reports (functions return the text so tests read it).

use std::fmt::Write as _;

use offload_xapi::ops::{ActionOutcome, BulkReport, ListedObject, Status, VerifiedObject};
use offload_xapi::policy::{KeyVerdict, Pending};
use offload_xapi::XapiObject;

/// `--json` and `--verbose`.
#[derive(Debug, Clone, clap::Args)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// One line per object, also for unchanged ones.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Prints `body` with its `schema` name, pretty.
pub fn print_json(schema: &str, body: serde_json::Value) {
    let mut envelope = serde_json::json!({ "schema": schema });
    if let (Some(out), serde_json::Value::Object(fields)) = (envelope.as_object_mut(), body) {
        out.extend(fields);
    }
    outln!(
        "{}",
        serde_json::to_string_pretty(&envelope).unwrap_or_default()
    );
}

/// `list`: each object with keys (all with `verbose`), then a summary line.
pub fn list_text(objects: &[ListedObject], verbose: bool) -> String {
    let mut out = String::new();
    for object in objects {
        if object.keys.is_empty() && !verbose {
            continue;
        }
        let _ = writeln!(
            out,
            "{} {} {}",
            offload_xapi::object::class_name(object.target.class),
            object.target.uuid,
            object.target.label
        );
        if let Some(effect) = &object.effect {
            let _ = writeln!(out, "    NO EFFECT: {effect}");
        }
        for (name, value) in &object.properties {
            let overridden = object
                .keys
                .iter()
                .any(|k| k.key == format!("ethtool-{name}"));
            let _ = writeln!(
                out,
                "    PIF.properties {name}={value:?}  {}",
                if overridden {
                    "(ethtool-".to_string() + name + " takes precedence)"
                } else {
                    "applied at every plug (no ethtool-".to_string() + name + " key)"
                }
            );
        }
        for key in &object.keys {
            let verdict = match &key.verdict {
                KeyVerdict::Applied { on } => {
                    format!("applied ({})", if *on { "on" } else { "off" })
                }
                KeyVerdict::IgnoredValue { reason } | KeyVerdict::IgnoredKey { reason } => {
                    format!("IGNORED: {reason}")
                }
                KeyVerdict::LinkSetting => "link setting".to_string(),
            };
            let _ = writeln!(out, "    {}={:?}  {verdict}", key.key, key.value);
        }
    }
    let with_keys = objects.iter().filter(|o| !o.keys.is_empty()).count();
    let problems: usize = objects.iter().map(|o| o.problems()).sum();
    let _ = writeln!(
        out,
        "{} objects, {with_keys} with ethtool keys, {problems} keys the host ignores",
        objects.len()
    );
    out
}

/// `verify`: the objects that differ (all with `verbose`), then a summary line.
pub fn verify_text(objects: &[VerifiedObject], policy: &str, verbose: bool) -> String {
    let mut out = String::new();
    for o in objects {
        if o.ok && !verbose {
            continue;
        }
        if let Some(effect) = &o.effect {
            let _ = writeln!(
                out,
                "  NO EFFECT {} {}  {effect}",
                o.target.uuid, o.target.label
            );
            continue;
        }
        let problems = o
            .keys
            .iter()
            .filter(|k| !k.ok)
            .map(|k| match &k.problem {
                Some(p) => format!("{} {p}", k.key),
                None => k.key.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            out,
            "  {} {} {}  {}",
            if o.ok { "ok     " } else { "DIFFERS" },
            o.target.uuid,
            o.target.label,
            problems
        );
    }
    let differ = differing(objects);
    let without = objects.iter().filter(|o| o.effect.is_some()).count();
    let _ = writeln!(
        out,
        "{} objects checked against policy {policy}: {} match, {differ} differ, {without} where keys have no effect",
        objects.len(),
        objects.len() - differ - without
    );
    out
}

/// Objects whose keys differ from the policy where keys do take effect.
pub fn differing(objects: &[VerifiedObject]) -> usize {
    objects
        .iter()
        .filter(|o| !o.ok && o.effect.is_none())
        .count()
}

/// `apply` / `clear`: changed and failed objects, a summary, and what still
/// runs with the old settings.
pub fn report_text(report: &BulkReport, verbose: bool) -> String {
    let mut out = String::new();
    let verb = if report.dry_run {
        "would change"
    } else {
        "changed"
    };
    for o in &report.objects {
        let keys = o
            .changes
            .iter()
            .map(|c| match &c.to {
                Some(v) => format!("{}={v}", c.key),
                None => format!("-{}", c.key),
            })
            .collect::<Vec<_>>()
            .join(" ");
        match o.status {
            Status::Failed => {
                let error = o
                    .error
                    .as_ref()
                    .map_or(String::new(), |e| e.message.clone());
                let written = if o.written.is_empty() {
                    "nothing".to_string()
                } else {
                    o.written.join(" ")
                };
                let _ = writeln!(
                    out,
                    "  FAILED     {} {}  {error}; written before the failure: {written}",
                    o.target.uuid, o.target.label
                );
            }
            Status::NotAttempted => {
                let _ = writeln!(
                    out,
                    "  not done   {} {}  (interrupted)",
                    o.target.uuid, o.target.label
                );
            }
            Status::Changed | Status::WouldChange if verbose || report.objects.len() <= 50 => {
                let _ = writeln!(
                    out,
                    "  {verb:<10} {} {}  {keys}",
                    o.target.uuid, o.target.label
                );
                if let Some(effect) = &o.effect {
                    let _ = writeln!(out, "             ({effect})");
                }
            }
            Status::NoEffect => {
                let effect = o
                    .effect
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  no effect  {} {}  not written: {effect}",
                    o.target.uuid, o.target.label
                );
            }
            Status::Unchanged if verbose => {
                let _ = writeln!(out, "  unchanged  {} {}", o.target.uuid, o.target.label);
            }
            _ => {}
        }
    }
    let class = offload_xapi::object::class_name(report.class);
    let changed = report.count(Status::Changed) + report.count(Status::WouldChange);
    let _ = writeln!(
        out,
        "{class} {} (policy {}): {} objects, {changed} {verb}, {} unchanged, {} without effect, {} failed, {} not done; {} calls in {:.2} s",
        if report.dry_run { "dry run" } else { "done" },
        report.policy,
        report.objects.len(),
        report.count(Status::Unchanged),
        report.count(Status::NoEffect),
        report.count(Status::Failed),
        report.count(Status::NotAttempted),
        report.calls,
        report.seconds
    );
    if let Some(leaves) = &report.clear_leaves {
        // `clear` has no --replug, and for PIFs a replug would undo nothing.
        let _ = writeln!(out, "Not undone: {leaves}");
        return out;
    }
    let pending: Vec<Pending> = report.objects.iter().filter_map(|o| o.pending).collect();
    if !pending.is_empty() && !report.dry_run {
        let (when, hint) = match report.class {
            XapiObject::Pif => (
                "the host applies them at the next PIF.plug or host boot",
                "--replug (PIF.plug)",
            ),
            XapiObject::Vif => (
                "their VMs run: applied at the next VIF plug, VM start or API reboot",
                "--replug or --reboot",
            ),
            XapiObject::Network => (
                "their bridges apply them at the next PIF.plug of the network's PIFs, xapi start or host boot",
                "--replug (PIF.plug of the network's PIFs)",
            ),
        };
        let management = pending
            .iter()
            .filter(|p| matches!(p, Pending::PifAttached { management: true }))
            .count();
        let management = if management > 0 {
            format!(" ({management} management PIFs: a replug briefly interrupts them)")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {class}s still run with the old settings: {when}{management}. Use {hint} to apply now.",
            pending.len(),
        );
    }
    out
}

/// One line per follow-up call (replug, reboot).
pub fn actions_text(actions: &[ActionOutcome]) -> String {
    let mut out = String::new();
    for a in actions {
        let action = a.action.name();
        let _ = match &a.error {
            None => writeln!(out, "  {action:<16} ok      {} {}", a.uuid, a.label),
            Some(e) => writeln!(
                out,
                "  {action:<16} FAILED  {} {}  {}",
                a.uuid, a.label, e.message
            ),
        };
        if let Some(repair) = &a.repair {
            let _ = writeln!(
                out,
                "  !!! {} {} needs attention; run: {repair}",
                a.uuid, a.label
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use offload_xapi::ops::ObjectOutcome;
    use offload_xapi::policy::{KeyChange, Target};

    fn outcome(label: &str, status: Status, pending: Option<Pending>) -> ObjectOutcome {
        ObjectOutcome {
            target: Target {
                class: XapiObject::Pif,
                reference: format!("OpaqueRef:{label}"),
                uuid: format!("uuid-{label}"),
                label: label.to_string(),
            },
            status,
            changes: vec![KeyChange {
                key: "ethtool-tx".into(),
                from: None,
                to: Some("off".into()),
            }],
            kept: Vec::new(),
            written: Vec::new(),
            error: None,
            pending,
            effect: None,
            live: pending.is_some(),
        }
    }

    #[test]
    fn report_counts_and_names_management_pifs_from_the_typed_reason() {
        let report = BulkReport {
            class: XapiObject::Pif,
            policy: "seed".into(),
            dry_run: false,
            objects: vec![
                outcome(
                    "h1/eth0",
                    Status::Changed,
                    Some(Pending::PifAttached { management: true }),
                ),
                outcome(
                    "h1/eth1",
                    Status::Changed,
                    Some(Pending::PifAttached { management: false }),
                ),
                outcome("h1/eth2", Status::NotAttempted, None),
            ],
            clear_leaves: None,
            calls: 7,
            seconds: 0.5,
        };
        let text = report_text(&report, false);
        assert!(
            text.contains("  changed    uuid-h1/eth0 h1/eth0  ethtool-tx=off"),
            "{text}"
        );
        assert!(
            text.contains("  not done   uuid-h1/eth2 h1/eth2  (interrupted)"),
            "{text}"
        );
        assert!(text.contains("PIF done (policy seed): 3 objects, 2 changed, 0 unchanged, 0 without effect, 0 failed, 1 not done; 7 calls"), "{text}");
        assert!(
            text.contains("2 PIFs still run with the old settings"),
            "{text}"
        );
        assert!(
            text.contains("(1 management PIFs: a replug briefly interrupts them)"),
            "{text}"
        );
    }

    #[test]
    fn a_dry_run_mentions_no_pending_devices() {
        let report = BulkReport {
            class: XapiObject::Vif,
            policy: "tx-only".into(),
            dry_run: true,
            objects: vec![outcome(
                "vm/VIF 0",
                Status::WouldChange,
                Some(Pending::VifOfRunningVm),
            )],
            clear_leaves: None,
            calls: 5,
            seconds: 0.1,
        };
        let text = report_text(&report, false);
        assert!(text.contains("would change"), "{text}");
        assert!(!text.contains("still run"), "{text}");
    }
}
