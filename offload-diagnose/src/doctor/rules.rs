//! The rules: evidence and the knowledge file in, findings out, per device
//! and ranked. Each finding names its evidence, the likely cause and the
//! smallest fix as exact commands, or says that no offload switch fixes it.
//! Nothing here reads the system: recorded evidence gives the same answer.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use offload_core::features::legacy_by_name;
use offload_ethtool::iface::{Kind, Role};
use offload_ethtool::mib::{CHECKSUM_ERRORS, HEADER_ERRORS};
use offload_ethtool::stats::{is_error_counter, GSO_CHECKSUM_FIXUP};
use serde::{Deserialize, Serialize};

use super::evidence::{DeviceEvidence, Evidence, NamespaceEvidence};
use super::knowledge::{DeviceKey, Entry, Knowledge, Object, Signal};

/// How much a finding matters; findings are ranked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something is wrong (exit code 1).
    Problem,
    /// A known issue may apply; worth checking, not proven by the evidence.
    Advice,
    /// What looks wrong is an offload artefact: nothing to fix.
    Artefact,
}

/// The likely cause a finding names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Frames arrive with really incorrect checksums: the sender or the
    /// path before this device, not this host's offload.
    CorruptionOnPath,
    /// The kernel dropped packets for bad checksums; the capture did not
    /// show on which device.
    KernelChecksumDrops,
    /// Frames this device sends carry really incorrect checksums: its TX
    /// checksum offload is faulty.
    FaultyTxOffload,
    /// Received segments longer than the MTU fail their checksum and the
    /// kernel drops packets too: GRO/LRO trouble.
    GroTrouble,
    /// Received segments longer than the MTU fail their checksum in the
    /// capture only: GRO/LRO merged them; the kernel accepted them.
    GroArtefact,
    /// Packets inside tunnels carry really incorrect checksums.
    TunnelChecksums,
    /// CRC / frame / checksum error counters of the device rose: the
    /// physical layer (cable, port, NIC), not offload.
    DeviceErrors,
    /// Only offload-pending checksums (TX checksum offload at the capture
    /// point).
    OffloadPendingOnly,
    /// A known problem of this driver or device (knowledge file).
    KnownIssue,
}

/// A knowledge entry as a finding cites it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// The entry's id.
    pub id: String,
    /// Its symptom.
    pub symptom: String,
    /// Its caveats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its sources.
    pub sources: Vec<String>,
}

impl Citation {
    fn of(e: &Entry) -> Citation {
        Citation {
            id: e.id.clone(),
            symptom: e.symptom.clone(),
            note: e.note.clone(),
            sources: e.sources.clone(),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The likely cause.
    pub cause: Cause,
    /// The namespace (`None`: the one doctor ran in).
    pub netns: Option<String>,
    /// The device, when the evidence points at one.
    pub device: Option<String>,
    /// The conclusion in one line.
    pub summary: String,
    /// The evidence, one fact per line (counter deltas, verdict counts).
    pub evidence: Vec<String>,
    /// Knowledge-file entries that apply.
    pub knowledge: Vec<Citation>,
    /// The smallest fix as exact commands; empty when no offload switch
    /// fixes it (`fix_note` says what to do instead).
    pub fix: Vec<String>,
    /// What to do when there is no command, or what to know about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_note: Option<String>,
    /// How much evidence backs it (bad packets and counter deltas); ranks
    /// findings of one severity.
    pub weight: u64,
}

fn object_of(kind: Kind) -> Object {
    match kind.role() {
        Role::Vif => Object::Vif,
        Role::Nic => Object::Pif,
    }
}

/// `vif3.0` → domain 3.
fn domain_of(name: &str) -> Option<&str> {
    name.strip_prefix("vif")?.split('.').next()
}

/// The commands that switch `keys` off on `device` (the keys already off
/// are left out; none left: no command).
fn fix_commands(
    keys: &[String],
    device: &DeviceEvidence,
    netns: Option<&str>,
    dom0: bool,
) -> (Vec<String>, Option<String>) {
    let on: Vec<&String> = keys
        .iter()
        .filter(|k| device.offloads_on.contains(k.as_str()))
        .collect();
    if on.is_empty() {
        return (
            Vec::new(),
            Some(format!(
                "{} already off on {}",
                keys.join(", "),
                device.name
            )),
        );
    }
    let mut set = format!("offloadctl set {}", device.name);
    for k in &on {
        let _ = write!(set, " {k} off");
    }
    if let Some(ns) = netns {
        let _ = write!(set, " --netns {ns}");
    }
    let mut commands = vec![set];
    let xapi: Vec<String> = on
        .iter()
        .filter(|k| legacy_by_name(k).is_some_and(|f| f.xapi_key.is_some()))
        .map(|k| format!("{k}=off"))
        .collect();
    if dom0 && netns.is_none() && !xapi.is_empty() {
        match device.kind {
            Kind::XenVif => {
                if let Some(dom) = domain_of(&device.name) {
                    commands.push(format!(
                        "offloadctl xapi vif apply --set {} --vm-uuid \"$(xe vm-list dom-id={dom} --minimal)\"",
                        xapi.join(",")
                    ));
                }
            }
            Kind::Physical | Kind::Bond | Kind::Vlan => commands.push(format!(
                "offloadctl xapi pif apply --set {} --device {}",
                xapi.join(","),
                device.name
            )),
            _ => {}
        }
    }
    (commands, None)
}

/// The knowledge entries about `device` for `signal`, most specific first.
fn entries_for<'k>(
    knowledge: &'k Knowledge,
    device: &DeviceEvidence,
    kernel: &str,
    signal: Signal,
) -> Vec<&'k Entry> {
    let key = DeviceKey {
        driver: &device.driver,
        pci: device.pci.map(|p| (p.vendor, p.device)),
        kernel,
        object: object_of(device.kind),
    };
    let mut found: Vec<&Entry> = knowledge
        .entries
        .iter()
        .filter(|e| e.signal == signal && e.matches(&key))
        .collect();
    found.sort_by_key(|e| std::cmp::Reverse(e.specificity()));
    found
}

