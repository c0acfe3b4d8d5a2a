//! Lock-free verdict counters that capture threads update concurrently and a
//! reader snapshots consistently.
//!
//! Each capture thread claims a [`Shard`] and is its only writer; a shard is a
//! sequence lock over plain atomic counters, so a reader gets every shard at a
//! moment between two packets. Summing such per-shard states keeps every
//! per-packet invariant: a snapshot never shows a packet's TCP/IPv4 verdict
//! without its IPv4-header verdict, nor more verdicts of a kind than packets.
//! Writers never wait; readers retry while a writer is mid-packet.

use crate::sync::{fence, AtomicBool, AtomicU64, Ordering};
use crate::verdict::{Checksum, Class, Counted, Layer};

const LAYERS: usize = Layer::ALL.len();
const KINDS: usize = Checksum::ALL.len();
const CLASSES: usize = Class::ALL.len();
const CELLS: usize = LAYERS * KINDS * CLASSES;

/// The cell of one (layer, checksum, class).
#[inline]
fn cell(layer: Layer, checksum: Checksum, class: Class) -> usize {
    (layer as usize * KINDS + checksum as usize) * CLASSES + class as usize
}

/// One writer's counters.
#[derive(Debug)]
pub struct Shard {
    /// Even: stable; odd: a packet is being recorded.
    sequence: AtomicU64,
    claimed: AtomicBool,
    packets: AtomicU64,
    cells: [AtomicU64; CELLS],
}

impl Shard {
    fn new() -> Shard {
        Shard {
            sequence: AtomicU64::new(0),
            claimed: AtomicBool::new(false),
            packets: AtomicU64::new(0),
            cells: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Reads this shard at a moment between two packets.
    fn read(&self, into: &mut Snapshot) {
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                core::hint::spin_loop();
                #[cfg(offload_loom)]
                loom::thread::yield_now();
                continue;
            }
            let packets = self.packets.load(Ordering::Relaxed);
            let cells: [u64; CELLS] =
                core::array::from_fn(|i| self.cells[i].load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                into.packets += packets;
                for (total, cell) in into.cells.iter_mut().zip(cells) {
                    *total += cell;
                }
                return;
            }
        }
    }
}

/// The counters of `N` concurrent writers (at most `N` capture threads).
#[derive(Debug)]
pub struct Counters<const N: usize> {
    shards: [Shard; N],
}

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Counters<N> {
    /// All counters at zero, no shard claimed.
    pub fn new() -> Self {
        Counters {
            shards: core::array::from_fn(|_| Shard::new()),
        }
    }

    /// Claims a free shard for one writer thread; `None` when all `N` are taken.
    pub fn writer(&self) -> Option<Writer<'_>> {
        self.shards.iter().find_map(|shard| {
            shard
                .claimed
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .ok()
                .map(|_| Writer { shard })
        })
    }

    /// A consistent total over every shard.
    pub fn snapshot(&self) -> Snapshot {
        let mut total = Snapshot::default();
        for shard in &self.shards {
            shard.read(&mut total);
        }
        total
    }
}

/// The only writer of one shard; releases it when dropped (counts stay).
#[derive(Debug)]
pub struct Writer<'a> {
    shard: &'a Shard,
}

impl Writer<'_> {
    /// Records one packet and the verdicts of its checksums (every layer's,
    /// [`Observation::counted`](crate::verdict::Observation::counted)),
    /// atomically for readers.
    pub fn record(&mut self, verdicts: &[Counted]) {
        let shard = self.shard;
        // Single writer per shard: plain load + store of the sequence is enough.
        let sequence = shard.sequence.load(Ordering::Relaxed);
        shard.sequence.store(sequence + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        shard.packets.fetch_add(1, Ordering::Relaxed);
        for c in verdicts {
            shard.cells[cell(c.layer, c.checksum, c.class)].fetch_add(1, Ordering::Relaxed);
        }
        shard.sequence.store(sequence + 2, Ordering::Release);
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.shard.claimed.store(false, Ordering::Release);
    }
}

/// Totals at one consistent moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Packets recorded.
    pub packets: u64,
    cells: [u64; CELLS],
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            packets: 0,
            cells: [0; CELLS],
        }
    }
}

impl Snapshot {
    /// Counts the verdicts of one packet (not the packet itself) into this
    /// plain, single-threaded tally: how a file's diagnosis counts, with the
    /// same cells as the live counters.
    #[inline]
    pub fn count(&mut self, verdicts: &[Counted]) {
        for c in verdicts {
            self.cells[cell(c.layer, c.checksum, c.class)] += 1;
        }
    }

