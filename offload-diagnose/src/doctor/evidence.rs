//! The evidence a doctor works from, gathered live ([`gather`]) or read back
//! from a recorded JSON file (the same [`Evidence`] type, so the rules and
//! the knowledge matching are testable without hardware).
//!
//! Live gathering is read-only. Per network namespace: the kernel's protocol
//! counters, and per interface the driver identity, PCI ids, MTU, active
//! offloads, `ethtool -S` and `/sys/class/net/*/statistics` counters, before
//! and after a window of `seconds`, during which one capture classifies each
//! interface's received and sent checksums. Capturing needs CAP_NET_RAW and
//! another namespace's sysfs CAP_SYS_ADMIN; what cannot be read is recorded
//! as an error and the rest goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use offload_core::features::legacy_group_of;
use offload_ethtool::driver::PciIds;
use offload_ethtool::features::Ethtool;
use offload_ethtool::iface::{self, Kind};
use offload_ethtool::mib::{MibSnapshot, CHECKSUM_ERRORS, HEADER_ERRORS, RETRANSMITS};
use offload_ethtool::sysfs::with_sysfs_in;
use serde::{Deserialize, Serialize};

use crate::capture::{Capture, CaptureConfig, InterfaceTraffic};
use crate::diagnose::{Diagnosis, Layer, Protocol};

/// The schema of recorded evidence.
pub const EVIDENCE_SCHEMA: &str = "offload.doctor.evidence/1";

/// Bytes of link header (Ethernet and one VLAN tag) a frame may carry beyond
/// the MTU without being a coalesced segment.
const LINK_HEADER_ROOM: u32 = 18;

/// Kernel counters always reported (also when they did not move), so a
/// reader sees they were looked at.
const WATCHED: [&[&str]; 3] = [&CHECKSUM_ERRORS, &HEADER_ERRORS, &RETRANSMITS];

/// Everything gathered on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Always [`EVIDENCE_SCHEMA`].
    pub schema: String,
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// A XenServer / XCP-ng dom0 (XAPI holds the persistent offload keys).
    #[serde(default)]
    pub dom0: bool,
    /// The window the deltas cover, in seconds.
    pub seconds: f64,
    /// One entry per namespace looked at.
    pub namespaces: Vec<NamespaceEvidence>,
}

/// The evidence of one network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceEvidence {
    /// The namespace (`None`: the one doctor runs in).
    #[serde(default)]
    pub netns: Option<String>,
    /// Kernel counter deltas over the window, nstat names (the watched ones
    /// always, others when they moved).
    #[serde(default)]
    pub counters: BTreeMap<String, i64>,
    /// The interfaces, loopback left out.
    #[serde(default)]
    pub devices: Vec<DeviceEvidence>,
    /// Whether packets were captured and classified (false: no CAP_NET_RAW,
    /// no interface up ...; the reason is in `errors`).
    #[serde(default)]
    pub captured: bool,
    /// What could not be read.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// The evidence of one interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEvidence {
    /// Interface name.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Driver name (`ethtool -i`).
    pub driver: String,
    /// Driver version.
    #[serde(default)]
    pub driver_version: String,
    /// Firmware version.
    #[serde(default)]
    pub firmware_version: String,
    /// Bus address.
    #[serde(default)]
    pub bus_info: String,
    /// PCI ids, for a PCI device.
    #[serde(default)]
    pub pci: Option<PciIds>,
    /// MTU.
    pub mtu: u32,
    /// Active offloads: ethtool short names (`tx`, `gro`) of groups with any
    /// feature on, and the kernel feature strings that are on.
    #[serde(default)]
    pub offloads_on: BTreeSet<String>,
    /// `ethtool -S` counters that moved, and by how much.
    #[serde(default)]
    pub device_counters: BTreeMap<String, u64>,
    /// `/sys/class/net/DEV/statistics` counters that moved, and by how much.
    #[serde(default)]
    pub link_counters: BTreeMap<String, u64>,
    /// What the capture saw on it (none when nothing was captured).
    #[serde(default)]
    pub traffic: Option<TrafficEvidence>,
}

/// Verdict counts of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    /// Packets.
    pub packets: u64,
    /// Checksums that verify.
    pub correct: u64,
    /// Checksums really wrong (outer packet).
    pub incorrect: u64,
    /// Checksums left for the NIC (TX checksum offload).
    pub offload_pending: u64,
}

