//! `offloadctl restore FILE`: undo `offloadctl disable --save FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use offload_ethtool::{netns, snapshot};

use crate::ethtool_common::{self, code};

/// Put back the requested offload features saved by `disable --save FILE`.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("Example:\n  offloadctl restore /root/offload-before.json\n\nExit codes for restore: 0 every interface restored, 1 some, 2 none.\n{}", ethtool_common::EXIT_CODES_HELP))]
pub struct Args {
    /// The snapshot file.
    file: PathBuf,
    /// Restore even if the snapshot was taken on another host.
    #[arg(long)]
    force_other_host: bool,
}

/// Runs `offloadctl restore`.
pub fn run(args: Args) -> ExitCode {
    let snap = match snapshot::load(&args.file) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("offloadctl restore: {message}; nothing changed");
            return ExitCode::from(code::BAD_SNAPSHOT);
        }
    };
    let here = snapshot::Host::this();
    if snap.host.machine_id != here.machine_id && !args.force_other_host {
        eprintln!(
            "offloadctl restore: {} was taken on host {} (machine-id {}), this is {} (machine-id {}); nothing changed",
            args.file.display(), snap.host.hostname, snap.host.machine_id, here.hostname, here.machine_id
        );
        return ExitCode::from(code::OTHER_HOST);
    }
    let interfaces = snap.interfaces.clone();
    let restored = netns::run_in(snap.netns.as_deref(), move || {
        Ok(interfaces
            .iter()
            .map(snapshot::restore_interface)
            .collect::<Vec<_>>())
    });
    let restored = match restored {
        Ok(r) => r,
        Err(e) => return ethtool_common::fail("restore", &e),
    };
    let mut good = 0;
    for r in &restored {
        if r.problems.is_empty() {
            good += 1;
            println!("{}: restored", r.name);
        } else {
            println!("{}: not fully restored: {}", r.name, r.problems.join("; "));
        }
    }
    ethtool_common::tally(good, restored.len())
}
