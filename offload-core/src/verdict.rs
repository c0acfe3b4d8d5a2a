//! Per-packet checksum verdicts. A verdict is data, never an error: a packet whose
//! checksum is wrong is a perfectly good answer. Errors are for frames too short or
//! too inconsistent to parse.
//!
//! [`classify`] walks a captured frame (Ethernet with 802.1Q/802.1ad tags, Linux
//! cooked SLL/SLL2, BSD loopback, raw IP; IPv4 with options and fragments; IPv6
//! with extension headers) without copying, bounds-checked at every step, and
//! gives the IPv4 header verdict and the TCP/UDP/ICMP/ICMPv6 verdict following
//! tcpdump's rules for when a checksum is verified. The capture, pcap, C and
//! Python layers all call it.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum;

/// What one checksum field says about its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The checksum verifies.
    Correct,
    /// The checksum does not verify; `expected` is what tcpdump prints after `->`.
    Incorrect {
        /// The value in the checksum field.
        found: u16,
        /// The value the field should hold (tcpdump's `in_cksum_shouldbe`).
        expected: u16,
    },
    /// The field holds the folded pseudo-header sum that Linux leaves for the NIC
    /// with TX checksum offload (CHECKSUM_PARTIAL): not corruption.
    OffloadPending {
        /// The value in the checksum field.
        found: u16,
        /// The value the NIC would have written.
        expected: u16,
    },
    /// The checksum could not be verified.
    NotVerified(NotVerifiedReason),
}

/// Why a checksum was not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotVerifiedReason {
    /// An IP fragment: the L4 checksum covers data in other fragments.
    Fragment,
    /// The capture cut the packet short (snaplen) before the covered data ended.
    Truncated,
    /// UDP over IPv4 with checksum 0: the sender did not compute one.
    UdpZeroChecksum,
    /// A protocol whose checksum we do not verify.
    UnsupportedProtocol,
}

/// Which checksum a verdict is about: the counters and reports key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Checksum {
    /// The IPv4 header checksum.
    Ipv4Header,
    /// TCP over IPv4.
    Tcp4,
    /// UDP over IPv4.
    Udp4,
    /// ICMP (over IPv4).
    Icmp4,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv6.
    Udp6,
    /// ICMPv6.
    Icmp6,
}

impl Checksum {
    /// Every checksum kind, in report order.
    pub const ALL: [Checksum; 7] = [
        Checksum::Ipv4Header,
        Checksum::Tcp4,
        Checksum::Udp4,
        Checksum::Icmp4,
        Checksum::Tcp6,
        Checksum::Udp6,
        Checksum::Icmp6,
    ];

    /// The name reports print ("TCP/IPv4", "IPv4 header", ...).
    pub fn label(self) -> &'static str {
        match self {
            Checksum::Ipv4Header => "IPv4 header",
            Checksum::Tcp4 => "TCP/IPv4",
            Checksum::Udp4 => "UDP/IPv4",
            Checksum::Icmp4 => "ICMP",
            Checksum::Tcp6 => "TCP/IPv6",
            Checksum::Udp6 => "UDP/IPv6",
            Checksum::Icmp6 => "ICMPv6",
        }
    }

    /// The transport name without the IP version ("TCP", "UDP", ...).
    pub fn transport(self) -> &'static str {
        match self {
            Checksum::Ipv4Header => "IPv4 header",
            Checksum::Tcp4 | Checksum::Tcp6 => "TCP",
            Checksum::Udp4 | Checksum::Udp6 => "UDP",
            Checksum::Icmp4 => "ICMP",
            Checksum::Icmp6 => "ICMPv6",
        }
    }
}

/// A verdict without its values: what the counters count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// [`Verdict::Correct`].
    Correct,
    /// [`Verdict::Incorrect`].
    Incorrect,
    /// [`Verdict::OffloadPending`].
    OffloadPending,
    /// [`Verdict::NotVerified`] because of a fragment.
    NotVerifiedFragment,
    /// [`Verdict::NotVerified`] because of snaplen truncation.
    NotVerifiedTruncated,
    /// [`Verdict::NotVerified`] because UDP over IPv4 carried no checksum.
    NotVerifiedUdpZero,
    /// [`Verdict::NotVerified`] for a protocol we do not verify.
    NotVerifiedUnsupported,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 7] = [
        Class::Correct,
        Class::Incorrect,
        Class::OffloadPending,
        Class::NotVerifiedFragment,
        Class::NotVerifiedTruncated,
        Class::NotVerifiedUdpZero,
        Class::NotVerifiedUnsupported,
    ];
}

