//! The diagnosis: per-protocol verdict counts, the flows and hosts with really
//! incorrect checksums, and a one-line conclusion that tells offload from
//! corruption. `offloadctl check`, `offloadctl capture`, the C ABI and the Python
//! module all produce it; its JSON form ([`Summary`]) is a stable schema
//! (`"schema": "offload.diagnosis/1"`; fields are only ever added).

#[cfg(test)]
mod chunked_tests;
#[cfg(test)]
mod decode;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use offload_core::counters::Snapshot;
use offload_core::counters::Writer;
use offload_core::verdict::{self, Class, Counted, Verdict};
use serde::Serialize;

/// The schema name and version written into every JSON summary.
pub const SCHEMA: &str = "offload.diagnosis/1";

/// How many flows and hosts the summary lists.
pub const TOP: usize = 10;

/// A checksum the diagnosis counts separately: offload-core's checksum kinds
/// (serialised as `ipv4_header`, `tcp4`, ...).
pub use offload_core::verdict::Checksum as Protocol;

/// Which IP layer a verdict belongs to (offload-core's).
pub use offload_core::verdict::Layer;

/// Counts of not-verified checksums, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NotVerifiedCounts {
    /// IP fragments (the L4 checksum covers other fragments too).
    pub fragment: u64,
    /// Cut short by the capture's snapshot length.
    pub truncated: u64,
    /// UDP over IPv4 with checksum 0 (none computed by the sender).
    pub udp_zero_checksum: u64,
    /// A reason this version does not know by name.
    pub other: u64,
}

impl NotVerifiedCounts {
    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.fragment + self.truncated + self.udp_zero_checksum + self.other
    }
}

/// Verdict counts for one protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProtocolCounts {
    /// Which checksum.
    pub protocol: Option<Protocol>,
    /// Checksums that verify.
    pub correct: u64,
    /// Checksums that are really wrong (corruption, or a broken offload).
    pub incorrect: u64,
    /// Checksums left for the NIC (TX checksum offload at the capture point).
    pub offload_pending: u64,
    /// Checksums not verified, by reason.
    pub not_verified: NotVerifiedCounts,
}

impl ProtocolCounts {
    fn seen(&self) -> u64 {
        self.correct + self.incorrect + self.offload_pending + self.not_verified.total()
    }
}

pub use offload_core::verdict::{ChecksumHint, Endpoints};

/// The verdicts of one packet (offload-core's), for `--verdicts` lines.
pub use offload_core::verdict::Observation;

/// Classifies one frame, counts it into `diagnosis` (and into the shared
/// offload-core counters through `live`, if given), and returns its verdicts
/// (for `--verdicts` lines).
#[inline(always)]
pub fn observe(
    diagnosis: &mut Diagnosis,
    live: Option<&mut Writer<'_>>,
    link_type: u16,
    frame: &[u8],
    orig_len: u32,
    hint: ChecksumHint,
) -> Observation {
    diagnosis.add_packet(orig_len);
    // Counted in each branch: the common case's observation stays in registers.
    match verdict::classify_common(link_type, frame, hint) {
        Some(common) => {
            count(diagnosis, live, &common.counted(), |_| {
                Some(&common.endpoints)
            });
            common.into()
        }
        None => {
            let observation = verdict::classify_uncommon(link_type, frame, hint);
            if observation.ip_header.is_none() && observation.transport.is_none() {
                diagnosis.add_undecoded();
            }
            let counted = observation.counted();
            count(diagnosis, live, counted.as_slice(), |layer| {
                observation.endpoints_in(layer)
            });
            observation
        }
    }
}

/// Counts one packet's verdicts into `diagnosis` (and `live`); `endpoints`
/// names a layer's flow, for the incorrect ones.
#[inline(always)]
fn count<'o>(
    diagnosis: &mut Diagnosis,
    live: Option<&mut Writer<'_>>,
    counted: &[Counted],
    endpoints: impl Fn(verdict::Layer) -> Option<&'o Endpoints>,
) {
    // One list of verdicts for both counts, so a capture's live counters and a
    // file's diagnosis count the same things (tunnels' inner layer included).
    diagnosis.tally.count(counted);
    for c in counted {
        if c.class == Class::Incorrect {
            diagnosis.add_incorrect(c.checksum, endpoints(c.layer));
        }
    }
    if let Some(live) = live {
        live.record(counted);
    }
}

