//! Live capture with per-packet checksum verdicts.
//!
//! One AF_PACKET TPACKET_V3 ring and one thread for the whole capture: bound
//! to the interface when there is one, an any-device socket filtered by
//! interface index when there are several (`--all` on a dom0 with hundreds of
//! VIF backends costs one 8 MiB ring, not one per interface). The kernel's
//! per-packet status tells us what no file can: `TP_STATUS_CSUMNOTREADY` means the
//! checksum field is not final yet (TX checksum offload, certain), and
//! `TP_STATUS_CSUM_VALID` that the NIC already verified it. The thread feeds the
//! shared lock-free `offload_core::counters` (read by the live status line) and its
//! own [`Diagnosis`] (flows, hosts), which becomes the [`Summary`] at the end.

pub mod save_file;
pub mod sys;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use offload_core::counters::Counters;
use offload_core::verdict::{Class, Verdict};

use crate::diagnose::{self, ChecksumHint, Diagnosis, Source, Summary};
use crate::error::{Error, Result};
use crate::pcap::{linktype, PcapNgWriter};
use save_file::{GiveUp, SaveFile};

/// Shards of the live counters (one per capture thread; a capture has one).
pub const MAX_INTERFACES: usize = 64;

/// What to capture and for how long.
#[derive(Debug, Clone, Default)]
pub struct CaptureConfig {
    /// Interfaces to capture on (ignored when `all` is set).
    pub interfaces: Vec<String>,
    /// Capture on every interface that is up.
    pub all: bool,
    /// The network namespace (a name under /run/netns or a path) to capture in.
    pub netns: Option<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets (over all interfaces).
    pub count: Option<u64>,
    /// Save every captured packet to this pcapng file (created new, or an
    /// existing FIFO or device such as `/dev/stdout`).
    pub write: Option<PathBuf>,
    /// Set it (from a signal handler) to stop at once, even while waiting for a
    /// FIFO's reader or for a reader that stopped reading.
    pub interrupt: Arc<AtomicBool>,
}

/// `secs` as a capture duration, or `None` when it cannot be one: not a
/// positive finite number, or so long that the deadline would overflow the
/// clock (`1e19`, `1e30`).
pub fn duration_from_secs(secs: f64) -> Option<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        return None;
    }
    let duration = Duration::try_from_secs_f64(secs).ok()?;
    Instant::now().checked_add(duration)?;
    Some(duration)
}

/// A snapshot of the shared counters, for the live status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStatus {
    /// Packets seen on all interfaces.
    pub packets: u64,
    /// Checksums that verify.
    pub correct: u64,
    /// Checksums really wrong.
    pub incorrect: u64,
    /// Checksums left for the NIC.
    pub offload_pending: u64,
    /// Checksums not verified.
    pub not_verified: u64,
}

impl LiveStatus {
    /// One status line (no newline), e.g. for `\r`-refreshing on a terminal.
    pub fn line(&self, elapsed: Duration) -> String {
        format!(
            "{:>6.1}s  {} packets  {} correct  {} incorrect  {} offload-pending  {} not verified",
            elapsed.as_secs_f64(),
            diagnose::thousands(self.packets),
            diagnose::thousands(self.correct),
            diagnose::thousands(self.incorrect),
            diagnose::thousands(self.offload_pending),
            diagnose::thousands(self.not_verified),
        )
    }
}

struct Shared {
    counters: Counters<MAX_INTERFACES>,
    /// Packets taken (for `--count`); may run ahead of `counters.packets`.
    packets: AtomicU64,
    stop: AtomicBool,
    interrupt: Arc<AtomicBool>,
    writer: Option<Mutex<PcapNgWriter<SaveFile>>>,
    /// The first write error and how many packets the file held then.
    write_error: Mutex<Option<(io::Error, u64)>>,
}

/// What one interface's packets showed, split by direction: what a doctor
/// needs to tell a TX-side fault from corruption on the way in.
#[derive(Debug, Clone, Default)]
pub struct InterfaceTraffic {
    /// The interface.
    pub name: String,
    /// Packets received on it.
    pub received: Diagnosis,
    /// Packets this host sent out of it.
    pub sent: Diagnosis,
    /// Received packets whose checksum the device or stack had already
    /// verified (`TP_STATUS_CSUM_VALID`).
    pub hardware_verified: u64,
    /// Wire lengths of received packets with a really incorrect checksum, and
    /// how many of each (segments longer than the MTU are GRO/LRO's doing).
    pub incorrect_received_lengths: BTreeMap<u32, u64>,
}

