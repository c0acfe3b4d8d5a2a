//! `offloadctl capture [IFACE...|--all]`: capture live on one AF_PACKET ring
//! (however many interfaces), and classify every checksum with the kernel's own
//! per-packet status (offload-pending for certain when the kernel says the checksum
//! is not ready yet). A status line refreshes on stderr when it is a terminal; the
//! summary comes at the end (`--seconds`, `--count`) or on Ctrl-C.
//!
//! Exit codes as for `check`: 0 no corruption, 1 corruption seen, 2 errors.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use offload_diagnose::capture::{Capture, CaptureConfig};

/// Arguments of `offloadctl capture`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  offloadctl capture eth0 --seconds 10
  offloadctl capture --all --seconds 10 --json
  offloadctl capture vif1.0 --netns lab --write /tmp/vif.pcap

Exit codes: 0 no corrupted checksum; 1 at least one really incorrect;
2 the capture could not start (no such interface, no CAP_NET_RAW).")]
pub struct Args {
    /// Interfaces to capture on.
    #[arg(
        value_name = "IFACE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub interfaces: Vec<String>,
    /// Capture on every interface that is up.
    #[arg(long)]
    pub all: bool,
    /// Stop after N seconds (a positive number, fractions allowed).
    #[arg(long, value_name = "N", value_parser = parse_seconds)]
    pub seconds: Option<Duration>,
    /// Stop after N packets (over all interfaces).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Capture inside this network namespace (a name from `ip netns` or a path).
    #[arg(long, value_name = "NS")]
    pub netns: Option<String>,
    /// Also save the packets to this pcapng file (readable by `check` and tcpdump).
    /// A new file is created (an existing file is not overwritten, a symlink not
    /// followed); an existing FIFO or `/dev/stdout` (or `-`) is written to, and the
    /// summary then goes to stderr.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Print the summary as JSON (schema offload.diagnosis/1).
    #[arg(long)]
    pub json: bool,
}

/// `--seconds`: what cannot be a duration is a usage error.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    offload_diagnose::capture::duration_from_secs(secs)
        .ok_or_else(|| format!("{text} seconds is not a duration a capture can run for"))
}

/// Runs `offloadctl capture`.
pub fn run(args: Args) -> ExitCode {
    let duration = args.seconds;
    // Ctrl-C and SIGTERM only raise a flag; the capture (waiting for a FIFO's
    // reader included) and the loop below notice it and end cleanly.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("offloadctl capture: cannot handle signal {signal}: {e}");
            return ExitCode::from(2);
        }
    }
    // When the packets go to standard output, the summary goes to stderr.
    let write = args.write.map(|path| {
        if path == std::path::Path::new("-") {
            PathBuf::from("/dev/stdout")
        } else {
            path
        }
    });
    let summary_to_stderr = write
        .as_deref()
        .is_some_and(offload_diagnose::capture::save_file::is_standard_output);
    let config = CaptureConfig {
        interfaces: args.interfaces,
        all: args.all,
        netns: args.netns,
        duration,
        count: args.count,
        write,
        interrupt: Arc::clone(&interrupted),
    };
    let capture = match Capture::start(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("offloadctl capture: {e}");
            return ExitCode::from(2);
        }
    };
    let live = std::io::stderr().is_terminal();
    while !capture.is_finished() && !interrupted.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        if live {
            let line = capture.status().line(capture.elapsed());
            let _ = write!(std::io::stderr(), "\r\x1b[K{line}");
        }
    }
    if live {
        let _ = writeln!(std::io::stderr());
    }
    let summary = match capture.finish() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("offloadctl capture: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => text + "\n",
            Err(e) => {
                eprintln!("offloadctl capture: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        summary.render_text()
    };
    // A closed stdout (`| head`) is not worth a panic or a message.
    let _ = if summary_to_stderr {
        std::io::stderr().write_all(text.as_bytes())
    } else {
        std::io::stdout().write_all(text.as_bytes())
    };
    for e in &summary.errors {
        eprintln!("offloadctl capture: {e}");
    }
    crate::check::exit_for(&summary)
}