/// A batch of packets: a read buffer and where the packets are in it.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    entries: Vec<crate::pcap::BatchEntry>,
}

/// Counts every packet of a batch into `diagnosis`.
fn observe_batch(diagnosis: &mut Diagnosis, batch: &Batch) {
    for e in &batch.entries {
        observe(
            diagnosis,
            None,
            e.link_type,
            &batch.bytes[e.start..e.end],
            e.orig_len,
            ChecksumHint::None,
        );
    }
}

/// Reads a whole capture file and diagnoses it on `threads` threads, each
/// with its own [`Diagnosis`], merged at the end. An uncompressed classic pcap
/// file is read by all threads at once ([`ClassicChunks`](crate::pcap::ClassicChunks));
/// anything else (pcapng, gzip, standard input) is read in turn, one batch at
/// a time, and classified on all threads.
/// Returns what was read even when the file is damaged, together with the error.
pub fn diagnose_file(path: &std::path::Path, threads: usize) -> (Diagnosis, Option<crate::Error>) {
    let reader = match crate::pcap::CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => return (Diagnosis::new(), Some(e)),
    };
    match reader.into_chunks() {
        Ok(chunks) => diagnose_classic(chunks, path, threads),
        Err(reader) => diagnose_in_turn(*reader, threads),
    }
}

/// Diagnoses a classic pcap file in chunks. A mapped file that shrank while it
/// was read (rewritten, as `tcpdump -C` does with its files) gave zeros for
/// the pages it lost, not packets: that reading is dropped and the file is
/// read again with `pread(2)`, which sees it as it is now.
fn diagnose_classic(
    chunks: crate::pcap::ClassicChunks,
    path: &std::path::Path,
    threads: usize,
) -> (Diagnosis, Option<crate::Error>) {
    let first = diagnose_chunks(&chunks, threads);
    if !chunks.cut_short() {
        return first;
    }
    drop(chunks);
    match crate::pcap::CaptureReader::open(path).map(|r| r.into_chunks()) {
        Ok(Ok(chunks)) => diagnose_chunks(&chunks.unmapped(), threads),
        Ok(Err(reader)) => diagnose_in_turn(*reader, threads),
        Err(e) => (Diagnosis::new(), Some(e)),
    }
}

/// Diagnoses a classic pcap file read by `threads` threads at once.
fn diagnose_chunks(
    chunks: &crate::pcap::ClassicChunks,
    threads: usize,
) -> (Diagnosis, Option<crate::Error>) {
    let run = chunks.run::<Diagnosis>();
    on_threads(threads, || run.work(), |(), ()| {});
    run.finish()
}

/// A chunk of a classic pcap file is counted into a diagnosis of its own.
impl crate::pcap::ChunkPart for Diagnosis {
    #[inline(always)]
    fn add(&mut self, link_type: u16, frame: &[u8], orig_len: u32) {
        observe(self, None, link_type, frame, orig_len, ChecksumHint::None);
    }

    fn merge(&mut self, later: Self) {
        Diagnosis::merge(self, &later);
    }
}

/// Runs `work` on `threads` threads (this one among them) and merges what
/// each returns.
fn on_threads<T: Send>(
    threads: usize,
    work: impl Fn() -> T + Sync,
    mut merge: impl FnMut(&mut T, T),
) -> T {
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.max(1)).map(|_| scope.spawn(&work)).collect();
        let mut total = work();
        for helper in helpers {
            match helper.join() {
                Ok(part) => merge(&mut total, part),
                // A thread's packets are not silently left out of the counts.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        total
    })
}

/// Diagnoses a capture that can only be read from front to back, on `threads`
/// threads, all alike: each in turn takes the reader, reads the next batch
/// into its own buffer, lets the reader go, and classifies that batch while
/// another thread reads.
fn diagnose_in_turn(
    reader: crate::pcap::CaptureReader<std::fs::File>,
    threads: usize,
) -> (Diagnosis, Option<crate::Error>) {
    let turn = std::sync::Mutex::new(ReaderTurn {
        reader,
        done: false,
        error: None,
    });
    let work = || {
        let mut diagnosis = Diagnosis::new();
        let mut batch = Batch::default();
        loop {
            {
                // A thread that panicked while reading leaves the rest unread.
                let Ok(mut turn) = turn.lock() else { break };
                if turn.done {
                    break;
                }
                let result = turn.reader.next_batch(&mut batch.bytes, &mut batch.entries);
                match result {
                    Ok(()) => turn.done = batch.entries.is_empty(),
                    Err(e) => {
                        turn.done = true;
                        turn.error = Some(e);
                    }
                }
            }
            // On damage, the packets before it are in the batch and count.
            observe_batch(&mut diagnosis, &batch);
        }
        diagnosis
    };
    let total = on_threads(threads, work, |total, part| total.merge(&part));
    let error = turn.lock().map_or(None, |mut turn| turn.error.take());
    (total, error)
}