impl InterfaceTraffic {
    fn new(name: &str) -> InterfaceTraffic {
        InterfaceTraffic {
            name: name.to_string(),
            ..InterfaceTraffic::default()
        }
    }
}

/// A running capture: threads, the shared counters, and the stop flag.
pub struct Capture {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<(Vec<InterfaceTraffic>, u64)>>,
    interfaces: Vec<String>,
    netns: Option<String>,
    started: Instant,
}

/// The pcap link type of what an AF_PACKET socket delivers for an `ARPHRD_*` type.
fn link_type_of(hardware_type: u16) -> Option<u16> {
    match hardware_type {
        // Ethernet, loopback (Linux gives lo an Ethernet header), IEEE 802.
        1 | 6 | 772 => Some(linktype::ETHERNET),
        // No link header: tun, ipip/sit/gre tunnels, WireGuard, rawip.
        65534 | 768 | 769 | 776 | 778 | 519 => Some(linktype::RAW),
        _ => None,
    }
}

/// One interface the capture listens on.
#[derive(Debug, Clone)]
struct Selected {
    name: String,
    index: u32,
    link_type: Option<u16>,
}

/// The one ring of a capture and the interfaces it listens on, in the order
/// they were asked for (the `--write` file's interface ids).
struct Opened {
    ring: sys::Ring,
    /// Bound to one interface; otherwise an any-device socket whose packets are
    /// kept only when they come from one of `interfaces`.
    bound: bool,
    interfaces: Vec<Selected>,
}

/// Every interface of the current namespace: name, index, `ARPHRD_*` type, and
/// whether it is up (one getifaddrs(3) call, from its AF_PACKET entries).
fn interfaces_here() -> Result<Vec<(Selected, bool)>> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| Error::Capture {
        ifname: "*".into(),
        source: io::Error::from(e),
    })?;
    let mut found: Vec<(Selected, bool)> = Vec::new();
    for a in addrs {
        let Some(link) = a.address.as_ref().and_then(|s| s.as_link_addr()) else {
            continue;
        };
        found.push((
            Selected {
                name: a.interface_name,
                index: link.ifindex() as u32,
                link_type: link_type_of(link.hatype()),
            },
            a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP),
        ));
    }
    Ok(found)
}

/// The interfaces asked for (each once, however often it was named) and one
/// ring for all of them: bound to the interface when there is one, else an
/// any-device socket. One ring whatever the count: 200 interfaces cost 8 MiB,
/// not 200 rings of 8 MiB (1.6 GiB measured, `examples/ring_memory.rs`).
fn open(config: &CaptureConfig) -> Result<Opened> {
    let here = interfaces_here()?;
    let mut interfaces: Vec<Selected> = Vec::new();
    if config.all {
        interfaces.extend(here.into_iter().filter(|(_, up)| *up).map(|(s, _)| s));
    } else {
        for name in &config.interfaces {
            let found = here.iter().find(|(s, _)| &s.name == name);
            let Some((selected, _)) = found else {
                return Err(Error::NoSuchInterface {
                    ifname: name.clone(),
                });
            };
            if !interfaces.iter().any(|s| s.index == selected.index) {
                interfaces.push(selected.clone());
            }
        }
    }
    if interfaces.is_empty() {
        return Err(Error::NoInterfaces);
    }
    let bound = interfaces.len() == 1;
    let ifindex = if bound { interfaces[0].index as i32 } else { 0 };
    let ring = sys::Ring::open(ifindex).map_err(|source| Error::Capture {
        ifname: if bound {
            interfaces[0].name.clone()
        } else {
            "*".into()
        },
        source,
    })?;
    if bound {
        interfaces[0].link_type = link_type_of(ring.hardware_type());
    }
    Ok(Opened {
        ring,
        bound,
        interfaces,
    })
}