impl VerdictCounts {
    fn of(d: &Diagnosis) -> VerdictCounts {
        let outer = |pick: fn(&crate::diagnose::ProtocolCounts) -> u64| -> u64 {
            Protocol::ALL
                .iter()
                .map(|&p| pick(&d.counts_in(Layer::Outer, p)))
                .sum()
        };
        VerdictCounts {
            packets: d.packets(),
            correct: outer(|c| c.correct),
            incorrect: outer(|c| c.incorrect),
            offload_pending: outer(|c| c.offload_pending),
        }
    }
}

/// What the capture saw on one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficEvidence {
    /// Received packets.
    pub received: VerdictCounts,
    /// Sent packets.
    pub sent: VerdictCounts,
    /// Received packets the device (or stack) had verified already.
    #[serde(default)]
    pub hardware_verified: u64,
    /// Received packets longer than the MTU with a really incorrect
    /// checksum (counted in `received.incorrect` too): GRO/LRO merged them.
    #[serde(default)]
    pub oversize_incorrect: u64,
    /// Really incorrect checksums in packets that tunnels carry.
    #[serde(default)]
    pub tunnel_incorrect: u64,
}

impl TrafficEvidence {
    /// From the capture's view of one interface with MTU `mtu`.
    pub fn of(t: &InterfaceTraffic, mtu: u32) -> TrafficEvidence {
        let tunnel = |d: &Diagnosis| -> u64 {
            Protocol::ALL
                .iter()
                .map(|&p| d.counts_in(Layer::Tunneled, p).incorrect)
                .sum()
        };
        TrafficEvidence {
            received: VerdictCounts::of(&t.received),
            sent: VerdictCounts::of(&t.sent),
            hardware_verified: t.hardware_verified,
            oversize_incorrect: t
                .incorrect_received_lengths
                .iter()
                .filter(|(&len, _)| len > mtu.saturating_add(LINK_HEADER_ROOM))
                .map(|(_, n)| n)
                .sum(),
            tunnel_incorrect: tunnel(&t.received) + tunnel(&t.sent),
        }
    }
}

/// What to gather.
#[derive(Debug, Clone, Default)]
pub struct DoctorConfig {
    /// Namespaces to look at (`None` = the one doctor runs in); empty = that one.
    pub netns: Vec<Option<String>>,
    /// The window, in seconds.
    pub seconds: f64,
    /// Set it (from a signal handler) to end the window early.
    pub interrupt: Arc<AtomicBool>,
    /// Told once every namespace's first reading is taken and its capture
    /// runs: the window starts (for a progress line, or a test's traffic).
    pub window_started: Option<std::sync::mpsc::Sender<()>>,
}

/// One reading of an interface's identity and counters.
struct DeviceReading {
    evidence: DeviceEvidence,
    device: BTreeMap<String, u64>,
    link: BTreeMap<String, u64>,
}