/// The reader shared by [`diagnose_file`]'s threads, and how its reading ended.
struct ReaderTurn {
    reader: crate::pcap::CaptureReader<std::fs::File>,
    /// The end of the file or damage was met: nothing more to read.
    done: bool,
    error: Option<crate::Error>,
}

/// Checks one capture file: the one "check a file" policy every front-end
/// (CLI, C, Python, the plugin) uses.
///
/// A file that cannot be opened or read, or that is damaged before its first
/// packet (not a capture file, a bad header), is an error: there is nothing to
/// summarise. Damage after some packets is not: what was read before it
/// counts, and the damage is listed in the summary's `errors`.
pub fn check_file(path: &std::path::Path, threads: usize) -> crate::Result<Summary> {
    let (diagnosis, error) = diagnose_file(path, threads);
    let mut summary = diagnosis.summary(Source::files(&[path]));
    match error {
        None => {}
        Some(e @ crate::Error::CaptureFileIo { .. }) => return Err(e),
        Some(e @ crate::Error::CaptureFileDamaged { records: 0, .. })
            if diagnosis.packets() == 0 =>
        {
            return Err(e)
        }
        Some(e) => summary.errors.push(e.to_string()),
    }
    Ok(summary)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    protocol: Protocol,
    endpoints: Endpoints,
}

/// Accumulates verdicts packet by packet; one per thread, merged at the end.
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    packets: u64,
    bytes: u64,
    undecoded: u64,
    /// Verdicts by layer, checksum and class (offload-core's cells).
    tally: Snapshot,
    /// Incorrect checksums per flow (the hosts' counts are summed from these
    /// when a summary is made, not per packet).
    incorrect_flows: HashMap<FlowKey, u64>,
    /// Flows of incorrect checksums not yet in `incorrect_flows`. A chunk of
    /// a file is counted into a diagnosis of its own, then merged: each flow
    /// is hashed once, at the merge (or when this many are waiting).
    unhashed: Vec<FlowKey>,
    drops: u64,
}

/// Flows of incorrect checksums waiting to be hashed at most (about 200 kB).
const UNHASHED: usize = 4096;