    /// Adds another tally (another thread's, another file's).
    pub fn merge(&mut self, other: &Snapshot) {
        self.packets += other.packets;
        for (mine, theirs) in self.cells.iter_mut().zip(other.cells.iter()) {
            *mine += theirs;
        }
    }

    /// How many checksums of `checksum` in `layer` got a verdict of `class`.
    pub fn get(&self, layer: Layer, checksum: Checksum, class: Class) -> u64 {
        self.cells[cell(layer, checksum, class)]
    }

    /// How many checksums of `checksum` in `layer` got any verdict.
    pub fn total(&self, layer: Layer, checksum: Checksum) -> u64 {
        Class::ALL
            .iter()
            .map(|&class| self.get(layer, checksum, class))
            .sum()
    }

    /// How many checksums of any kind and layer got a verdict of `class` (as
    /// a file's diagnosis totals them).
    pub fn class_total(&self, class: Class) -> u64 {
        Layer::ALL
            .iter()
            .flat_map(|&layer| {
                Checksum::ALL
                    .iter()
                    .map(move |&c| self.get(layer, c, class))
            })
            .sum()
    }
}

#[cfg(all(test, not(offload_loom)))]
mod tests {
    use super::*;
    use crate::verdict::{NotVerifiedReason, Verdict};

    fn at(layer: Layer, checksum: Checksum, verdict: Verdict) -> Counted {
        Counted {
            layer,
            checksum,
            class: verdict.class(),
        }
    }

    #[test]
    fn records_and_snapshots() {
        let counters: Counters<2> = Counters::new();
        let mut a = counters.writer().unwrap();
        let mut b = counters.writer().unwrap();
        assert!(counters.writer().is_none(), "only two shards");
        let pending = Verdict::OffloadPending {
            found: 1,
            expected: 2,
        };
        a.record(&[
            at(Layer::Outer, Checksum::Ipv4Header, Verdict::Correct),
            at(Layer::Outer, Checksum::Tcp4, pending),
        ]);
        b.record(&[at(
            Layer::Outer,
            Checksum::Udp6,
            Verdict::NotVerified(NotVerifiedReason::Truncated),
        )]);
        drop(b);
        let mut c = counters.writer().expect("a dropped writer frees its shard");
        c.record(&[
            at(
                Layer::Outer,
                Checksum::Ipv4Header,
                Verdict::Incorrect {
                    found: 1,
                    expected: 2,
                },
            ),
            at(Layer::Outer, Checksum::Udp4, Verdict::Correct),
            at(Layer::Tunneled, Checksum::Tcp4, pending),
        ]);
        let s = counters.snapshot();
        assert_eq!(s.packets, 3);
        assert_eq!(s.get(Layer::Outer, Checksum::Ipv4Header, Class::Correct), 1);
        assert_eq!(
            s.get(Layer::Outer, Checksum::Ipv4Header, Class::Incorrect),
            1
        );
        assert_eq!(
            s.get(Layer::Outer, Checksum::Tcp4, Class::OffloadPending),
            1
        );
        assert_eq!(
            s.get(Layer::Tunneled, Checksum::Tcp4, Class::OffloadPending),
            1
        );
        assert_eq!(
            s.get(Layer::Outer, Checksum::Udp6, Class::NotVerifiedTruncated),
            1
        );
        assert_eq!(s.total(Layer::Outer, Checksum::Ipv4Header), 2);
        assert_eq!(s.total(Layer::Tunneled, Checksum::Ipv4Header), 0);
        assert_eq!(s.class_total(Class::OffloadPending), 2, "both layers");
    }

    #[test]
    fn concurrent_writers_and_a_reader_keep_the_invariants() {
        let counters: Counters<4> = Counters::new();
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    let mut w = counters.writer().unwrap();
                    for _ in 0..20_000 {
                        w.record(&[
                            at(Layer::Outer, Checksum::Ipv4Header, Verdict::Correct),
                            at(Layer::Outer, Checksum::Tcp4, Verdict::Correct),
                        ]);
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..2_000 {
                    let s = counters.snapshot();
                    let (ip, tcp) = (Checksum::Ipv4Header, Checksum::Tcp4);
                    assert_eq!(s.total(Layer::Outer, ip), s.total(Layer::Outer, tcp));
                    assert_eq!(s.total(Layer::Outer, tcp), s.packets);
                }
            });
        });
        assert_eq!(counters.snapshot().packets, 60_000);
    }
}