impl Verdict {
    /// The verdict's class, for counting.
    pub fn class(&self) -> Class {
        match self {
            Verdict::Correct => Class::Correct,
            Verdict::Incorrect { .. } => Class::Incorrect,
            Verdict::OffloadPending { .. } => Class::OffloadPending,
            Verdict::NotVerified(NotVerifiedReason::Fragment) => Class::NotVerifiedFragment,
            Verdict::NotVerified(NotVerifiedReason::Truncated) => Class::NotVerifiedTruncated,
            Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => Class::NotVerifiedUdpZero,
            Verdict::NotVerified(NotVerifiedReason::UnsupportedProtocol) => {
                Class::NotVerifiedUnsupported
            }
        }
    }
}

/// pcap link-layer header types (LINKTYPE_*) that [`classify`] decodes.
pub mod linktype {
    /// BSD loopback: a 4-byte address family in host byte order.
    pub const NULL: u16 = 0;
    /// Ethernet II, possibly with 802.1Q / 802.1ad tags.
    pub const ETHERNET: u16 = 1;
    /// Raw IPv4 or IPv6 (the version nibble tells which).
    pub const RAW: u16 = 101;
    /// Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    pub const LINUX_SLL: u16 = 113;
    /// OpenBSD loopback: like [`NULL`] but the family is big-endian.
    pub const LOOP: u16 = 108;
    /// Raw IPv4 only.
    pub const IPV4: u16 = 228;
    /// Raw IPv6 only.
    pub const IPV6: u16 = 229;
    /// Linux cooked capture v2 (`tcpdump -i any` since libpcap 1.10).
    pub const LINUX_SLL2: u16 = 276;
    /// `DLT_RAW` as some BSDs number it in classic pcap files.
    pub const RAW_BSD_12: u16 = 12;
    /// `DLT_RAW` as OpenBSD numbers it.
    pub const RAW_BSD_14: u16 = 14;

    /// Whether frames of this link type can be decoded down to IP.
    pub fn is_supported(link_type: u16) -> bool {
        matches!(
            link_type,
            NULL | ETHERNET
                | RAW
                | LINUX_SLL
                | LOOP
                | IPV4
                | IPV6
                | LINUX_SLL2
                | RAW_BSD_12
                | RAW_BSD_14
        )
    }
}

/// What the kernel said about a live packet's checksum (AF_PACKET `tp_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumHint {
    /// Nothing known (read from a file).
    #[default]
    None,
    /// `TP_STATUS_CSUMNOTREADY`: the stack left the checksum for the NIC.
    NotReady,
    /// `TP_STATUS_CSUM_VALID`: the NIC or stack already verified it.
    Valid,
}

impl ChecksumHint {
    /// `TP_STATUS_CSUMNOTREADY` (1 << 3) and `TP_STATUS_CSUM_VALID` (1 << 7).
    pub fn from_tp_status(status: u32) -> Self {
        if status & (1 << 3) != 0 {
            ChecksumHint::NotReady
        } else if status & (1 << 7) != 0 {
            ChecksumHint::Valid
        } else {
            ChecksumHint::None
        }
    }
}

/// Addresses and ports of a packet, used to name flows and hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoints {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (TCP/UDP only).
    pub src_port: Option<u16>,
    /// Destination port (TCP/UDP only).
    pub dst_port: Option<u16>,
}

/// The verdicts of one packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation {
    /// Addresses and ports, when the IP header could be read.
    pub endpoints: Option<Endpoints>,
    /// The IPv4 header checksum verdict (None for IPv6).
    pub ip_header: Option<Verdict>,
    /// The transport checksum and its verdict (None for protocols without one we check).
    pub transport: Option<(Checksum, Verdict)>,
}