impl Diagnosis {
    /// An empty diagnosis.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one captured packet of `wire_len` bytes, before its verdicts.
    #[inline]
    pub fn add_packet(&mut self, wire_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire_len);
    }

    /// Counts a packet whose network layer could not be decoded (not IP, or
    /// too damaged to find the checksums).
    #[inline]
    pub fn add_undecoded(&mut self) {
        self.undecoded += 1;
    }

    /// Counts one checksum verdict of the outer layer; `endpoints` names the
    /// flow for incorrect ones.
    #[inline]
    pub fn add_verdict(
        &mut self,
        protocol: Protocol,
        verdict: Verdict,
        endpoints: Option<&Endpoints>,
    ) {
        self.add_verdict_in(Layer::Outer, protocol, verdict, endpoints);
    }

    /// Counts one checksum verdict of `layer`; `endpoints` (that layer's) names
    /// the flow for incorrect ones.
    #[inline]
    pub fn add_verdict_in(
        &mut self,
        layer: Layer,
        protocol: Protocol,
        verdict: Verdict,
        endpoints: Option<&Endpoints>,
    ) {
        self.tally.count(&[Counted {
            layer,
            checksum: protocol,
            class: verdict.class(),
        }]);
        if let Verdict::Incorrect { .. } = verdict {
            self.add_incorrect(protocol, endpoints);
        }
    }

    /// Names the flow and hosts of an incorrect checksum (rare: kept out of
    /// the per-packet path).
    #[cold]
    fn add_incorrect(&mut self, protocol: Protocol, endpoints: Option<&Endpoints>) {
        if let Some(endpoints) = endpoints {
            self.unhashed.push(FlowKey {
                protocol,
                endpoints: *endpoints,
            });
            if self.unhashed.len() >= UNHASHED {
                for key in std::mem::take(&mut self.unhashed) {
                    *self.incorrect_flows.entry(key).or_insert(0) += 1;
                }
            }
        }
    }

    /// Adds packets the kernel dropped before we saw them (live capture).
    pub fn add_drops(&mut self, drops: u64) {
        self.drops += drops;
    }

    /// Folds another diagnosis (another thread or file) into this one.
    pub fn merge(&mut self, other: &Diagnosis) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.undecoded += other.undecoded;
        self.drops += other.drops;
        self.tally.merge(&other.tally);
        for (key, n) in &other.incorrect_flows {
            *self.incorrect_flows.entry(*key).or_insert(0) += n;
        }
        for key in &other.unhashed {
            *self.incorrect_flows.entry(*key).or_insert(0) += 1;
        }
    }

    /// Incorrect checksums per flow.
    fn flow_counts(&self) -> HashMap<FlowKey, u64> {
        let mut flows = self.incorrect_flows.clone();
        for key in &self.unhashed {
            *flows.entry(*key).or_insert(0) += 1;
        }
        flows
    }

    /// Incorrect checksums per host, source or destination (a flow within
    /// one host counts once).
    fn incorrect_hosts(&self) -> HashMap<IpAddr, u64> {
        let mut hosts = HashMap::new();
        for (flow, n) in self.flow_counts() {
            let (src, dst) = (flow.endpoints.src, flow.endpoints.dst);
            *hosts.entry(src).or_insert(0) += n;
            if dst != src {
                *hosts.entry(dst).or_insert(0) += n;
            }
        }
        hosts
    }

    /// Packets counted so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The counts for one protocol of the outer layer.
    pub fn counts(&self, protocol: Protocol) -> ProtocolCounts {
        self.counts_in(Layer::Outer, protocol)
    }

    /// The counts for one protocol of `layer`.
    pub fn counts_in(&self, layer: Layer, protocol: Protocol) -> ProtocolCounts {
        let n = |class| self.tally.get(layer, protocol, class);
        ProtocolCounts {
            protocol: Some(protocol),
            correct: n(Class::Correct),
            incorrect: n(Class::Incorrect),
            offload_pending: n(Class::OffloadPending),
            not_verified: NotVerifiedCounts {
                fragment: n(Class::NotVerifiedFragment),
                truncated: n(Class::NotVerifiedTruncated),
                udp_zero_checksum: n(Class::NotVerifiedUdpZero),
                other: n(Class::NotVerifiedUnsupported),
            },
        }
    }

    /// Every layer's counts, outer first.
    fn all_counts(&self) -> impl Iterator<Item = ProtocolCounts> + '_ {
        Layer::ALL
            .into_iter()
            .flat_map(move |layer| Protocol::ALL.map(|p| self.counts_in(layer, p)))
    }

    /// Really incorrect checksums over all protocols and layers.
    pub fn incorrect(&self) -> u64 {
        self.all_counts().map(|c| c.incorrect).sum()
    }

    /// Offload-pending checksums over all protocols and layers.
    pub fn offload_pending(&self) -> u64 {
        self.all_counts().map(|c| c.offload_pending).sum()
    }

    /// The summary, with its conclusion; `source` says what was read.
    pub fn summary(&self, source: Source) -> Summary {
        let seen = |layer| -> Vec<ProtocolCounts> {
            Protocol::ALL
                .iter()
                .map(|&p| self.counts_in(layer, p))
                .filter(|c| c.seen() > 0)
                .collect()
        };
        let protocols = seen(Layer::Outer);
        let tunneled = seen(Layer::Tunneled);
        let mut flows: Vec<(FlowKey, u64)> = self.flow_counts().into_iter().collect();
        flows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| flow_order(&a.0, &b.0)));
        flows.truncate(TOP);
        let mut hosts: Vec<(IpAddr, u64)> = self.incorrect_hosts().into_iter().collect();
        hosts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        hosts.truncate(TOP);
        let incorrect = self.incorrect();
        let offload_pending = self.offload_pending();
        Summary {
            schema: SCHEMA,
            conclusion: conclusion(self, &hosts),
            corruption: incorrect > 0,
            source,
            packets: self.packets,
            bytes: self.bytes,
            undecoded: self.undecoded,
            kernel_drops: self.drops,
            incorrect,
            offload_pending,
            protocols,
            tunneled,
            top_flows: flows
                .into_iter()
                .map(|(k, n)| FlowReport {
                    protocol: k.protocol,
                    src: k.endpoints.src.to_string(),
                    src_port: k.endpoints.src_port,
                    dst: k.endpoints.dst.to_string(),
                    dst_port: k.endpoints.dst_port,
                    incorrect: n,
                })
                .collect(),
            top_hosts: hosts
                .into_iter()
                .map(|(h, n)| HostReport {
                    host: h.to_string(),
                    incorrect: n,
                })
                .collect(),
            errors: Vec::new(),
        }
    }
}

