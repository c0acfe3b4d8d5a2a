//! The seed's scenario, for real: two network namespaces joined by a veth pair,
//! TCP and UDP traffic between them, captured live on the sending veth.
//!
//! 1. TX checksum offload on: the kernel marks the packets CSUMNOTREADY, tcpdump
//!    prints `incorrect` for them, and `capture` calls them offload-pending, not
//!    corruption. Frames with deliberately corrupted checksums injected through a
//!    raw socket in the same capture are incorrect, not offload-pending.
//! 2. TX checksum offload off (`ethtool -K` inside the namespace): every checksum
//!    of the same traffic is correct.
//!
//! Needs root (namespaces, AF_PACKET); skips visibly otherwise.

use std::process::Command;
use std::time::Duration;

use offload_diagnose::capture::{Capture, CaptureConfig};
use offload_diagnose::diagnose::{Protocol, Summary};
use offload_testkit::guard::{ip, Netns};
use offload_testkit::synth::{ethernet_frame, Fill, Spec};
use offload_testkit::{inject_frame, require_program, require_root};

/// Two namespaces and a veth pair, removed on drop (also when a test panics).
struct Lab {
    a: String,
    b: String,
    va: String,
    /// The test kit's guards: dropping them deletes the namespaces.
    _namespaces: [Netns; 2],
}

impl Lab {
    fn new() -> Lab {
        let pid = std::process::id();
        let namespaces = [Netns::new("pcapA"), Netns::new("pcapB")];
        let lab = Lab {
            a: namespaces[0].name().to_string(),
            b: namespaces[1].name().to_string(),
            va: format!("pca{pid}"),
            _namespaces: namespaces,
        };
        let vb = format!("pcb{pid}");
        ip(&[
            "link", "add", &lab.va, "netns", &lab.a, "type", "veth", "peer", "name", &vb, "netns",
            &lab.b,
        ]);
        for (ns, dev, addr) in [
            (&lab.a, &lab.va, "10.199.0.1/24"),
            (&lab.b, &vb, "10.199.0.2/24"),
        ] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    fn exec(&self, ns: &str, program: &str, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// UDP datagrams and TCP connection attempts from A to B (nothing listens in
    /// B: the SYNs and datagrams are what we look at).
    fn traffic(&self) {
        let script = [
            "import socket",
            "for i in range(5):",
            "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
            "    s.sendto(b'offload test %d' % i, ('10.199.0.2', 5001))",
            "for i in range(3):",
            "    t = socket.socket()",
            "    t.settimeout(0.5)",
            "    try:",
            "        t.connect(('10.199.0.2', 5002))",
            "    except OSError:",
            "        pass",
            "    t.close()",
        ]
        .join("\n");
        let script = script.as_str();
        let out = self.exec(&self.a, "python3", &["-c", script]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn capture(&self, inject: usize, write: Option<std::path::PathBuf>) -> Summary {
        let capture = Capture::start(&CaptureConfig {
            interfaces: vec![self.va.clone()],
            netns: Some(self.a.clone()),
            write,
            ..CaptureConfig::default()
        })
        .expect("capture starts");
        self.traffic();
        for i in 0..inject {
            let frame = ethernet_frame(&Spec {
                protocol: if i % 2 == 0 { 6 } else { 17 },
                payload: 20,
                fill: Fill::Corrupt,
                flow: 900 + i as u16,
                ..Spec::default()
            });
            inject_frame(Some(&self.a), &self.va, &frame).expect("injecting a frame");
        }
        // The ring hands over partly filled blocks after 100 ms.
        std::thread::sleep(Duration::from_millis(400));
        capture.finish().expect("capture finishes")
    }
}

fn counts(s: &Summary, p: Protocol) -> (u64, u64, u64) {
    s.protocols
        .iter()
        .find(|c| c.protocol == Some(p))
        .map_or((0, 0, 0), |c| (c.correct, c.incorrect, c.offload_pending))
}

#[test]
fn veth_offload_pending_then_correct_and_injected_corruption_is_incorrect() {
    require_root!();
    for program in ["ethtool", "tcpdump", "python3"] {
        require_program!(program);
    }
    let lab = Lab::new();
    let saved = std::env::temp_dir().join(format!("pcap-veth-{}.pcapng", std::process::id()));

    // TX checksum offload on (veth's default).
    let on = lab.capture(4, Some(saved.clone()));
    let (_, tcp_bad, tcp_pending) = counts(&on, Protocol::Tcp4);
    let (_, udp_bad, udp_pending) = counts(&on, Protocol::Udp4);
    assert!(
        tcp_pending >= 3,
        "TCP SYNs should be offload-pending: {on:#?}"
    );
    assert!(
        udp_pending >= 5,
        "UDP datagrams should be offload-pending: {on:#?}"
    );
    assert_eq!(
        tcp_bad + udp_bad,
        4,
        "exactly the injected frames are incorrect: {on:#?}"
    );
    assert_eq!(on.incorrect, 4);
    // tcpdump, on the file we wrote, calls the offload-pending ones incorrect.
    let tcpdump = Command::new("tcpdump")
        .args(["-nn", "-vv", "-r"])
        .arg(&saved)
        .output()
        .expect("tcpdump runs");
    let text = String::from_utf8_lossy(&tcpdump.stdout);
    let tcpdump_bad = text.matches("incorrect").count() + text.matches("bad udp cksum").count();
    assert!(
        tcpdump_bad as u64 >= tcp_pending + udp_pending,
        "tcpdump flags {tcpdump_bad}, we saw {} pending",
        tcp_pending + udp_pending
    );
    let _ = std::fs::remove_file(&saved);

    // TX checksum offload off inside namespace A: the same traffic is correct.
    let out = lab.exec(&lab.a, "ethtool", &["-K", &lab.va, "tx", "off"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let off = lab.capture(0, None);
    let (tcp_ok, tcp_bad, tcp_pending) = counts(&off, Protocol::Tcp4);
    let (udp_ok, udp_bad, udp_pending) = counts(&off, Protocol::Udp4);
    assert!(tcp_ok >= 3 && udp_ok >= 5, "{off:#?}");
    assert_eq!(
        (tcp_bad, tcp_pending, udp_bad, udp_pending),
        (0, 0, 0, 0),
        "{off:#?}"
    );
    assert!(!off.corruption);
}

#[test]
fn nonexistent_interface_is_one_clear_error() {
    let err = Capture::start(&CaptureConfig {
        interfaces: vec!["nosuch0pcap".into()],
        ..CaptureConfig::default()
    })
    .err()
    .expect("no such interface");
    assert_eq!(err.to_string(), "nosuch0pcap: no such interface");
}
