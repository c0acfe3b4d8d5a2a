//! Memory of the two ways to capture on many interfaces: one TPACKET_V3 ring per
//! interface, or one ring on an any-device socket. Run as root inside a network
//! namespace with many interfaces up, e.g.
//! `ip netns exec lab cargo run --release -p offload-diagnose --example ring_memory`.

use offload_diagnose::capture::sys::Ring;

/// Resident and locked memory of this process, and the machine's used memory, in KiB.
fn memory() -> (u64, u64, u64) {
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    (
        field(&status, "VmRSS:"),
        field(&status, "VmLck:"),
        field(&meminfo, "MemTotal:") - field(&meminfo, "MemAvailable:"),
    )
}

fn main() {
    let indexes: Vec<u32> = nix::net::if_::if_nameindex()
        .unwrap()
        .iter()
        .map(|i| i.index())
        .collect();
    let (rss0, lck0, used0) = memory();
    let rings: Vec<Ring> = indexes
        .iter()
        .map(|&i| Ring::open(i as i32).unwrap())
        .collect();
    let (rss1, lck1, used1) = memory();
    println!(
        "one ring per interface: {} rings, RSS +{} KiB, locked +{} KiB, machine +{} KiB",
        rings.len(),
        rss1 - rss0,
        lck1 - lck0,
        used1.saturating_sub(used0)
    );
    drop(rings);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (rss0, lck0, used0) = memory();
    let any = Ring::open(0).unwrap();
    let (rss1, lck1, used1) = memory();
    println!(
        "one any-device ring: RSS +{} KiB, locked +{} KiB, machine +{} KiB",
        rss1.saturating_sub(rss0),
        lck1.saturating_sub(lck0),
        used1.saturating_sub(used0)
    );
    drop(any);
}