fn flow_order(a: &FlowKey, b: &FlowKey) -> std::cmp::Ordering {
    (
        a.protocol,
        a.endpoints.src,
        a.endpoints.src_port,
        a.endpoints.dst,
        a.endpoints.dst_port,
    )
        .cmp(&(
            b.protocol,
            b.endpoints.src,
            b.endpoints.src_port,
            b.endpoints.dst,
            b.endpoints.dst_port,
        ))
}

/// What a summary was computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `"file"` or `"capture"`.
    pub kind: &'static str,
    /// Files read (for `check`).
    pub files: Vec<String>,
    /// Interfaces captured on (for `capture`).
    pub interfaces: Vec<String>,
    /// The network namespace captured in, if not the current one.
    pub netns: Option<String>,
}

impl Source {
    /// The source of a `check` over `paths`.
    pub fn files<P: AsRef<std::path::Path>>(paths: &[P]) -> Source {
        Source {
            kind: "file",
            files: paths
                .iter()
                .map(|p| p.as_ref().display().to_string())
                .collect(),
            interfaces: Vec::new(),
            netns: None,
        }
    }
}

/// One flow with incorrect checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowReport {
    /// Which checksum was wrong.
    pub protocol: Protocol,
    /// Source address.
    pub src: String,
    /// Source port, for TCP and UDP.
    pub src_port: Option<u16>,
    /// Destination address.
    pub dst: String,
    /// Destination port, for TCP and UDP.
    pub dst_port: Option<u16>,
    /// Incorrect checksums in this flow.
    pub incorrect: u64,
}

/// One host taking part in flows with incorrect checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    /// The address.
    pub host: String,
    /// Incorrect checksums in packets from or to it.
    pub incorrect: u64,
}

/// The stable JSON summary (`offloadctl check --json`, `capture --json`, C, Python).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The one-line conclusion.
    pub conclusion: String,
    /// True when at least one checksum was really incorrect (exit code 1).
    pub corruption: bool,
    /// What was read.
    pub source: Source,
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire of those packets.
    pub bytes: u64,
    /// Packets with no IPv4/IPv6 checksum to look at.
    pub undecoded: u64,
    /// Packets the kernel dropped because the capture ring was full.
    pub kernel_drops: u64,
    /// Incorrect checksums over all protocols.
    pub incorrect: u64,
    /// Offload-pending checksums over all protocols.
    pub offload_pending: u64,
    /// Counts per protocol of the outer layer (only protocols that were seen).
    pub protocols: Vec<ProtocolCounts>,
    /// Counts per protocol of the packets tunnels carry (IPIP, 6in4, GRE,
    /// VXLAN, Geneve), one layer in; the totals above include them.
    pub tunneled: Vec<ProtocolCounts>,
    /// The flows with the most incorrect checksums (at most [`TOP`]).
    pub top_flows: Vec<FlowReport>,
    /// The hosts with the most incorrect checksums (at most [`TOP`]).
    pub top_hosts: Vec<HostReport>,
    /// Problems met on the way (a damaged file: what was read before it counts).
    pub errors: Vec<String>,
}

/// `4812` → `"4,812"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Lists transports like "TCP", "TCP and UDP", "TCP, UDP and ICMP".
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn transports(d: &Diagnosis, pick: impl Fn(&ProtocolCounts) -> u64) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in Protocol::ALL {
        let name = p.transport();
        let n = pick(&d.counts_in(Layer::Outer, p)) + pick(&d.counts_in(Layer::Tunneled, p));
        if n > 0 && !names.contains(&name) {
            names.push(name);
        }
    }
    join_names(&names)
}