/// Why a frame could not be decoded down to an IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A link type [`classify`] does not decode.
    UnsupportedLinkType(u16),
    /// The link layer carries something other than IPv4 / IPv6 (ARP, LLDP, ...).
    NotIp(u16),
    /// The frame ends inside the link-layer header or a VLAN tag.
    TruncatedLinkHeader,
    /// The frame ends inside the fixed IP header.
    TruncatedIpHeader,
    /// The IP version nibble contradicts the link layer.
    BadIpVersion(u8),
    /// IPv4 IHL below 5 words.
    BadHeaderLen(u8),
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::UnsupportedLinkType(t) => write!(f, "unsupported link type {t}"),
            DecodeError::NotIp(ethertype) => write!(f, "not IP (ethertype {ethertype:#06x})"),
            DecodeError::TruncatedLinkHeader => {
                f.write_str("frame ends inside the link-layer header")
            }
            DecodeError::TruncatedIpHeader => f.write_str("frame ends inside the IP header"),
            DecodeError::BadIpVersion(v) => write!(f, "IP version {v} where 4 or 6 was expected"),
            DecodeError::BadHeaderLen(ihl) => write!(f, "IPv4 header length {ihl} words (< 5)"),
        }
    }
}

impl core::error::Error for DecodeError {}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The network-layer packet inside a frame: (ethertype, bytes from the IP header on).
fn network_layer(link_type: u16, frame: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    const SHORT: DecodeError = DecodeError::TruncatedLinkHeader;
    let (mut ethertype, mut rest) = match link_type {
        linktype::ETHERNET => (be16(frame, 12).ok_or(SHORT)?, frame.get(14..).ok_or(SHORT)?),
        linktype::LINUX_SLL => (be16(frame, 14).ok_or(SHORT)?, frame.get(16..).ok_or(SHORT)?),
        linktype::LINUX_SLL2 => (be16(frame, 0).ok_or(SHORT)?, frame.get(20..).ok_or(SHORT)?),
        linktype::NULL | linktype::LOOP => {
            let family =
                u32::from_le_bytes(frame.get(..4).ok_or(SHORT)?.try_into().map_err(|_| SHORT)?);
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            let ethertype = match family {
                2 => 0x0800,
                10 | 24 | 28 | 30 => 0x86dd,
                other => return Err(DecodeError::NotIp(other as u16)),
            };
            (ethertype, frame.get(4..).ok_or(SHORT)?)
        }
        linktype::RAW
        | linktype::RAW_BSD_12
        | linktype::RAW_BSD_14
        | linktype::IPV4
        | linktype::IPV6 => {
            let version = frame.first().ok_or(DecodeError::TruncatedIpHeader)? >> 4;
            let ethertype = match version {
                4 => 0x0800,
                6 => 0x86dd,
                v => return Err(DecodeError::BadIpVersion(v)),
            };
            (ethertype, frame)
        }
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    };
    // 802.1Q / 802.1ad / QinQ tags.
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        ethertype = be16(rest, 2).ok_or(SHORT)?;
        rest = rest.get(4..).ok_or(SHORT)?;
    }
    Ok((ethertype, rest))
}

/// Whether `found` is the folded pseudo-header sum Linux leaves for the NIC
/// (CHECKSUM_PARTIAL; either one's-complement zero counts).
fn is_pseudo_sum(found: u16, pseudo: u16) -> bool {
    found == pseudo || (found == 0 && pseudo == 0xffff) || (found == 0xffff && pseudo == 0)
}

/// The verdict on a transport checksum at `field` within `segment`.
fn transport_verdict(
    segment: &[u8],
    field: usize,
    pseudo: Option<u16>,
    zero_means_none: bool,
    hint: ChecksumHint,
) -> Verdict {
    let Some(found) = be16(segment, field) else {
        return Verdict::NotVerified(NotVerifiedReason::Truncated);
    };
    if zero_means_none && found == 0 {
        return Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum);
    }
    let sum = checksum::fold(checksum::accumulate(segment) + pseudo.map_or(0, u64::from));
    if sum == 0xffff {
        return Verdict::Correct;
    }
    let expected = checksum::shouldbe(found, sum);
    let pending = match (hint, pseudo) {
        // The kernel told us: the field is not final yet.
        (ChecksumHint::NotReady, _) => true,
        (_, Some(pseudo)) => is_pseudo_sum(found, pseudo),
        (_, None) => false,
    };
    if pending {
        Verdict::OffloadPending { found, expected }
    } else {
        Verdict::Incorrect { found, expected }
    }
}

