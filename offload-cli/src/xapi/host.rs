//! `offloadctl xapi host apply|report`: the dom0 offload plugin on each
//! selected host, through `host.call_plugin`.

use std::collections::BTreeMap;

use offload_diagnose::doctor::intent::Intent;
use offload_diagnose::doctor::{Knowledge, Report};
use offload_xapi::ops::{self, HostOutcome};
use offload_xapi::records::PoolView;
use offload_xapi::{Client, Error};
use serde_json::json;

use super::exit;
use super::output::print_json;
use super::policy_args::PolicyArgs;

#[derive(Debug, clap::Subcommand)]
pub(super) enum HostAction {
    /// Apply a policy to NICs and/or vifD.N backends in dom0 now, on each host.
    Apply(HostApply),
    /// Report each host's offload state (the plugin's `report`).
    Report(HostSelect),
    /// Run `offloadctl doctor` in each dom0 (the plugin's `doctor`): one
    /// report per host; exit 0 nothing wrong anywhere, 1 a problem on a host,
    /// 2 a host could not be diagnosed.
    Doctor(HostDoctor),
}

#[derive(Debug, clap::Args)]
pub(super) struct HostDoctor {
    #[command(flatten)]
    select: HostSelect,
    /// How long each dom0 watches (1 to 60 seconds; all hosts at once).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=60))]
    seconds: u32,
}

#[derive(Debug, clap::Args)]
pub(super) struct HostSelect {
    /// Every host of the pool.
    #[arg(long, conflicts_with = "hosts")]
    all_hosts: bool,
    /// Only these hosts (name or uuid; globs; repeatable).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(super) struct HostApply {
    #[command(flatten)]
    select: HostSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    /// What to change in dom0.
    #[arg(long, value_enum, default_value_t = Targets::All)]
    targets: Targets,
}

/// The plugin's `targets` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Targets {
    /// Host NICs.
    Nics,
    /// vifD.N backends of running VMs.
    Vifs,
    /// Both.
    All,
}

impl Targets {
    fn word(self) -> &'static str {
        match self {
            Targets::Nics => "nics",
            Targets::Vifs => "vifs",
            Targets::All => "all",
        }
    }
}

/// A plugin call, checked locally before any host is touched.
#[derive(Debug)]
pub(super) struct HostJob {
    select: HostSelect,
    function: &'static str,
    args: BTreeMap<String, String>,
}

impl HostJob {
    pub(super) fn new(action: HostAction) -> Result<HostJob, Error> {
        let (select, function, args) = match action {
            HostAction::Apply(a) => {
                // Resolved here so a typo fails before any host is touched; the
                // plugin gets the words as given.
                a.policy.policy()?;
                let mut args = BTreeMap::new();
                if let Some(preset) = &a.policy.preset {
                    args.insert("preset".to_string(), preset.clone());
                } else if let Some(settings) = &a.policy.set {
                    args.insert("settings".to_string(), settings.clone());
                }
                args.insert("targets".to_string(), a.targets.word().to_string());
                (a.select, "apply", args)
            }
            HostAction::Report(s) => (s, "report", BTreeMap::new()),
            HostAction::Doctor(d) => {
                let args = BTreeMap::from([("seconds".to_string(), d.seconds.to_string())]);
                (d.select, "doctor", args)
            }
        };
        if !select.all_hosts && select.hosts.is_empty() {
            return Err(Error::InvalidArgument {
                what: "host selection".into(),
                message: "give --all-hosts or --host NAME".into(),
            });
        }
        Ok(HostJob {
            select,
            function,
            args,
        })
    }

    pub(super) fn run(&self, client: &Client) -> Result<u8, Error> {
        let outcomes = ops::call_plugin_on_hosts(
            client,
            &self.select.hosts,
            "offload",
            self.function,
            &self.args,
        )?;
        if self.function == "doctor" {
            let view = PoolView::fetch(client)?;
            return Ok(self.doctor_output(&outcomes, &view));
        }
        if self.select.json {
            let hosts: Vec<_> = outcomes.iter().map(host_json).collect();
            print_json(
                "offload.xapi.host/1",
                json!({ "function": self.function, "hosts": hosts }),
            );
        } else {
            out!("{}", hosts_text(&outcomes));
        }
        let failed = outcomes.iter().filter(|o| !o.ok).count();
        Ok(exit::for_failures(failed, outcomes.len()))
    }
}

