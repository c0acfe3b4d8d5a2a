//! A path between two hosts: namespaces A and B joined by one veth, B with the
//! MAC and address the synthetic frames ([`crate::synth`]) are sent to, so a
//! frame injected at A's end is received by B's kernel as its own traffic.

use crate::guard::{ip, Netns};
use crate::inject_frame;
use crate::synth::{ethernet_frame, Fill, Spec};

/// A holds `va` (10.1.0.1/16), B holds `vb` (10.1.0.2/16, 02:00:00:00:00:02).
/// Both namespaces, and so the veth, go away on drop.
#[derive(Debug)]
pub struct PathLab {
    pub a: Netns,
    pub b: Netns,
    pub va: String,
    pub vb: String,
}

impl PathLab {
    /// `prefix` (two or three letters) names the namespaces `<prefix>A…`,
    /// `<prefix>B…` and the veth ends `<prefix>a<pid>`, `<prefix>b<pid>`.
    pub fn new(prefix: &str) -> PathLab {
        let a = Netns::new(&format!("{prefix}A"));
        let b = Netns::new(&format!("{prefix}B"));
        let pid = std::process::id();
        let (va, vb) = (format!("{prefix}a{pid}"), format!("{prefix}b{pid}"));
        ip(&[
            "link",
            "add",
            &va,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            &vb,
            "netns",
            b.name(),
        ]);
        b.ip(&["link", "set", &vb, "address", "02:00:00:00:00:02"]);
        b.ip(&["addr", "add", "10.1.0.2/16", "dev", &vb]);
        a.ip(&["addr", "add", "10.1.0.1/16", "dev", &va]);
        a.ip(&["link", "set", &va, "up"]);
        b.ip(&["link", "set", &vb, "up"]);
        PathLab { a, b, va, vb }
    }

    /// `n` UDP and `n` TCP frames with damaged checksums (alternating, flows
    /// from `first_flow` on), injected at A's end for B's kernel to reject.
    pub fn inject_damaged(&self, n: u16, first_flow: u16) {
        for i in 0..2 * n {
            let frame = ethernet_frame(&Spec {
                protocol: if i % 2 == 0 { 17 } else { 6 },
                payload: 32,
                fill: Fill::Corrupt,
                flow: first_flow + i,
                ..Spec::default()
            });
            inject_frame(Some(self.a.name()), &self.va, &frame).expect("injecting a frame");
        }
    }
}