struct Transport<'a> {
    protocol: u8,
    /// The L4 bytes captured (may be shorter than `len`).
    captured: &'a [u8],
    /// The L4 length the IP header declares.
    len: usize,
    fragment: bool,
    v6: bool,
    /// Sum of the pseudo-header's addresses.
    pseudo: u64,
}

/// A transport checksum verdict and the ports, if the protocol has them.
type TransportVerdict = (Checksum, Verdict, Option<(u16, u16)>);

fn classify_transport(t: Transport<'_>, hint: ChecksumHint) -> Option<TransportVerdict> {
    let (kind, field, has_pseudo, ports) = match (t.protocol, t.v6) {
        (6, false) => (Checksum::Tcp4, 16, true, true),
        (6, true) => (Checksum::Tcp6, 16, true, true),
        (17, false) => (Checksum::Udp4, 6, true, true),
        (17, true) => (Checksum::Udp6, 6, true, true),
        (1, false) => (Checksum::Icmp4, 2, false, false),
        (58, true) => (Checksum::Icmp6, 2, true, false),
        _ => return None,
    };
    let port_pair = if ports {
        be16(t.captured, 0).zip(be16(t.captured, 2))
    } else {
        None
    };
    let verdict = if t.fragment {
        Verdict::NotVerified(NotVerifiedReason::Fragment)
    } else if t.captured.len() < t.len {
        Verdict::NotVerified(NotVerifiedReason::Truncated)
    } else {
        let segment = &t.captured[..t.len];
        let pseudo = has_pseudo.then(|| {
            checksum::fold(
                t.pseudo + u64::from(t.protocol) + (t.len as u64 >> 16) + (t.len as u64 & 0xffff),
            )
        });
        transport_verdict(segment, field, pseudo, kind == Checksum::Udp4, hint)
    };
    Some((kind, verdict, port_pair))
}

