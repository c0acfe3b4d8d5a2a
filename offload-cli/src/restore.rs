//! `offloadctl restore FILE`: undo `offloadctl disable --save FILE`. The work
//! (host check, one read per interface, only what the run changed) is
//! offload-ethtool's `snapshot::restore`; this only translates.

use std::path::PathBuf;
use std::process::ExitCode;

use offload_ethtool::outcome::Status;
use offload_ethtool::snapshot::{self, Restore};

use crate::ethtool_common;

/// Put back the requested offload features saved by `disable --save FILE`:
/// those the disable changed (all saved features with --all-features).
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Example:\n  offloadctl restore /root/offload-before.json\n\nExit codes for restore: 0 every interface restored, 1 some, 2 none.\n{}", ethtool_common::EXIT_CODES_HELP))]
pub struct Args {
    /// The snapshot file.
    file: PathBuf,
    /// Restore even if the snapshot was taken on another host.
    #[arg(long)]
    force_other_host: bool,
    /// Put back every saved feature, also those the disable did not change.
    #[arg(long)]
    all_features: bool,
    /// Network namespace to restore in (default: the one the snapshot names).
    #[arg(long)]
    netns: Option<String>,
    /// Print what would be put back; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON report (schema offload.restore/2); a failure is JSON too (offload.error/1, same exit code).
    #[arg(long)]
    json: bool,
}

/// Runs `offloadctl restore`.
pub fn run(args: Args) -> ExitCode {
    let json = args.json;
    let options = Restore {
        allow_other_host: args.force_other_host,
        netns: args.netns,
        all_features: args.all_features,
        stop: Some(ethtool_common::interrupt_flag()),
    };
    let report = snapshot::load(&args.file).and_then(|snap| {
        if snap.interfaces.is_empty() {
            ethtool_common::print_error(
                "restore",
                &format!("{}: the snapshot holds no interface", args.file.display()),
            );
        }
        if args.dry_run {
            snapshot::plan_restore(&snap, &options)
        } else {
            snapshot::restore(&snap, &options)
        }
    });
    let report = match report {
        Ok(report) => report,
        Err(e) => return ethtool_common::fail_as("restore", &e, json),
    };
    if json {
        ethtool_common::print_line(&report.to_json_pretty());
    } else {
        for o in &report.interfaces {
            let line = match o.status {
                Status::Planned if o.changed.is_empty() => "nothing to put back".to_string(),
                Status::Planned => format!("would put back {}", o.changed.join(" ")),
                Status::Changed => "restored".to_string(),
                Status::Unchanged => "restored (already as saved)".to_string(),
                Status::Failed => format!("failed: {}", o.error.as_deref().unwrap_or("")),
                _ => format!(
                    "not fully restored: {}{}",
                    o.refused.join(" "),
                    o.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            };
            ethtool_common::print_line(&format!("{}: {line}", o.ifname));
        }
    }
    ethtool_common::report_exit(&report)
}