fn conclusion(d: &Diagnosis, hosts: &[(IpAddr, u64)]) -> String {
    let incorrect = d.incorrect();
    let pending = d.offload_pending();
    let correct: u64 = d.all_counts().map(|c| c.correct).sum();
    let not_verified: u64 = d.all_counts().map(|c| c.not_verified.total()).sum();
    if d.packets == 0 {
        return "no packets read".into();
    }
    if incorrect == 0 && pending == 0 {
        if correct == 0 {
            return format!(
                "no checksum could be verified in {} packets ({} not verified, {} without IP checksums); no corruption seen",
                thousands(d.packets),
                thousands(not_verified),
                thousands(d.undecoded)
            );
        }
        return format!(
            "all {} verified checksums are correct; no corruption seen",
            thousands(correct)
        );
    }
    if incorrect == 0 {
        return format!(
            "all {} bad {} checksums are offload-pending: TX checksum offload is on at the capture point; no corruption seen",
            thousands(pending),
            transports(d, |c| c.offload_pending)
        );
    }
    let mut line = format!(
        "{} {} checksums are really incorrect (not offload): corruption on the path or a faulty offload",
        thousands(incorrect),
        transports(d, |c| c.incorrect)
    );
    if let Some((host, _)) = hosts.first() {
        let _ = write!(line, "; most involved host {host}");
    }
    if pending > 0 {
        let _ = write!(
            line,
            "; {} more are only offload-pending (TX checksum offload at the capture point)",
            thousands(pending)
        );
    }
    line
}

/// What a check or a capture concluded, for exit codes and result codes.
///
/// Precedence: corruption seen in what was read wins over a file that could
/// not be read to its end (the corrupted checksums are a fact whatever else is
/// in the file); an incomplete read wins over "no corruption" (the rest of the
/// file might have held some).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was read and no checksum was really incorrect.
    NoCorruption,
    /// At least one checksum was really incorrect (offload-pending ones do not count).
    Corruption,
    /// No corruption in what was read, but something could not be read.
    Incomplete,
}

impl Summary {
    /// The outcome, with corruption taking precedence over errors.
    pub fn outcome(&self) -> Outcome {
        if self.corruption {
            Outcome::Corruption
        } else if !self.errors.is_empty() {
            Outcome::Incomplete
        } else {
            Outcome::NoCorruption
        }
    }

    /// The summary as text, the way `offloadctl check` prints it.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let what = if self.source.kind == "capture" {
            format!("captured on {}", self.source.interfaces.join(", "))
        } else {
            format!("read from {}", self.source.files.join(", "))
        };
        let _ = writeln!(
            out,
            "{} packets ({} bytes) {what}",
            thousands(self.packets),
            thousands(self.bytes)
        );
        if self.kernel_drops > 0 {
            let _ = writeln!(
                out,
                "{} packets dropped by the kernel (ring full)",
                thousands(self.kernel_drops)
            );
        }
        if !self.protocols.is_empty() || !self.tunneled.is_empty() {
            let _ = writeln!(
                out,
                "{:<12} {:>12} {:>12} {:>16} {:>13}  not verified because",
                "checksum", "correct", "incorrect", "offload-pending", "not verified"
            );
        }
        for c in &self.protocols {
            counts_row(&mut out, c, "");
        }
        if !self.tunneled.is_empty() {
            let _ = writeln!(out, "inside tunnels:");
            for c in &self.tunneled {
                counts_row(&mut out, c, "  ");
            }
        }
        if self.undecoded > 0 {
            let _ = writeln!(
                out,
                "{} packets carry no IPv4/IPv6 checksum we verify (ARP, other protocols, undecodable)",
                thousands(self.undecoded)
            );
        }
        if !self.top_flows.is_empty() {
            let _ = writeln!(out, "flows with incorrect checksums:");
            for f in &self.top_flows {
                let _ = writeln!(
                    out,
                    "  {:>10}  {:<12} {} > {}",
                    thousands(f.incorrect),
                    f.protocol.label(),
                    endpoint(&f.src, f.src_port),
                    endpoint(&f.dst, f.dst_port)
                );
            }
            let _ = writeln!(out, "hosts with incorrect checksums:");
            for h in &self.top_hosts {
                let _ = writeln!(out, "  {:>10}  {}", thousands(h.incorrect), h.host);
            }
        }
        // `errors` are not repeated here: front-ends print each one once, as it
        // happens (the JSON form keeps them).
        let _ = writeln!(out, "conclusion: {}", self.conclusion);
        out
    }
}

