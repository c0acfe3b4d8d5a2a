//! One line per packet for `offloadctl check --verdicts`: tcpdump's own wording for
//! the checksums (so `grep incorrect` habits keep working) followed by our
//! classification in brackets, e.g.
//!
//! ```text
//! 16:38:07.676943 IP 10.0.0.1.46455 > 10.0.0.2.80: TCP, cksum 0x4b8f (incorrect -> 0x1f20) [offload-pending]
//! ```

use std::io::{self, Write};

use offload_core::verdict::{NotVerifiedReason, Verdict};
use offload_ethtool::diagnose::{Observation, Protocol};
use offload_ethtool::pcap::Record;

/// Our classification of one verdict, as printed in brackets.
pub fn class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Correct => "correct",
        Verdict::Incorrect { .. } => "incorrect",
        Verdict::OffloadPending { .. } => "offload-pending",
        Verdict::NotVerified(NotVerifiedReason::Fragment) => "not verified: fragment",
        Verdict::NotVerified(NotVerifiedReason::Truncated) => "not verified: truncated",
        Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => "not verified: no checksum",
        Verdict::NotVerified(_) => "not verified",
        _ => "not verified",
    }
}

/// tcpdump's words for a transport checksum verdict.
fn transport_words(out: &mut impl Write, protocol: Protocol, verdict: Verdict) -> io::Result<()> {
    let (found, expected, ok) = match verdict {
        Verdict::Correct => (0, 0, true),
        Verdict::Incorrect { found, expected } | Verdict::OffloadPending { found, expected } => {
            (found, expected, false)
        }
        _ => {
            return match (protocol, verdict) {
                (Protocol::Udp4, Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum)) => {
                    write!(out, "UDP, [no cksum]")
                }
                _ => write!(out, "{}", protocol.transport()),
            }
        }
    };
    match protocol {
        Protocol::Tcp4 | Protocol::Tcp6 if ok => write!(out, "TCP, cksum (correct)"),
        Protocol::Tcp4 | Protocol::Tcp6 => {
            write!(
                out,
                "TCP, cksum 0x{found:04x} (incorrect -> 0x{expected:04x})"
            )
        }
        Protocol::Udp4 | Protocol::Udp6 if ok => write!(out, "UDP, [udp sum ok]"),
        Protocol::Udp4 | Protocol::Udp6 => {
            write!(
                out,
                "UDP, [bad udp cksum 0x{found:04x} -> 0x{expected:04x}!]"
            )
        }
        Protocol::Icmp6 if ok => write!(out, "ICMP6, [icmp6 sum ok]"),
        Protocol::Icmp6 => write!(
            out,
            "ICMP6, [bad icmp6 cksum 0x{found:04x} -> 0x{expected:04x}!]"
        ),
        _ if ok => write!(out, "ICMP, icmp cksum ok"),
        _ => write!(out, "ICMP, (wrong icmp cksum {found:x} (->{expected:x})!)"),
    }
}

/// `HH:MM:SS.uuuuuu` (UTC), tcpdump's default timestamp.
fn timestamp(out: &mut impl Write, sec: i64, nsec: u32) -> io::Result<()> {
    let day = sec.rem_euclid(86_400);
    write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        nsec / 1000
    )
}

fn endpoint(out: &mut impl Write, addr: std::net::IpAddr, port: Option<u16>) -> io::Result<()> {
    match port {
        Some(p) => write!(out, "{addr}.{p}"),
        None => write!(out, "{addr}"),
    }
}

/// Writes the line for one packet.
pub fn write(
    out: &mut impl Write,
    record: &Record<'_>,
    observation: &Observation,
) -> io::Result<()> {
    timestamp(out, record.ts_sec, record.ts_nsec)?;
    let Some(e) = observation.endpoints else {
        return writeln!(
            out,
            " no IP checksum (link type {}, length {}) [not verified]",
            record.link_type, record.orig_len
        );
    };
    write!(out, " {} ", if e.src.is_ipv4() { "IP" } else { "IP6" })?;
    endpoint(out, e.src, e.src_port)?;
    write!(out, " > ")?;
    endpoint(out, e.dst, e.dst_port)?;
    write!(out, ": ")?;
    match observation.transport {
        Some((protocol, verdict)) => {
            transport_words(out, protocol, verdict)?;
            write!(out, " [{}]", class(verdict))?;
        }
        None => write!(out, "no transport checksum [not verified]")?,
    }
    match observation.ip_header {
        Some(v @ Verdict::Incorrect { found, expected }) => write!(
            out,
            ", IP bad cksum {found:x} (->{expected:x})! [{}]",
            class(v)
        )?,
        Some(v @ Verdict::NotVerified(_)) => write!(out, ", IP header [{}]", class(v))?,
        _ => {}
    }
    writeln!(out)
}