impl HostJob {
    /// Each host's doctor report (text, or the hosts' JSON); the exit code is
    /// the worst host's (a failed plugin call counts as "could not diagnose").
    fn doctor_output(&self, outcomes: &[HostOutcome], view: &PoolView) -> u8 {
        let mut worst = 0;
        let mut text = String::new();
        let mut hosts = Vec::new();
        for o in outcomes {
            // The dom0's evidence, with the keys XAPI holds for its devices.
            let intents: Vec<Intent> = view
                .hosts
                .iter()
                .find(|(_, h)| h.uuid == o.uuid)
                .map(|(reference, _)| view.offload_intent(reference))
                .unwrap_or_default()
                .into_iter()
                .map(|i| Intent {
                    device: i.device,
                    object: i.object,
                    keys: i.keys,
                })
                .collect();
            let report = o.output.as_deref().map(|t| {
                Report::from_json(t, &o.host).map(|r| {
                    Report::from_evidence_and_intent(r.evidence, &Knowledge::builtin(), &intents)
                })
            });
            let mut entry = host_json(o);
            if let Some(Ok(r)) = &report {
                entry["result"] = serde_json::to_value(r).unwrap_or_default();
            }
            hosts.push(entry);
            let code = match (&o.error, &report) {
                (None, Some(Ok(r))) => {
                    text.push_str(&format!("== {}\n{}", o.host, r.render_text()));
                    r.exit_code()
                }
                (Some(e), _) => {
                    text.push_str(&format!("== {}\nFAILED {}\n", o.host, e.message));
                    2
                }
                (None, Some(Err(e))) => {
                    text.push_str(&format!("== {}\nFAILED {e}\n", o.host));
                    2
                }
                (None, None) => 2,
            };
            worst = worst.max(code);
        }
        if self.select.json {
            print_json(
                "offload.xapi.host/1",
                json!({ "function": self.function, "hosts": hosts }),
            );
        } else {
            out!("{text}");
        }
        worst as u8
    }
}

/// One host in JSON: the plugin's answer as JSON when it is, else as text.
fn host_json(o: &HostOutcome) -> serde_json::Value {
    let result = o.output.as_deref().map(|text| {
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
    });
    json!({"host": o.host, "uuid": o.uuid, "ok": o.ok, "result": result, "error": o.error})
}

fn hosts_text(outcomes: &[HostOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| match (&o.output, &o.error) {
            (_, Some(e)) => format!("{}: FAILED {}\n", o.host, e.message),
            (Some(out), None) => format!("{}: {out}\n", o.host),
            (None, None) => format!("{}: ok\n", o.host),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        action: HostAction,
    }

    fn job(args: &[&str]) -> Result<HostJob, Error> {
        let cli = Cli::try_parse_from(std::iter::once("host").chain(args.iter().copied()))
            .expect("flags parse");
        HostJob::new(cli.action)
    }

    #[test]
    fn apply_passes_the_words_given_after_checking_them() {
        let j = job(&[
            "apply",
            "--all-hosts",
            "--preset",
            "seed",
            "--targets",
            "nics",
        ])
        .unwrap();
        assert_eq!(j.function, "apply");
        assert_eq!(j.args["preset"], "seed");
        assert_eq!(j.args["targets"], "nics");
        assert!(matches!(
            job(&["apply", "--all-hosts", "--preset", "fast"]),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            job(&["apply", "--all-hosts"]),
            Err(Error::Spec(offload_xapi::SpecError::NoPolicy))
        ));
        assert!(job(&["report"]).is_err(), "no host selection");
        assert_eq!(job(&["report", "--host", "xen1"]).unwrap().args.len(), 0);
    }

    #[test]
    fn plugin_answers_stay_json_when_they_are() {
        let ok = HostOutcome {
            host: "xen1".into(),
            uuid: "u1".into(),
            ok: true,
            output: Some("{\"changed\": 2}".into()),
            error: None,
        };
        assert_eq!(host_json(&ok)["result"]["changed"], 2);
        let text = HostOutcome {
            output: Some("plain".into()),
            ..ok.clone()
        };
        assert_eq!(host_json(&text)["result"], "plain");
        assert_eq!(hosts_text(&[text]), "xen1: plain\n");
    }
}