/// Reads every interface of `netns` but loopback; per-interface failures
/// become error lines.
fn read_devices(netns: Option<&str>) -> Result<(Vec<DeviceReading>, Vec<String>), String> {
    with_sysfs_in(netns, |sys| {
        let ethtool = Ethtool::open()?;
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for i in iface::list_with(&ethtool)? {
            if i.kind == Kind::Loopback {
                continue;
            }
            let one = || -> offload_ethtool::Result<DeviceReading> {
                let info = ethtool.driver(&i.name)?;
                let features = ethtool.read(&i.name)?;
                let mut on = BTreeSet::new();
                for (bit, name) in features.names.iter().enumerate() {
                    if name.is_empty() || !features.is_active(bit) {
                        continue;
                    }
                    on.insert(name.clone());
                    if let Some(group) = legacy_group_of(name) {
                        on.insert(group.short_name.to_string());
                    }
                }
                let device: BTreeMap<String, u64> = ethtool
                    .device_stats(&i.name)?
                    .counters
                    .into_iter()
                    .fold(BTreeMap::new(), |mut m, (n, v)| {
                        *m.entry(n).or_default() += v;
                        m
                    });
                Ok(DeviceReading {
                    evidence: DeviceEvidence {
                        name: i.name.to_string(),
                        kind: i.kind,
                        driver: info.driver,
                        driver_version: info.version,
                        firmware_version: info.firmware_version,
                        bus_info: info.bus_info,
                        pci: sys.pci_ids(&i.name)?,
                        mtu: sys.mtu(&i.name)?,
                        offloads_on: on,
                        device_counters: BTreeMap::new(),
                        link_counters: BTreeMap::new(),
                        traffic: None,
                    },
                    device,
                    link: sys.link_stats(&i.name)?.counters,
                })
            };
            match one() {
                Ok(r) => out.push(r),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Ok((out, errors))
    })
    .map_err(|e| e.to_string())
}

fn moved(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(n, &v)| {
            let was = before.get(n).copied().unwrap_or(0);
            let d = if v >= was { v - was } else { v };
            (d > 0).then(|| (n.clone(), d))
        })
        .collect()
}

/// One namespace's readings before the window.
struct Started {
    netns: Option<String>,
    devices: Vec<DeviceReading>,
    mib: Option<MibSnapshot>,
    capture: Option<Capture>,
    errors: Vec<String>,
}

fn start(netns: Option<String>) -> Started {
    let mut errors = Vec::new();
    let devices = match read_devices(netns.as_deref()) {
        Ok((d, e)) => {
            errors.extend(e);
            d
        }
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    let mib = MibSnapshot::read_in(netns.as_deref())
        .map_err(|e| errors.push(e.to_string()))
        .ok();
    let capture = if devices.is_empty() {
        None
    } else {
        Capture::start(&CaptureConfig {
            all: true,
            netns: netns.clone(),
            ..CaptureConfig::default()
        })
        .map_err(|e| errors.push(format!("capture: {e}")))
        .ok()
    };
    Started {
        netns,
        devices,
        mib,
        capture,
        errors,
    }
}

fn finish(s: Started) -> NamespaceEvidence {
    let mut errors = s.errors;
    let traffic: Vec<InterfaceTraffic> = match s.capture.map(Capture::finish_by_interface) {
        Some(Ok((_, t))) => t,
        Some(Err(e)) => {
            errors.push(format!("capture: {e}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let captured = !traffic.is_empty();
    let after = match read_devices(s.netns.as_deref()) {
        Ok((d, e)) => {
            errors.extend(e);
            d
        }
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    let mut counters = BTreeMap::new();
    if let Some(before) = &s.mib {
        match MibSnapshot::read_in(s.netns.as_deref()) {
            Ok(now) => {
                for (name, d) in now.delta(before) {
                    let watched = WATCHED.iter().any(|w| w.contains(&name.as_str()));
                    if (watched && before.get(&name).is_some())
                        || (d != 0 && !name.ends_with("CurrEstab"))
                    {
                        counters.insert(name, d);
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let devices = s
        .devices
        .into_iter()
        .map(|before| {
            let mut ev = before.evidence;
            if let Some(now) = after.iter().find(|a| a.evidence.name == ev.name) {
                ev.device_counters = moved(&before.device, &now.device);
                ev.link_counters = moved(&before.link, &now.link);
            }
            ev.traffic = traffic
                .iter()
                .find(|t| t.name == ev.name)
                .map(|t| TrafficEvidence::of(t, ev.mtu));
            ev
        })
        .collect();
    // A namespace that cannot be entered fails every reader the same way:
    // say it once.
    let mut seen = std::collections::BTreeSet::new();
    errors.retain(|e| seen.insert(e.clone()));
    NamespaceEvidence {
        netns: s.netns,
        counters,
        devices,
        captured,
        errors,
    }
}

/// The kernel release of this host.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default()
}

/// Whether this is a XenServer / XCP-ng dom0 (xapi's inventory file exists).
pub fn is_dom0() -> bool {
    std::path::Path::new("/etc/xensource-inventory").exists()
}

/// Gathers the evidence of every namespace of `config` over one window.
pub fn gather(config: &DoctorConfig) -> Evidence {
    let namespaces = if config.netns.is_empty() {
        vec![None]
    } else {
        config.netns.clone()
    };
    let started: Vec<Started> = namespaces.into_iter().map(start).collect();
    if let Some(tell) = &config.window_started {
        let _ = tell.send(());
    }
    let window = Duration::try_from_secs_f64(config.seconds.max(0.0)).unwrap_or_default();
    let began = Instant::now();
    while began.elapsed() < window && !config.interrupt.load(Ordering::Relaxed) {
        std::thread::sleep((window - began.elapsed()).min(Duration::from_millis(100)));
    }
    // The ring hands over a partly filled block after its 100 ms timeout.
    std::thread::sleep(Duration::from_millis(150));
    let seconds = began.elapsed().as_secs_f64();
    Evidence {
        schema: EVIDENCE_SCHEMA.into(),
        kernel: kernel_release(),
        dom0: is_dom0(),
        seconds,
        namespaces: started.into_iter().map(finish).collect(),
    }
}