impl Capture {
    /// Opens the ring (in the namespace, if one is given), the `--write` file,
    /// and starts the capture thread. Errors (no such interface, no CAP_NET_RAW,
    /// a file that cannot be written) come back here, before the thread runs.
    pub fn start(config: &CaptureConfig) -> Result<Capture> {
        let opened = match &config.netns {
            None => open(config)?,
            Some(ns) => {
                let config = config.clone();
                offload_ethtool::netns::run_in(Some(ns), move || open(&config))?
            }
        };
        // A duration past what the clock holds means no deadline at all.
        let deadline = config.duration.and_then(|d| Instant::now().checked_add(d));
        let writer = match &config.write {
            None => None,
            Some(path) => {
                let io_error = |source| Error::CaptureFileIo {
                    path: path.clone(),
                    source,
                };
                let give_up = GiveUp {
                    interrupt: Arc::clone(&config.interrupt),
                    deadline,
                };
                let file = SaveFile::open(path, give_up).map_err(io_error)?;
                let mut w = PcapNgWriter::new(file).map_err(io_error)?;
                for i in &opened.interfaces {
                    w.add_interface(&i.name, i.link_type.unwrap_or(linktype::ETHERNET), 0)
                        .map_err(io_error)?;
                }
                Some(Mutex::new(w))
            }
        };
        let shared = Arc::new(Shared {
            counters: Counters::new(),
            packets: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            interrupt: Arc::clone(&config.interrupt),
            writer,
            write_error: Mutex::new(None),
        });
        let interfaces: Vec<String> = opened.interfaces.iter().map(|i| i.name.clone()).collect();
        let count = config.count;
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("capture".into())
                .spawn(move || capture_loop(opened, &shared, deadline, count))
                .expect("spawning the capture thread")
        };
        let threads = vec![thread];
        Ok(Capture {
            shared,
            threads,
            interfaces,
            netns: config.netns.clone(),
            started: Instant::now(),
        })
    }

    /// The flag that stops every thread (set it from a SIGINT handler).
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.shared.stop
    }

    /// Asks every thread to stop after its current block.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }

    /// Whether every thread has stopped (deadline or packet count reached).
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(JoinHandle::is_finished)
    }

    /// Time since the capture started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The shared counters right now.
    pub fn status(&self) -> LiveStatus {
        let c = self.shared.counters.snapshot();
        LiveStatus {
            packets: c.packets,
            correct: c.class_total(Class::Correct),
            incorrect: c.class_total(Class::Incorrect),
            offload_pending: c.class_total(Class::OffloadPending),
            not_verified: c.class_total(Class::NotVerifiedFragment)
                + c.class_total(Class::NotVerifiedTruncated)
                + c.class_total(Class::NotVerifiedUdpZero)
                + c.class_total(Class::NotVerifiedUnsupported),
        }
    }

    /// Stops, joins the threads, flushes `--write`, and returns the summary.
    pub fn finish(self) -> Result<Summary> {
        self.finish_by_interface().map(|(summary, _)| summary)
    }

    /// [`Capture::finish`], with what each interface received and sent.
    pub fn finish_by_interface(self) -> Result<(Summary, Vec<InterfaceTraffic>)> {
        self.stop();
        let mut total = Diagnosis::new();
        let mut traffic = Vec::new();
        for t in self.threads {
            let (parts, drops) = t.join().map_err(|_| Error::CaptureThreadPanicked)?;
            for part in &parts {
                total.merge(&part.received);
                total.merge(&part.sent);
            }
            total.add_drops(drops);
            traffic.extend(parts);
        }
        let shared = Arc::try_unwrap(self.shared).map_err(|_| Error::CaptureThreadPanicked)?;
        let mut errors = Vec::new();
        let mut write_error = shared.write_error.into_inner().ok().flatten();
        let mut saved_path = None;
        if let Some(w) = shared.writer {
            if let Ok(mut w) = w.into_inner() {
                let file = w.get_mut();
                saved_path = Some(file.path().to_path_buf());
                if write_error.is_none() {
                    if let Err(e) = file.flush() {
                        write_error = Some((e, file.saved()));
                    }
                }
            }
        }
        if let (Some((e, saved)), Some(path)) = (write_error, saved_path) {
            // A reader that went away (`| head`) ends the capture; it is no failure.
            if !save_file::is_reader_gone(&e) {
                errors.push(format!(
                    "{}: writing failed ({e}); {} packets saved",
                    path.display(),
                    diagnose::thousands(saved)
                ));
            }
        }
        let mut summary = total.summary(Source {
            kind: "capture",
            files: Vec::new(),
            interfaces: self.interfaces,
            netns: self.netns,
        });
        summary.errors = errors;
        Ok((summary, traffic))
    }
}

