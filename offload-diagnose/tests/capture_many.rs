//! Capturing on many interfaces at once, as on a dom0 with 200 VIF backends: one
//! ring for all of them (no limit of 64), and an interface named twice counted
//! once. Frames with corrupted checksums injected on one veth of the pair are
//! counted exactly: once per interface they cross.
//!
//! Needs root (namespaces, AF_PACKET); skips visibly otherwise.

use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use offload_diagnose::capture::{Capture, CaptureConfig};
use offload_diagnose::diagnose::Summary;
use offload_testkit::guard::Netns;
use offload_testkit::synth::{ethernet_frame, Fill, Spec};
use offload_testkit::{inject_frame, require_root};

const PAIRS: usize = 100;
const FRAMES: u64 = 7;

/// A namespace with `PAIRS` veth pairs up (`va0`/`vb0` ...), made in one `ip -batch`.
fn lab() -> Netns {
    let ns = Netns::new("offmany");
    let mut batch = String::new();
    for i in 0..PAIRS {
        batch.push_str(&format!("link add va{i} type veth peer name vb{i}\n"));
        batch.push_str(&format!("link set va{i} up\nlink set vb{i} up\n"));
    }
    let mut ip = Command::new("ip")
        .args(["-n", ns.name(), "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    ip.stdin
        .take()
        .unwrap()
        .write_all(batch.as_bytes())
        .unwrap();
    assert!(ip.wait().unwrap().success());
    ns
}

/// Captures on `interfaces` (or every interface up) while `FRAMES` corrupted
/// frames go out of `va3`.
fn capture(ns: &Netns, interfaces: &[&str], all: bool) -> (Summary, usize) {
    let config = CaptureConfig {
        interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
        all,
        netns: Some(ns.name().to_string()),
        interrupt: Arc::new(AtomicBool::new(false)),
        ..CaptureConfig::default()
    };
    let capture = Capture::start(&config).expect("capture starts");
    let frame = ethernet_frame(&Spec {
        fill: Fill::Corrupt,
        payload: 64,
        ..Spec::default()
    });
    for _ in 0..FRAMES {
        inject_frame(Some(ns.name()), "va3", &frame).unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    let summary = capture.finish().unwrap();
    let listened = summary.source.interfaces.len();
    (summary, listened)
}

#[test]
fn all_of_two_hundred_interfaces_in_one_capture() {
    require_root!();
    let ns = lab();
    let (summary, listened) = capture(&ns, &[], true);
    assert_eq!(listened, 2 * PAIRS + 1, "every veth and lo");
    // Out of va3 and into vb3: each frame crosses two interfaces.
    assert_eq!(summary.incorrect, 2 * FRAMES, "{summary:?}");
}

#[test]
fn an_interface_named_twice_counts_once() {
    require_root!();
    let ns = lab();
    let (twice, listened) = capture(&ns, &["va3", "va3"], false);
    assert_eq!(listened, 1);
    assert_eq!(twice.incorrect, FRAMES, "{twice:?}");
    let (both, listened) = capture(&ns, &["va3", "vb3", "va3", "vb7"], false);
    assert_eq!(listened, 3);
    assert_eq!(both.incorrect, 2 * FRAMES, "{both:?}");
}
