//! `offloadctl xapi pif ...` and `vif ...`: list, apply, verify and clear
//! over a selection of PIFs or VIFs, as one [`Job`].

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use offload_xapi::ops::{self, RunOptions, Selection};
use offload_xapi::policy::{NetworkFilter, PifFilter, Policy, VifFilter};
use offload_xapi::records::PifKind;
use offload_xapi::undo::{self, SaveTo};
use offload_xapi::{Client, Error};
use serde_json::json;

use super::exit::{self, code};
use super::output::{
    actions_text, differing, list_text, print_json, report_text, verify_text, Output,
};
use super::policy_args::PolicyArgs;

/// `pif ...` and `vif ...`: the same four actions over their own selection
/// (`S`) and apply options (`A`).
#[derive(Debug, clap::Subcommand)]
pub(super) enum Action<S: Select, A: ApplyArgs> {
    /// Show every ethtool-* key and whether the host will apply it.
    List(ListArgs<S>),
    /// Write the policy's keys where they differ.
    Apply(A),
    /// Check the keys against a policy, as the host will read them.
    Verify(VerifyArgs<S>),
    /// Remove the policy's keys (or all offload keys with --all-keys).
    Clear(ClearArgs<S>),
}

pub(super) type PifAction = Action<PifSelect, PifApply>;
pub(super) type VifAction = Action<VifSelect, VifApply>;
pub(super) type NetworkAction = Action<NetworkSelect, NetworkApply>;

/// A count that bounds parallel work: 0 would mean "no work" to one reader
/// and "no limit" to another, so it is a usage error.
pub(super) fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Parallel connections (1 or more).
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    workers: usize,
}

impl Default for RunArgs {
    fn default() -> RunArgs {
        RunArgs {
            dry_run: false,
            workers: 8,
        }
    }
}

/// `--save FILE [--force]` of `apply`: what a later `xapi restore FILE` puts back.
#[derive(Debug, Clone, Default, clap::Args)]
pub(super) struct SaveArgs {
    /// Before writing, save each object's previous keys and its device's live
    /// offloads (read in dom0 through the offload plugin) for `xapi restore FILE`.
    #[arg(long, value_name = "FILE")]
    save: Option<std::path::PathBuf>,
    /// With --save: add to an existing file (what it already holds is kept).
    #[arg(long, requires = "save")]
    force: bool,
}

impl SaveArgs {
    fn save_to(&self) -> Option<SaveTo> {
        self.save.as_ref().map(|path| SaveTo {
            path: path.clone(),
            force: self.force,
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
pub(super) struct PifSelect {
    /// Only PIFs of these hosts (name, hostname or uuid; globs; repeatable).
    #[arg(long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Only these devices (globs, e.g. 'eth*'; repeatable).
    #[arg(long = "device", value_name = "DEVICE")]
    devices: Vec<String>,
    /// Only PIFs on these networks (name, bridge or uuid; globs; repeatable).
    #[arg(long = "network", value_name = "NETWORK")]
    networks: Vec<String>,
    /// Only these kinds (repeatable).
    #[arg(long = "kind", value_enum)]
    kinds: Vec<KindArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum KindArg {
    Physical,
    Bond,
    Vlan,
    Tunnel,
}

impl PifSelect {
    fn selection(&self) -> Selection {
        Selection::Pifs(PifFilter {
            hosts: self.hosts.clone(),
            devices: self.devices.clone(),
            networks: self.networks.clone(),
            kinds: self
                .kinds
                .iter()
                .map(|k| match k {
                    KindArg::Physical => PifKind::Physical,
                    KindArg::Bond => PifKind::Bond,
                    KindArg::Vlan => PifKind::Vlan,
                    KindArg::Tunnel => PifKind::Tunnel,
                })
                .collect(),
        })
    }
}

#[derive(Debug, Clone, clap::Args)]
pub(super) struct VifSelect {
    /// Only VMs whose name matches (globs; repeatable).
    #[arg(long = "vm", value_name = "NAME")]
    vm_names: Vec<String>,
    /// Only the VM with this uuid (repeatable).
    #[arg(long = "vm-uuid", value_name = "UUID")]
    vm_uuids: Vec<String>,
    /// Only VIFs on these networks (name, bridge or uuid; globs; repeatable).
    #[arg(long = "network", value_name = "NETWORK")]
    networks: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub(super) struct NetworkSelect {
    /// Only these networks (name, bridge or uuid; globs; repeatable).
    #[arg(long = "network", value_name = "NETWORK")]
    networks: Vec<String>,
}

impl Select for NetworkSelect {
    fn selection(&self) -> Selection {
        Selection::Networks(NetworkFilter {
            networks: self.networks.clone(),
        })
    }
}

impl VifSelect {
    pub(super) fn selection(&self) -> Selection {
        Selection::Vifs(VifFilter {
            vm_names: self.vm_names.clone(),
            vm_uuids: self.vm_uuids.clone(),
            networks: self.networks.clone(),
            include_templates: false,
        })
    }
}

/// `list`: a selection and an output format.
#[derive(Debug, clap::Args)]
pub(super) struct ListArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    output: Output,
}

/// `verify`: a selection and a policy.
#[derive(Debug, clap::Args)]
pub(super) struct VerifyArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    output: Output,
}

/// `clear`: the policy's keys, or all offload keys.
#[derive(Debug, clap::Args)]
pub(super) struct ClearArgs<S: clap::Args> {
    #[command(flatten)]
    select: S,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Remove every ethtool offload key (link settings stay).
    #[arg(long, conflicts_with_all = ["preset", "set"])]
    all_keys: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    output: Output,
}

/// A selection that becomes a [`Selection`].
pub(super) trait Select: clap::Args {
    fn selection(&self) -> Selection;
}

impl Select for PifSelect {
    fn selection(&self) -> Selection {
        PifSelect::selection(self)
    }
}

impl Select for VifSelect {
    fn selection(&self) -> Selection {
        VifSelect::selection(self)
    }
}

impl<S: Select> ListArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::List,
            selection: self.select.selection(),
            policy: None,
            run: RunArgs::default(),
            output: self.output,
        }
    }
}

impl<S: Select> VerifyArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::Verify,
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: RunArgs::default(),
            output: self.output,
        }
    }
}

