//! `offloadctl xapi restore FILE`: undo `xapi pif|vif apply --save FILE`.
//! The work (saved values back, the device's saved state written
//! explicitly and applied with PIF.plug, then the keys that did not exist
//! removed) is offload-xapi's `undo::restore`; this only translates.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use offload_xapi::undo::{self, RestoreOptions, RestoreReport};
use offload_xapi::{Client, Error};
use serde_json::json;

use super::exit::{self, code};
use super::objects::{run_options, RunArgs};
use super::output::{actions_text, print_json, report_text, Output};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  offloadctl xapi pif apply --preset seed --save /root/xapi-before.json --replug\n  \
offloadctl xapi restore /root/xapi-before.json\n\n\
PIFs: the saved values are written back; where a key did not exist, the NIC's saved state\n\
is written explicitly (on where it was on), PIF.plug (a bond's master, once) makes the host\n\
run ethtool -K with it, and then the key is removed. A PIF that is not attached keeps the\n\
explicit keys until its next plug (run restore again then). VIFs: values back, absent keys\n\
removed; --replug or --reboot make running VMs pick that up."
)]
pub(super) struct RestoreArgs {
    /// The file written by `pif apply --save` or `vif apply --save`.
    file: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// VIFs: unplug and plug those of running VMs afterwards.
    #[arg(long)]
    replug: bool,
    /// VIFs: clean-reboot running VMs afterwards (after --replug, only where it failed).
    #[arg(long)]
    reboot: bool,
    /// At most this many reboots at once (1 or more).
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = super::objects::at_least_one)]
    reboot_limit: usize,
    #[command(flatten)]
    output: Output,
}

impl RestoreArgs {
    /// The file, read before anything is sent.
    pub(super) fn load(&self) -> Result<undo::UndoFile, Error> {
        undo::load(&self.file)
    }

    pub(super) fn run(
        &self,
        client: &Client,
        file: &undo::UndoFile,
        cancel: Arc<AtomicBool>,
    ) -> Result<u8, Error> {
        let options = RestoreOptions {
            run: run_options(&self.run, cancel, self.output.json),
            replug: self.replug,
            reboot: self.reboot,
            reboot_limit: self.reboot_limit,
        };
        let report = undo::restore(client, file, &options)?;
        if self.output.json {
            print_json("offload.xapi.restore/1", json!({ "report": report }));
        } else {
            out!("{}", restore_text(&report, self.output.verbose));
        }
        let attempted = report
            .written
            .iter()
            .chain(&report.removed)
            .map(exit::for_report)
            .max()
            .unwrap_or(code::OK);
        Ok(
            if attempted == code::OK
                && (!report.kept.is_empty() || report.actions.iter().any(|a| !a.ok))
            {
                code::SOME
            } else {
                attempted
            },
        )
    }
}

fn restore_text(report: &RestoreReport, verbose: bool) -> String {
    let mut out = String::new();
    for written in &report.written {
        out += &report_text(written, verbose);
    }
    out += &actions_text(&report.actions);
    for removed in &report.removed {
        out += &report_text(removed, verbose);
    }
    for kept in &report.kept {
        let _ = writeln!(
            out,
            "  KEPT {} {}  {} stay explicit: {}",
            kept.uuid,
            kept.label,
            kept.keys.join(" "),
            kept.reason
        );
    }
    for (uuid, label) in &report.unknown_devices {
        let _ = writeln!(
            out,
            "  !!! {uuid} {label}: its device state was not saved (plugin unavailable); keys that \
             did not exist are removed, nothing is switched back on (a driver reload or host reboot does)"
        );
    }
    for (uuid, label) in &report.missing {
        let _ = writeln!(out, "  gone {uuid} {label}: no longer in the pool");
    }
    out
}
