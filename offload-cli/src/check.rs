//! `offloadctl check FILE...`: read pcap / pcapng files, give every checksum a
//! verdict (correct, incorrect, offload-pending, not verified) and conclude whether
//! the bad checksums tcpdump complains about are offload artefacts or corruption.
//!
//! Exit codes: 0 no corruption seen (offload-pending does not count), 1 corruption
//! seen (even when a file was also damaged), 2 errors and no corruption seen
//! (unreadable or damaged file: what was read before the damage is still
//! summarised).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use offload_diagnose::diagnose::{self, ChecksumHint, Diagnosis, Outcome, Source};
use offload_diagnose::pcap::CaptureReader;

use crate::verdict_line;

/// Arguments of `offloadctl check`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  offloadctl check /tmp/dump.pcap
  offloadctl check /tmp/dump.pcap --verdicts | grep incorrect
  offloadctl check a.pcapng b.pcap --json
  offloadctl check dump.pcap.gz
  tcpdump -i eth0 -w - | offloadctl check -

Exit codes: 0 no corrupted checksum (offload-pending ones are not corruption);
1 at least one checksum really incorrect, even if a file was also damaged or
unreadable (corruption seen takes precedence); 2 a file could not be read to its
end and no corruption was seen in what was read.")]
pub struct Args {
    /// pcap or pcapng files (tcpdump -w, tshark, Wireshark, offloadctl capture --write),
    /// gzip-compressed or not; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one line per checksum in tcpdump's wording plus our verdict
    /// (`grep incorrect` keeps working; offload-pending ones say so).
    #[arg(long)]
    pub verdicts: bool,
    /// Print the summary as JSON (schema offload.diagnosis/1).
    #[arg(long)]
    pub json: bool,
}

/// Runs `offloadctl check`.
pub fn run(args: Args) -> ExitCode {
    // This program owns its signals: let files be mapped (no copy), with a file
    // that shrinks while it is read reported as an error, not a crash. Without
    // the guard, files are read with pread(2), as the libraries always do.
    let _ = offload_diagnose::pcap::install_truncation_guard();
    let mut total = Diagnosis::new();
    let mut errors = Vec::new();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    for path in &args.files {
        if let Err(e) = check_file(path, &args, &mut total, &mut out) {
            // One clear line per problem, on stderr, as soon as it happens.
            eprintln!("offloadctl check: {e}");
            errors.push(e.to_string());
        }
    }
    let mut summary = total.summary(Source {
        kind: "file",
        files: args.files.iter().map(|p| p.display().to_string()).collect(),
        interfaces: Vec::new(),
        netns: None,
    });
    summary.errors = errors;
    let printed = if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        out.write_all(summary.render_text().as_bytes())
    };
    if let Err(e) = printed.and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("offloadctl check: writing the summary: {e}");
            return ExitCode::from(2);
        }
    }
    exit_for(&summary)
}

/// The exit code of the summary's outcome (corruption wins over errors);
/// shared with `capture`.
pub fn exit_for(summary: &offload_diagnose::diagnose::Summary) -> ExitCode {
    match summary.outcome() {
        Outcome::NoCorruption => ExitCode::SUCCESS,
        Outcome::Corruption => ExitCode::from(1),
        Outcome::Incomplete => ExitCode::from(2),
    }
}

fn check_file(
    path: &std::path::Path,
    args: &Args,
    total: &mut Diagnosis,
    out: &mut impl Write,
) -> Result<(), offload_diagnose::Error> {
    if !args.verdicts {
        // No per-packet output, so order does not matter: classify on all cores.
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let (diagnosis, error) = diagnose::diagnose_file(path, threads);
        total.merge(&diagnosis);
        return error.map_or(Ok(()), Err);
    }
    let mut reader = CaptureReader::open(path)?;
    let mut diagnosis = Diagnosis::new();
    let result = loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                let observation = diagnose::observe(
                    &mut diagnosis,
                    None,
                    record.link_type,
                    record.data,
                    record.orig_len,
                    ChecksumHint::None,
                );
                if args.verdicts {
                    // A closed pipe (`| head`) is not an error worth reporting.
                    let _ = verdict_line::write(out, &record, &observation);
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // Whatever was read before any damage still counts.
    total.merge(&diagnosis);
    result
}
