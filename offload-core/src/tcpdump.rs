//! tcpdump's own wording for checksum verdicts (tcpdump 4.99 with `-v`/`-vv`),
//! written into any `core::fmt::Write`, so that reports built on our verdicts
//! still answer to `grep incorrect` and to eyes trained on tcpdump.

use core::fmt::{self, Write};

use crate::verdict::{Checksum, NotVerifiedReason, Verdict};

/// Our short name for a verdict, as reports print it in brackets.
pub fn class_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Correct => "correct",
        Verdict::Incorrect { .. } => "incorrect",
        Verdict::OffloadPending { .. } => "offload-pending",
        Verdict::NotVerified(NotVerifiedReason::Fragment) => "not verified: fragment",
        Verdict::NotVerified(NotVerifiedReason::Truncated) => "not verified: truncated",
        Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => "not verified: no checksum",
        Verdict::NotVerified(_) => "not verified",
    }
}

/// The transport part tcpdump prints for a verdict: `TCP, cksum 0x4b8f
/// (incorrect -> 0x1f20)`, `TCP, cksum 0xf4d7 (correct)` (`field` is the
/// checksum field as captured, which tcpdump prints for TCP), `UDP, [udp sum ok]`,
/// `UDP, [bad udp cksum 0x.. -> 0x..!]`, `UDP, [no cksum]`, `ICMP6, [icmp6 sum ok]`,
/// `ICMP6, [bad icmp6 cksum 0x.. -> 0x..!]`, `ICMP, (wrong icmp cksum X (->Y)!)`.
/// An offload-pending checksum is, to tcpdump, incorrect.
pub fn write_transport(
    out: &mut impl Write,
    kind: Checksum,
    verdict: Verdict,
    field: Option<u16>,
) -> fmt::Result {
    let name = match kind {
        Checksum::Tcp4 | Checksum::Tcp6 => "TCP",
        Checksum::Udp4 | Checksum::Udp6 => "UDP",
        Checksum::Icmp6 => "ICMP6",
        Checksum::Icmp4 | Checksum::Ipv4Header => "ICMP",
    };
    let (found, expected) = match verdict {
        Verdict::Correct => {
            return match kind {
                Checksum::Tcp4 | Checksum::Tcp6 => match field {
                    Some(value) => write!(out, "TCP, cksum 0x{value:04x} (correct)"),
                    None => out.write_str("TCP, cksum (correct)"),
                },
                Checksum::Udp4 | Checksum::Udp6 => out.write_str("UDP, [udp sum ok]"),
                Checksum::Icmp6 => out.write_str("ICMP6, [icmp6 sum ok]"),
                _ => out.write_str("ICMP, icmp cksum ok"),
            }
        }
        Verdict::Incorrect { found, expected } | Verdict::OffloadPending { found, expected } => {
            (found, expected)
        }
        Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => {
            return out.write_str("UDP, [no cksum]")
        }
        Verdict::NotVerified(_) => return out.write_str(name),
    };
    match kind {
        Checksum::Tcp4 | Checksum::Tcp6 => {
            write!(
                out,
                "TCP, cksum 0x{found:04x} (incorrect -> 0x{expected:04x})"
            )
        }
        Checksum::Udp4 | Checksum::Udp6 => {
            write!(
                out,
                "UDP, [bad udp cksum 0x{found:04x} -> 0x{expected:04x}!]"
            )
        }
        Checksum::Icmp6 => write!(
            out,
            "ICMP6, [bad icmp6 cksum 0x{found:04x} -> 0x{expected:04x}!]"
        ),
        _ => write!(out, "ICMP, (wrong icmp cksum {found:x} (->{expected:x})!)"),
    }
}

/// tcpdump's words for a bad IPv4 header checksum: `bad cksum 1234 (->5678)!`.
/// Writes nothing for any other verdict (tcpdump prints nothing then).
pub fn write_ipv4_header(out: &mut impl Write, verdict: Verdict) -> fmt::Result {
    match verdict {
        Verdict::Incorrect { found, expected } => {
            write!(out, "bad cksum {found:x} (->{expected:x})!")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Buf([u8; 96], usize);

    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }

    fn text(f: impl FnOnce(&mut Buf) -> fmt::Result) -> std::string::String {
        let mut b = Buf([0; 96], 0);
        f(&mut b).unwrap();
        std::string::String::from_utf8(b.0[..b.1].to_vec()).unwrap()
    }

    #[test]
    fn the_seed_line_and_friends() {
        let bad = Verdict::Incorrect {
            found: 0x4b8f,
            expected: 0x1f20,
        };
        assert_eq!(
            text(|b| write_transport(b, Checksum::Tcp4, bad, Some(0x4b8f))),
            "TCP, cksum 0x4b8f (incorrect -> 0x1f20)"
        );
        assert_eq!(
            text(|b| write_transport(b, Checksum::Udp6, bad, Some(0x4b8f))),
            "UDP, [bad udp cksum 0x4b8f -> 0x1f20!]"
        );
        assert_eq!(
            text(|b| write_transport(b, Checksum::Icmp6, Verdict::Correct, Some(1))),
            "ICMP6, [icmp6 sum ok]"
        );
        let zero = Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum);
        assert_eq!(
            text(|b| write_transport(b, Checksum::Udp4, zero, Some(0))),
            "UDP, [no cksum]"
        );
        assert_eq!(
            text(|b| write_transport(b, Checksum::Tcp6, Verdict::Correct, Some(0xf4d7))),
            "TCP, cksum 0xf4d7 (correct)"
        );
        assert_eq!(
            text(|b| write_ipv4_header(b, bad)),
            "bad cksum 4b8f (->1f20)!"
        );
        assert_eq!(text(|b| write_ipv4_header(b, Verdict::Correct)), "");
    }
}