/// One row of the counts table.
fn counts_row(out: &mut String, c: &ProtocolCounts, indent: &str) {
    let nv = &c.not_verified;
    let mut reasons = Vec::new();
    for (n, why) in [
        (nv.fragment, "fragment"),
        (nv.truncated, "truncated by snaplen"),
        (nv.udp_zero_checksum, "UDP checksum 0"),
        (nv.other, "other"),
    ] {
        if n > 0 {
            reasons.push(format!("{} {why}", thousands(n)));
        }
    }
    let label = format!("{indent}{}", c.protocol.map_or("?", Protocol::label));
    let _ = writeln!(
        out,
        "{label:<12} {:>12} {:>12} {:>16} {:>13}  {}",
        thousands(c.correct),
        thousands(c.incorrect),
        thousands(c.offload_pending),
        thousands(nv.total()),
        reasons.join(", ")
    );
}

/// tcpdump's `addr.port` notation.
fn endpoint(addr: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{addr}.{p}"),
        None => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offload_core::verdict::NotVerifiedReason;

    fn ends(a: [u8; 4], b: [u8; 4], sp: u16, dp: u16) -> Endpoints {
        Endpoints {
            src: IpAddr::from(a),
            dst: IpAddr::from(b),
            src_port: Some(sp),
            dst_port: Some(dp),
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4812), "4,812");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn offload_only_is_not_corruption() {
        let mut d = Diagnosis::new();
        let e = ends([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80);
        for _ in 0..4812 {
            d.add_packet(60);
            d.add_verdict(Protocol::Ipv4Header, Verdict::Correct, Some(&e));
            d.add_verdict(
                Protocol::Tcp4,
                Verdict::OffloadPending {
                    found: 0x14f7,
                    expected: 0x2231,
                },
                Some(&e),
            );
        }
        let s = d.summary(Source::default());
        assert!(!s.corruption);
        assert_eq!(
            s.conclusion,
            "all 4,812 bad TCP checksums are offload-pending: TX checksum offload is on at the capture point; no corruption seen"
        );
        assert!(s.top_flows.is_empty());
    }

    #[test]
    fn incorrect_flows_and_hosts_are_ranked() {
        let mut a = Diagnosis::new();
        let mut b = Diagnosis::new();
        let hot = ends([10, 0, 0, 1], [10, 0, 0, 9], 1, 2);
        let cold = ends([10, 0, 0, 3], [10, 0, 0, 9], 3, 4);
        let bad = Verdict::Incorrect {
            found: 1,
            expected: 2,
        };
        for _ in 0..3 {
            a.add_packet(100);
            a.add_verdict(Protocol::Udp4, bad, Some(&hot));
        }
        b.add_packet(100);
        b.add_verdict(Protocol::Tcp4, bad, Some(&cold));
        b.add_verdict(
            Protocol::Tcp4,
            Verdict::NotVerified(NotVerifiedReason::Fragment),
            None,
        );
        a.merge(&b);
        let s = a.summary(Source::default());
        assert!(s.corruption);
        assert_eq!(s.incorrect, 4);
        assert_eq!(s.top_flows[0].incorrect, 3);
        assert_eq!(s.top_flows[0].src_port, Some(1));
        assert_eq!(s.top_hosts[0].host, "10.0.0.9");
        assert_eq!(s.top_hosts[0].incorrect, 4);
        assert!(s
            .conclusion
            .starts_with("4 TCP and UDP checksums are really incorrect"));
        assert!(s.conclusion.contains("10.0.0.9"));
        let tcp = s
            .protocols
            .iter()
            .find(|c| c.protocol == Some(Protocol::Tcp4))
            .unwrap();
        assert_eq!(tcp.not_verified.fragment, 1);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["protocols"][0]["protocol"], "tcp4");
        assert_eq!(json["top_flows"][0]["protocol"], "udp4");
        assert!(s.render_text().contains("10.0.0.1.1 > 10.0.0.9.2"));
    }
}