impl<S: Select> ClearArgs<S> {
    fn job(self) -> Job {
        Job {
            op: Op::Clear,
            selection: self.select.selection(),
            policy: (!self.all_keys).then_some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(super) struct PifApply {
    #[command(flatten)]
    select: PifSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Re-apply now with PIF.plug on attached PIFs (may briefly interrupt the link).
    #[arg(long)]
    replug: bool,
    #[command(flatten)]
    save: SaveArgs,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub(super) struct NetworkApply {
    #[command(flatten)]
    select: NetworkSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Re-apply now with PIF.plug on the network's attached PIFs (may briefly interrupt the link).
    #[arg(long)]
    replug: bool,
    #[command(flatten)]
    output: Output,
}

impl ApplyArgs for NetworkApply {
    fn job(self) -> Job {
        Job {
            op: Op::Apply {
                replug: self.replug,
                reboot: false,
                reboot_limit: 0,
                save: None,
            },
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(super) struct VifApply {
    #[command(flatten)]
    select: VifSelect,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    run: RunArgs,
    /// Unplug and plug changed VIFs of running VMs so the backend re-reads them now.
    #[arg(long)]
    replug: bool,
    /// Clean-reboot running VMs whose VIFs changed (after --replug, only where it failed).
    #[arg(long)]
    reboot: bool,
    /// At most this many reboots at once (1 or more).
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = at_least_one)]
    reboot_limit: usize,
    #[command(flatten)]
    save: SaveArgs,
    #[command(flatten)]
    output: Output,
}

/// What `pif ...` and `vif ...` ask for, with the class folded into the selection.
pub(super) struct Job {
    op: Op,
    selection: Selection,
    policy: Option<PolicyArgs>,
    run: RunArgs,
    output: Output,
}

pub(super) enum Op {
    List,
    Apply {
        replug: bool,
        reboot: bool,
        reboot_limit: usize,
        save: Option<SaveTo>,
    },
    Verify,
    Clear,
}

/// The apply options of `pif apply` / `vif apply`, as a [`Job`].
pub(super) trait ApplyArgs: clap::Args {
    fn job(self) -> Job;
}

impl ApplyArgs for PifApply {
    fn job(self) -> Job {
        Job {
            op: Op::Apply {
                replug: self.replug,
                reboot: false,
                reboot_limit: 0,
                save: self.save.save_to(),
            },
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

impl ApplyArgs for VifApply {
    fn job(self) -> Job {
        Job {
            op: Op::Apply {
                replug: self.replug,
                reboot: self.reboot,
                reboot_limit: self.reboot_limit,
                save: self.save.save_to(),
            },
            selection: self.select.selection(),
            policy: Some(self.policy),
            run: self.run,
            output: self.output,
        }
    }
}

impl<S: Select, A: ApplyArgs> From<Action<S, A>> for Job {
    fn from(action: Action<S, A>) -> Job {
        match action {
            Action::List(a) => a.job(),
            Action::Verify(a) => a.job(),
            Action::Clear(a) => a.job(),
            Action::Apply(a) => a.job(),
        }
    }
}

impl Job {
    /// The policy, checked before anything is read or written (a typo or a
    /// key the host ignores on this kind of object fails here).
    pub(super) fn policy(&self) -> Result<Option<Policy>, Error> {
        let Some(args) = &self.policy else {
            return Ok(None);
        };
        let policy = args.policy()?;
        policy.check_for(self.selection.object())?;
        Ok(Some(policy))
    }

    pub(super) fn run(
        self,
        client: &Client,
        policy: Option<&Policy>,
        cancel: Arc<AtomicBool>,
    ) -> Result<u8, Error> {
        let missing = || Error::InvalidArgument {
            what: "policy".into(),
            message: "missing".into(),
        };
        match self.op {
            Op::List => list(client, &self.selection, &self.output),
            Op::Verify => verify(
                client,
                policy.ok_or_else(missing)?,
                &self.selection,
                &self.output,
            ),
            Op::Clear => clear(
                client,
                policy,
                &self.selection,
                &self.run,
                &self.output,
                cancel,
            ),
            Op::Apply {
                replug,
                reboot,
                reboot_limit,
                save,
            } => {
                let policy = policy.ok_or_else(missing)?;
                apply(
                    client,
                    policy,
                    &self.selection,
                    &self.run,
                    &self.output,
                    cancel,
                    (replug, reboot, reboot_limit),
                    save.as_ref(),
                )
            }
        }
    }
}

fn list(client: &Client, selection: &Selection, output: &Output) -> Result<u8, Error> {
    let objects = ops::list(client, selection)?;
    if output.json {
        print_json("offload.xapi.list/1", json!({ "objects": objects }));
    } else {
        out!("{}", list_text(&objects, output.verbose));
    }
    Ok(if objects.iter().any(|o| o.problems() > 0) {
        code::SOME
    } else {
        code::OK
    })
}

pub(super) fn run_options(run: &RunArgs, cancel: Arc<AtomicBool>, json: bool) -> RunOptions {
    let progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>> =
        (!json && std::io::stderr().is_terminal()).then(|| {
            Arc::new(|done: usize, total: usize| {
                let width = 30;
                let filled = done * width / total.max(1);
                eprint!(
                    "\r[{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
                if done == total {
                    eprintln!();
                }
            }) as Arc<dyn Fn(usize, usize) + Send + Sync>
        });
    RunOptions {
        workers: run.workers,
        keep_explicit: false,
        dry_run: run.dry_run,
        cancel: Some(cancel),
        progress,
    }
}

/// `(replug, reboot, reboot_limit)`.
pub(super) type FollowUps = (bool, bool, usize);

#[allow(clippy::too_many_arguments)]
fn apply(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    run: &RunArgs,
    output: &Output,
    cancel: Arc<AtomicBool>,
    (replug, reboot, reboot_limit): FollowUps,
    save: Option<&SaveTo>,
) -> Result<u8, Error> {
    let options = run_options(run, cancel.clone(), output.json);
    let report = match save {
        Some(save) => undo::apply_saving(client, policy, selection, &options, save)?,
        None => ops::apply(client, policy, selection, &options)?,
    };
    let actions = if (replug || reboot) && !report.dry_run && !cancel.load(Ordering::SeqCst) {
        ops::take_effect(client, &report, replug, reboot, reboot_limit)?
    } else {
        Vec::new()
    };
    if output.json {
        print_json(
            "offload.xapi.apply/1",
            json!({ "report": report, "actions": actions }),
        );
    } else {
        out!("{}", report_text(&report, output.verbose));
        out!("{}", actions_text(&actions));
    }
    let code = exit::for_report(&report);
    Ok(if code == code::OK && actions.iter().any(|a| !a.ok) {
        code::SOME
    } else {
        code
    })
}

fn clear(
    client: &Client,
    policy: Option<&Policy>,
    selection: &Selection,
    run: &RunArgs,
    output: &Output,
    cancel: Arc<AtomicBool>,
) -> Result<u8, Error> {
    let report = ops::clear(
        client,
        policy,
        selection,
        &run_options(run, cancel, output.json),
    )?;
    if output.json {
        print_json("offload.xapi.clear/1", json!({ "report": report }));
    } else {
        out!("{}", report_text(&report, output.verbose));
    }
    Ok(exit::for_report(&report))
}

fn verify(
    client: &Client,
    policy: &Policy,
    selection: &Selection,
    output: &Output,
) -> Result<u8, Error> {
    let objects = ops::verify(client, policy, selection)?;
    if output.json {
        print_json(
            "offload.xapi.verify/1",
            json!({ "policy": policy, "objects": objects }),
        );
    } else {
        out!("{}", verify_text(&objects, &policy.name, output.verbose));
    }
    Ok(if differing(&objects) == 0 {
        code::OK
    } else {
        code::SOME
    })
}
