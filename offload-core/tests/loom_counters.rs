//! loom model of the verdict counters: two writers on their own shards and a
//! reader; in every interleaving the snapshot shows whole packets only.
#![cfg(offload_loom)]

use loom::sync::Arc;
use offload_core::counters::Counters;
use offload_core::verdict::{Checksum, Counted, Layer, Verdict};

#[test]
fn snapshots_never_split_a_packet() {
    // A snapshot loads every cell of every shard (two layers of cells): more
    // branches than loom's default 1,000.
    let mut model = loom::model::Builder::new();
    model.max_branches = 10_000;
    model.check(|| {
        let counters: Arc<Counters<2>> = Arc::new(Counters::new());
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let counters = Arc::clone(&counters);
                loom::thread::spawn(move || {
                    let mut writer = counters.writer().expect("a shard per writer");
                    writer.record(&[
                        Counted {
                            layer: Layer::Outer,
                            checksum: Checksum::Ipv4Header,
                            class: Verdict::Correct.class(),
                        },
                        Counted {
                            layer: Layer::Outer,
                            checksum: Checksum::Tcp4,
                            class: Verdict::OffloadPending {
                                found: 1,
                                expected: 2,
                            }
                            .class(),
                        },
                    ]);
                })
            })
            .collect();
        let snapshot = counters.snapshot();
        let outer = |checksum| snapshot.total(Layer::Outer, checksum);
        assert_eq!(outer(Checksum::Ipv4Header), snapshot.packets);
        assert_eq!(outer(Checksum::Tcp4), snapshot.packets);
        assert!(snapshot.packets <= 2);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(counters.snapshot().packets, 2);
    });
}