struct Context<'a> {
    knowledge: &'a Knowledge,
    kernel: &'a str,
    dom0: bool,
    ns: &'a NamespaceEvidence,
}

impl Context<'_> {
    fn netns(&self) -> Option<&str> {
        self.ns.netns.as_deref()
    }

    fn finding(
        &self,
        severity: Severity,
        cause: Cause,
        device: Option<&DeviceEvidence>,
        summary: String,
        evidence: Vec<String>,
        weight: u64,
    ) -> Finding {
        Finding {
            severity,
            cause,
            netns: self.ns.netns.clone(),
            device: device.map(|d| d.name.clone()),
            summary,
            evidence,
            knowledge: Vec::new(),
            fix: Vec::new(),
            fix_note: None,
            weight,
        }
    }

    /// Cites the entries for `signal` and takes the fix from the most
    /// specific one that has keys; `fallback` keys when none matches.
    fn with_knowledge(&self, mut f: Finding, device: &DeviceEvidence, signal: Signal) -> Finding {
        let entries = entries_for(self.knowledge, device, self.kernel, signal);
        f.knowledge = entries.iter().map(|e| Citation::of(e)).collect();
        if let Some(e) = entries.iter().find(|e| !e.keys.is_empty()) {
            let (fix, note) = fix_commands(&e.keys, device, self.netns(), self.dom0);
            f.fix = fix;
            f.fix_note = note.or_else(|| e.note.clone());
        } else if let Some(e) = entries.first() {
            f.fix_note = e.note.clone();
        }
        f
    }

    fn counter_lines(&self, names: &[&str]) -> (Vec<String>, u64) {
        let mut lines = Vec::new();
        let mut total = 0u64;
        for name in names {
            if let Some(&d) = self.ns.counters.get(*name) {
                if d > 0 {
                    lines.push(format!("kernel {name} +{d}"));
                    total += d as u64;
                }
            }
        }
        (lines, total)
    }

    fn device_findings(&self, d: &DeviceEvidence, out: &mut Vec<Finding>) -> bool {
        let (csum_lines, csum_drops) = self.counter_lines(&CHECKSUM_ERRORS);
        let mut saw_rx_corruption = false;
        if let Some(t) = &d.traffic {
            let rx_bad = t.received.incorrect.saturating_sub(t.oversize_incorrect);
            if t.sent.incorrect > 0 {
                let f = self.finding(
                    Severity::Problem,
                    Cause::FaultyTxOffload,
                    Some(d),
                    format!(
                        "{} sends frames with really incorrect checksums (not offload-pending): its TX checksum offload is faulty",
                        d.name
                    ),
                    vec![format!(
                        "{} of {} sent frames really incorrect",
                        t.sent.incorrect, t.sent.packets
                    )],
                    t.sent.incorrect,
                );
                out.push(self.with_knowledge(f, d, Signal::TxIncorrect));
            }
            if rx_bad > 0 {
                saw_rx_corruption = true;
                let mut evidence = vec![format!(
                    "{rx_bad} of {} received frames really incorrect (not offload-pending, not longer than the MTU)",
                    t.received.packets
                )];
                evidence.extend(csum_lines.iter().cloned());
                let mut f = self.finding(
                    Severity::Problem,
                    Cause::CorruptionOnPath,
                    Some(d),
                    format!(
                        "corruption on the path into {}: frames arrive already damaged; this host's offload settings are not the cause",
                        d.name
                    ),
                    evidence,
                    rx_bad + csum_drops,
                );
                f = self.with_knowledge(f, d, Signal::RxIncorrect);
                if f.fix.is_empty() && f.fix_note.is_none() {
                    f.fix_note = Some(format!(
                        "no offload switch on this host fixes it: look at the sender of these frames (run offloadctl doctor there: a faulty TX offload shows as tx_incorrect) and at the link before {}",
                        d.name
                    ));
                }
                out.push(f);
            }
            if t.oversize_incorrect > 0 {
                let evidence = vec![format!(
                    "{} received segments longer than the MTU ({}) with incorrect checksums",
                    t.oversize_incorrect, d.mtu
                )];
                let f = if csum_drops > 0 && rx_bad == 0 {
                    let mut evidence = evidence;
                    evidence.extend(csum_lines.iter().cloned());
                    self.finding(
                        Severity::Problem,
                        Cause::GroTrouble,
                        Some(d),
                        format!(
                            "GRO/LRO on {} merges segments the kernel then drops for bad checksums",
                            d.name
                        ),
                        evidence,
                        t.oversize_incorrect + csum_drops,
                    )
                } else {
                    let mut f = self.finding(
                        Severity::Artefact,
                        Cause::GroArtefact,
                        Some(d),
                        format!(
                            "segments longer than the MTU on {} are GRO/LRO merges seen before their checksum is fixed; the kernel accepted them: nothing to fix",
                            d.name
                        ),
                        evidence,
                        t.oversize_incorrect,
                    );
                    f.knowledge =
                        entries_for(self.knowledge, d, self.kernel, Signal::RxOversizeIncorrect)
                            .into_iter()
                            .map(Citation::of)
                            .collect();
                    out.push(f);
                    return saw_rx_corruption;
                };
                out.push(self.with_knowledge(f, d, Signal::RxOversizeIncorrect));
            }
            if t.tunnel_incorrect > 0 {
                let mut f = self.finding(
                    Severity::Problem,
                    Cause::TunnelChecksums,
                    Some(d),
                    format!(
                        "packets inside tunnels on {} carry really incorrect checksums",
                        d.name
                    ),
                    vec![format!(
                        "{} tunneled checksums really incorrect",
                        t.tunnel_incorrect
                    )],
                    t.tunnel_incorrect,
                );
                f = self.with_knowledge(f, d, Signal::TunnelIncorrect);
                if f.knowledge.is_empty() {
                    f.fix_note = Some("no known problem of this driver matches; capture with offloadctl capture --write and look at the tunnel endpoints".into());
                }
                out.push(f);
            }
            let pending = t.sent.offload_pending + t.received.offload_pending;
            if pending > 0
                && t.sent.incorrect == 0
                && t.received.incorrect == 0
                && t.tunnel_incorrect == 0
            {
                let f = self.finding(
                    Severity::Artefact,
                    Cause::OffloadPendingOnly,
                    Some(d),
                    format!(
                        "{} only shows offload-pending checksums (TX checksum offload at the capture point): offload artefacts only, nothing to fix",
                        d.name
                    ),
                    vec![format!(
                        "{} sent and {} received checksums offload-pending, {} correct, {} verified by the device",
                        t.sent.offload_pending,
                        t.received.offload_pending,
                        t.sent.correct + t.received.correct,
                        t.hardware_verified
                    )],
                    pending,
                );
                out.push(f);
                for e in entries_for(self.knowledge, d, self.kernel, Signal::TxOffloadPending) {
                    out.push(self.known_issue(d, e, Severity::Advice, t.sent.offload_pending));
                }
            }
        }
        let errors: Vec<String> = d
            .device_counters
            .iter()
            .chain(d.link_counters.iter())
            .filter(|(n, &v)| v > 0 && is_error_counter(n))
            .map(|(n, v)| format!("{n} +{v}"))
            .collect();
        if !errors.is_empty() {
            let weight = d
                .device_counters
                .iter()
                .chain(d.link_counters.iter())
                .filter(|(n, _)| is_error_counter(n))
                .map(|(_, v)| *v)
                .sum();
            let mut f = self.finding(
                Severity::Problem,
                Cause::DeviceErrors,
                Some(d),
                format!(
                    "{} counts damaged frames at the device (CRC/frame errors): the physical layer, not offload",
                    d.name
                ),
                errors,
                weight,
            );
            f = self.with_knowledge(f, d, Signal::DeviceErrors);
            if f.fix.is_empty() && f.fix_note.is_none() {
                f.fix_note = Some(
                    "check the cable, the switch port and the NIC; offload switches do not help"
                        .into(),
                );
            }
            out.push(f);
        }
        if let Some(&fixups) = d.device_counters.get(GSO_CHECKSUM_FIXUP) {
            for e in entries_for(self.knowledge, d, self.kernel, Signal::GsoChecksumFixup) {
                out.push(self.known_issue(d, e, Severity::Advice, fixups));
            }
        }
        for e in entries_for(self.knowledge, d, self.kernel, Signal::Present) {
            out.push(self.known_issue(d, e, Severity::Advice, 0));
        }
        if csum_drops > 0 {
            for e in entries_for(self.knowledge, d, self.kernel, Signal::ChecksumErrors) {
                let mut f = self.known_issue(d, e, Severity::Advice, csum_drops);
                f.evidence.extend(csum_lines.iter().cloned());
                out.push(f);
            }
        }
        saw_rx_corruption
    }

    fn known_issue(
        &self,
        d: &DeviceEvidence,
        e: &Entry,
        severity: Severity,
        weight: u64,
    ) -> Finding {
        let mut f = self.finding(
            severity,
            Cause::KnownIssue,
            Some(d),
            format!(
                "known problem {} may apply to {} ({}): {}",
                e.id, d.name, d.driver, e.symptom
            ),
            vec![format!(
                "driver {}{}",
                d.driver,
                d.pci
                    .map(|p| format!(", PCI {:04x}:{:04x}", p.vendor, p.device))
                    .unwrap_or_default()
            )],
            weight,
        );
        f.knowledge = vec![Citation::of(e)];
        let (fix, note) = fix_commands(&e.keys, d, self.netns(), self.dom0);
        f.fix = fix;
        f.fix_note = note.or_else(|| e.note.clone());
        f
    }
}