fn capture_loop(
    mut opened: Opened,
    shared: &Shared,
    deadline: Option<Instant>,
    count: Option<u64>,
) -> (Vec<InterfaceTraffic>, u64) {
    let mut traffic: Vec<InterfaceTraffic> = opened
        .interfaces
        .iter()
        .map(|i| InterfaceTraffic::new(&i.name))
        .collect();
    // Each thread is the only writer of its own shard of the shared counters.
    let mut live = shared.counters.writer();
    let mut last_drops = 0u64;
    let by_index: HashMap<i32, usize> = opened
        .interfaces
        .iter()
        .enumerate()
        .map(|(at, i)| (i.index as i32, at))
        .collect();
    while !shared.stop.load(Ordering::Relaxed) && !shared.interrupt.load(Ordering::Relaxed) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match opened.ring.wait(100) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => break,
        }
        let mut writer = shared.writer.as_ref().and_then(|w| w.lock().ok());
        let (bound, interfaces, by_index) = (opened.bound, &opened.interfaces, &by_index);
        opened.ring.drain_block(|packet| {
            // Which interface (the writer's id), and its link type.
            let (writer_interface, link_type) = if bound {
                (0, interfaces[0].link_type)
            } else {
                match by_index.get(&packet.ifindex) {
                    Some(&at) => (at as u32, link_type_of(packet.hardware_type)),
                    None => return,
                }
            };
            if let Some(limit) = count {
                if shared.packets.fetch_add(1, Ordering::Relaxed) >= limit {
                    shared.stop.store(true, Ordering::Relaxed);
                    return;
                }
            } else {
                shared.packets.fetch_add(1, Ordering::Relaxed);
            }
            let hint = ChecksumHint::from_tp_status(packet.status);
            let seen = &mut traffic[writer_interface as usize];
            let diagnosis = if packet.outgoing {
                &mut seen.sent
            } else {
                &mut seen.received
            };
            match link_type {
                Some(lt) => {
                    let observation = diagnose::observe(
                        diagnosis,
                        live.as_mut(),
                        lt,
                        packet.data,
                        packet.wire_len,
                        hint,
                    );
                    if !packet.outgoing {
                        if hint == ChecksumHint::Valid {
                            seen.hardware_verified += 1;
                        }
                        let incorrect = |v: &Verdict| matches!(v, Verdict::Incorrect { .. });
                        if observation.ip_header.as_ref().is_some_and(incorrect)
                            || observation
                                .transport
                                .as_ref()
                                .is_some_and(|(_, v)| incorrect(v))
                        {
                            *seen
                                .incorrect_received_lengths
                                .entry(packet.wire_len)
                                .or_default() += 1;
                        }
                    }
                }
                None => {
                    if let Some(w) = live.as_mut() {
                        w.record(&[]);
                    }
                    diagnosis.add_packet(packet.wire_len);
                    diagnosis.add_undecoded();
                }
            }
            // After a failed write, the rest of the block is not written.
            if let Some(w) = writer
                .as_mut()
                .filter(|_| !shared.stop.load(Ordering::Relaxed))
            {
                match w.write_packet(
                    writer_interface,
                    i64::from(packet.sec),
                    packet.nsec,
                    packet.wire_len,
                    packet.data,
                ) {
                    Ok(()) => w.get_mut().end_packet(),
                    Err(e) => {
                        // A full disk or a vanished reader: stop now, not at the end.
                        let saved = w.get_mut().saved();
                        if let Ok(mut slot) = shared.write_error.lock() {
                            slot.get_or_insert((e, saved));
                        }
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        });
        // One write(2) per ring block: a full disk or a reader that went away is
        // noticed within a block, not at the end.
        if let Some(w) = writer
            .as_mut()
            .filter(|_| !shared.stop.load(Ordering::Relaxed))
        {
            let file = w.get_mut();
            if let Err(e) = file.flush() {
                let saved = file.saved();
                if let Ok(mut slot) = shared.write_error.lock() {
                    slot.get_or_insert((e, saved));
                }
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
        drop(writer);
        if let Ok(drops) = opened.ring.drops() {
            last_drops += u64::from(drops);
        }
    }
    (traffic, last_drops)
}