/// Classifies one captured frame: the IPv4 header checksum and the transport
/// checksum, with the addresses and ports. `hint` is the kernel's per-packet
/// status for live captures ([`ChecksumHint::None`] for files).
///
/// ```
/// use offload_core::verdict::{classify, linktype, ChecksumHint, Checksum, Verdict};
/// // An IPv4 UDP datagram with checksum 0: "[no cksum]" in tcpdump's words.
/// let mut packet = [0u8; 28];
/// packet[0] = 0x45;
/// packet[3] = 28;
/// packet[8] = 64;
/// packet[9] = 17;
/// packet[12..16].copy_from_slice(&[10, 0, 0, 1]);
/// packet[16..20].copy_from_slice(&[10, 0, 0, 2]);
/// let sum = offload_core::checksum::data(&packet[..20]);
/// packet[10..12].copy_from_slice(&offload_core::checksum::finish(sum).to_be_bytes());
/// packet[25] = 8; // UDP length
/// let seen = classify(linktype::RAW, &packet, ChecksumHint::None).unwrap();
/// assert_eq!(seen.ip_header, Some(Verdict::Correct));
/// assert!(matches!(seen.transport, Some((Checksum::Udp4, Verdict::NotVerified(_)))));
/// ```
pub fn classify(
    link_type: u16,
    frame: &[u8],
    hint: ChecksumHint,
) -> Result<Observation, DecodeError> {
    let mut observation = Observation::default();
    let (ethertype, ip) = network_layer(link_type, frame)?;
    let (src, dst, transport) = match ethertype {
        0x0800 => {
            let first = *ip.first().ok_or(DecodeError::TruncatedIpHeader)?;
            if first >> 4 != 4 {
                return Err(DecodeError::BadIpVersion(first >> 4));
            }
            if first & 0x0f < 5 {
                return Err(DecodeError::BadHeaderLen(first & 0x0f));
            }
            if ip.len() < 20 {
                return Err(DecodeError::TruncatedIpHeader);
            }
            let ihl = usize::from(first & 0x0f) * 4;
            let total = usize::from(be16(ip, 2).unwrap_or(0));
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            observation.ip_header = Some(match ip.get(..ihl) {
                Some(header) => {
                    let found = be16(header, 10).unwrap_or(0);
                    let sum = checksum::data(header);
                    if sum == 0xffff {
                        Verdict::Correct
                    } else {
                        Verdict::Incorrect {
                            found,
                            expected: checksum::shouldbe(found, sum),
                        }
                    }
                }
                None => Verdict::NotVerified(NotVerifiedReason::Truncated),
            });
            let flags_offset = be16(ip, 6).unwrap_or(0);
            let fragment = flags_offset & 0x3fff != 0;
            let transport = (total >= ihl).then(|| Transport {
                protocol: ip[9],
                captured: ip.get(ihl..total.min(ip.len())).unwrap_or(&[]),
                len: total - ihl,
                fragment,
                v6: false,
                pseudo: checksum::accumulate(&ip[12..20]),
            });
            (IpAddr::V4(src), IpAddr::V4(dst), transport)
        }
        0x86dd => {
            if ip.len() < 40 {
                return Err(DecodeError::TruncatedIpHeader);
            }
            if ip[0] >> 4 != 6 {
                return Err(DecodeError::BadIpVersion(ip[0] >> 4));
            }
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            let payload_len = usize::from(be16(ip, 4).unwrap_or(0));
            let end = (40 + payload_len).min(ip.len());
            let mut next = ip[6];
            let mut at = 40usize;
            let mut fragment = false;
            // Walk the extension headers we can see; a chain that runs off the
            // captured bytes leaves the transport undecided.
            let transport = loop {
                match next {
                    0 | 43 | 60 => {
                        let (Some(&nh), Some(&len)) = (ip.get(at), ip.get(at + 1)) else {
                            break None;
                        };
                        next = nh;
                        at += (usize::from(len) + 1) * 8;
                    }
                    44 => {
                        // Any fragment header: the checksum covers other fragments.
                        let Some(&nh) = ip.get(at) else {
                            break None;
                        };
                        fragment = true;
                        next = nh;
                        at += 8;
                    }
                    _ => {
                        if at > 40 + payload_len {
                            break None;
                        }
                        break Some(Transport {
                            protocol: next,
                            captured: ip.get(at..end).unwrap_or(&[]),
                            len: 40 + payload_len - at,
                            fragment,
                            v6: true,
                            pseudo: checksum::accumulate(&ip[8..40]),
                        });
                    }
                }
            };
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(d)),
                transport,
            )
        }
        other => return Err(DecodeError::NotIp(other)),
    };
    let mut endpoints = Endpoints {
        src,
        dst,
        src_port: None,
        dst_port: None,
    };
    if let Some((kind, verdict, ports)) = transport.and_then(|t| classify_transport(t, hint)) {
        if let Some((sp, dp)) = ports {
            endpoints.src_port = Some(sp);
            endpoints.dst_port = Some(dp);
        }
        observation.transport = Some((kind, verdict));
    }
    observation.endpoints = Some(endpoints);
    Ok(observation)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 + TCP packet with a correct IP header and a TCP checksum of `tcp_sum`.
    fn ipv4_tcp(tcp_field: Option<u16>) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        p[0] = 0x45;
        p[3] = 40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[192, 0, 2, 1]);
        p[16..20].copy_from_slice(&[192, 0, 2, 2]);
        let ip = checksum::finish(checksum::data(&p[..20]));
        p[10..12].copy_from_slice(&ip.to_be_bytes());
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&80u16.to_be_bytes());
        p[32] = 0x50;
        let pseudo = checksum::pseudo_header_v4([192, 0, 2, 1], [192, 0, 2, 2], 6, 20);
        let field = tcp_field.unwrap_or_else(|| {
            checksum::finish(checksum::combine(&[pseudo, checksum::data(&p[20..])]))
        });
        p[36..38].copy_from_slice(&field.to_be_bytes());
        p
    }

    #[test]
    fn correct_pending_and_corrupt_tcp() {
        let good = classify(linktype::RAW, &ipv4_tcp(None), ChecksumHint::None).unwrap();
        assert_eq!(good.ip_header, Some(Verdict::Correct));
        assert_eq!(good.transport, Some((Checksum::Tcp4, Verdict::Correct)));
        let endpoints = good.endpoints.unwrap();
        assert_eq!(
            (endpoints.src_port, endpoints.dst_port),
            (Some(40000), Some(80))
        );

        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum.
        let pseudo = checksum::pseudo_header_v4([192, 0, 2, 1], [192, 0, 2, 2], 6, 20);
        let pending = classify(linktype::RAW, &ipv4_tcp(Some(pseudo)), ChecksumHint::None).unwrap();
        assert!(matches!(
            pending.transport,
            Some((Checksum::Tcp4, Verdict::OffloadPending { .. }))
        ));

        let corrupt = classify(linktype::RAW, &ipv4_tcp(Some(0x1234)), ChecksumHint::None).unwrap();
        let Some((_, Verdict::Incorrect { found, expected })) = corrupt.transport else {
            panic!("expected incorrect, got {corrupt:?}");
        };
        assert_eq!(found, 0x1234);
        assert_eq!(
            expected,
            ipv4_tcp(None)[36..38]
                .iter()
                .fold(0u16, |a, &b| a << 8 | u16::from(b))
        );

        // The kernel's word beats the heuristic.
        let hinted = classify(
            linktype::RAW,
            &ipv4_tcp(Some(0x1234)),
            ChecksumHint::NotReady,
        )
        .unwrap();
        assert!(matches!(
            hinted.transport,
            Some((_, Verdict::OffloadPending { .. }))
        ));
    }

    #[test]
    fn bad_input_gets_a_typed_error() {
        let mut short_ihl = ipv4_tcp(None);
        short_ihl[0] = 0x44;
        assert_eq!(
            classify(linktype::RAW, &short_ihl, ChecksumHint::None),
            Err(DecodeError::BadHeaderLen(4))
        );
        assert_eq!(
            classify(linktype::ETHERNET, &[0u8; 10], ChecksumHint::None),
            Err(DecodeError::TruncatedLinkHeader)
        );
        assert_eq!(
            classify(linktype::RAW, &[0x45, 0, 0], ChecksumHint::None),
            Err(DecodeError::TruncatedIpHeader)
        );
        assert_eq!(
            classify(147, &[0u8; 64], ChecksumHint::None),
            Err(DecodeError::UnsupportedLinkType(147))
        );
        let mut arp = [0u8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            classify(linktype::ETHERNET, &arp, ChecksumHint::None),
            Err(DecodeError::NotIp(0x0806))
        );
    }

    #[test]
    fn lengths_beyond_the_buffer_are_not_verified_never_read() {
        let mut p = ipv4_tcp(None);
        p[2..4].copy_from_slice(&1500u16.to_be_bytes()); // total length past the capture
        let seen = classify(linktype::RAW, &p, ChecksumHint::None).unwrap();
        assert_eq!(
            seen.transport.map(|t| t.1),
            Some(Verdict::NotVerified(NotVerifiedReason::Truncated))
        );

        // IPv6 whose hop-by-hop header claims 2 KiB: the chain runs off the end.
        let mut v6 = vec![0u8; 48];
        v6[0] = 0x60;
        v6[4..6].copy_from_slice(&8u16.to_be_bytes());
        v6[6] = 0; // hop-by-hop
        v6[40] = 6;
        v6[41] = 255;
        let seen = classify(linktype::RAW, &v6, ChecksumHint::None).unwrap();
        assert_eq!(seen.transport, None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut frame = [0u8; 96];
        for round in 0..20_000 {
            for b in frame.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            // Make IP-looking frames common so the deeper layers get exercised.
            frame[0] = if round % 2 == 0 { 0x45 } else { 0x60 };
            let len = (seed as usize) % frame.len();
            for link in [
                linktype::RAW,
                linktype::ETHERNET,
                linktype::LINUX_SLL,
                linktype::LINUX_SLL2,
                linktype::NULL,
            ] {
                let _ = classify(link, &frame[..len], ChecksumHint::None);
            }
        }
    }
}