/// The findings of `evidence` under `knowledge`, ranked: problems first,
/// then advice, then artefacts; within each, the most evidence first.
pub fn findings(evidence: &Evidence, knowledge: &Knowledge) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &evidence.namespaces {
        let cx = Context {
            knowledge,
            kernel: &evidence.kernel,
            dom0: evidence.dom0,
            ns,
        };
        let mut rx_corruption_seen = false;
        for d in &ns.devices {
            rx_corruption_seen |= cx.device_findings(d, &mut out);
        }
        let (mut lines, drops) = cx.counter_lines(&CHECKSUM_ERRORS);
        let (hdr_lines, hdr) = cx.counter_lines(&HEADER_ERRORS);
        let gro_explained = out
            .iter()
            .any(|f| f.cause == Cause::GroTrouble && f.netns == ns.netns);
        if (drops > 0 || hdr > 0) && !rx_corruption_seen && !gro_explained {
            lines.extend(hdr_lines);
            let mut f = cx.finding(
                Severity::Problem,
                Cause::KernelChecksumDrops,
                None,
                format!(
                    "the kernel{} dropped packets with bad checksums or headers; the capture did not show on which device{}",
                    ns.netns.as_deref().map(|n| format!(" of namespace {n}")).unwrap_or_default(),
                    if ns.captured { "" } else { " (nothing was captured)" }
                ),
                lines,
                drops + hdr,
            );
            f.fix_note = Some("run doctor again with a longer --seconds while the traffic flows, as root so it can capture".into());
            out.push(f);
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| {
        seen.insert((
            f.netns.clone(),
            f.device.clone(),
            f.cause,
            f.summary.clone(),
        ))
    });
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.weight.cmp(&a.weight)));
    out
}
