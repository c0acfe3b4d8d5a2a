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

use core::net::IpAddr;

mod fast_path;

use crate::checksum;
use crate::wire::{
    ah, ethernet, ethertype, geneve, gre, icmp, ip_protocol, ipv4, ipv6, ipv6_ext, ipv6_fragment,
    ipv6_routing, loopback, sll, tcp, udp, vlan, vxlan,
};

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
    /// The transport checksum field as captured, when its header was: tcpdump
    /// prints it for correct checksums too (`cksum 0xf4d7 (correct)`).
    pub transport_field: Option<u16>,
    /// The packet a tunnel carries, verified by the same rules.
    pub tunnel: Option<Tunnel>,
}

/// Which IP layer of a packet a verdict belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The packet as captured.
    Outer,
    /// The packet a tunnel (IPIP, 6in4, GRE, VXLAN, Geneve) carries.
    Tunneled,
}

impl Layer {
    /// Both layers, outer first.
    pub const ALL: [Layer; 2] = [Layer::Outer, Layer::Tunneled];
}

/// One checksum verdict of a packet, as counted: its layer, its checksum and
/// its class. The unit every count (a file's diagnosis, a capture's live
/// counters) is made of. It holds the class, not the verdict: the verdict's
/// found/expected values are no count's business, and copying them per packet
/// cost a store-to-load stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// Outer or inside a tunnel.
    pub layer: Layer,
    /// Which checksum.
    pub checksum: Checksum,
    /// What its verdict says.
    pub class: Class,
}

/// The verdicts of one packet, outer layer first: at most an IPv4 header and
/// a transport checksum per layer.
#[derive(Debug, Clone, Copy)]
pub struct CountedVerdicts {
    items: [Counted; 4],
    len: usize,
}

impl CountedVerdicts {
    #[inline(always)]
    fn push(&mut self, layer: Layer, checksum: Checksum, verdict: Verdict) {
        self.items[self.len] = Counted {
            layer,
            checksum,
            class: verdict.class(),
        };
        self.len += 1;
    }

    /// The verdicts, in order.
    #[inline]
    pub fn as_slice(&self) -> &[Counted] {
        &self.items[..self.len]
    }
}

/// The observation of a frame of the common case ([`classify_common`]): an
/// IPv4 packet with both checksums, no tunnel. Every field is known, so a
/// counter knows without looking that it has exactly two verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonObservation {
    /// Addresses and ports.
    pub endpoints: Endpoints,
    /// The IPv4 header checksum verdict.
    pub ip_header: Verdict,
    /// The transport checksum (TCP or UDP over IPv4) and its verdict.
    pub transport: (Checksum, Verdict),
    /// The transport checksum field, when its header was captured.
    pub transport_field: Option<u16>,
}

impl CommonObservation {
    /// Its two verdicts as counted, the IPv4 header's first: the same list
    /// as [`Observation::counted`] of the same frame.
    #[inline(always)]
    pub fn counted(&self) -> [Counted; 2] {
        [
            Counted {
                layer: Layer::Outer,
                checksum: Checksum::Ipv4Header,
                class: self.ip_header.class(),
            },
            Counted {
                layer: Layer::Outer,
                checksum: self.transport.0,
                class: self.transport.1.class(),
            },
        ]
    }
}

impl From<CommonObservation> for Observation {
    #[inline(always)]
    fn from(common: CommonObservation) -> Self {
        Observation {
            endpoints: Some(common.endpoints),
            ip_header: Some(common.ip_header),
            transport: Some(common.transport),
            transport_field: common.transport_field,
            tunnel: None,
        }
    }
}

impl Observation {
    /// Every checksum verdict of the packet with its layer, outer first: what
    /// is counted, by whoever counts.
    #[inline]
    pub fn counted(&self) -> CountedVerdicts {
        let unused = Counted {
            layer: Layer::Outer,
            checksum: Checksum::Ipv4Header,
            class: Class::Correct,
        };
        let mut list = CountedVerdicts {
            items: [unused; 4],
            len: 0,
        };
        if let Some(v) = self.ip_header {
            list.push(Layer::Outer, Checksum::Ipv4Header, v);
        }
        if let Some((c, v)) = self.transport {
            list.push(Layer::Outer, c, v);
        }
        if let Some(inner) = &self.tunnel {
            if let Some(v) = inner.ip_header {
                list.push(Layer::Tunneled, Checksum::Ipv4Header, v);
            }
            if let Some((c, v)) = inner.transport {
                list.push(Layer::Tunneled, c, v);
            }
        }
        list
    }

    /// The addresses and ports of `layer`, which name its flows.
    #[inline]
    pub fn endpoints_in(&self, layer: Layer) -> Option<&Endpoints> {
        match layer {
            Layer::Outer => self.endpoints.as_ref(),
            Layer::Tunneled => self.tunnel.as_ref().map(|t| &t.endpoints),
        }
    }
}

/// How a tunnel carries its inner packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encapsulation {
    /// IPv4 directly in IP (protocol 4, RFC 2003).
    Ipip,
    /// IPv6 directly in IP (protocol 41, RFC 4213).
    SixInFour,
    /// GRE (protocol 47) carrying IP or Ethernet.
    Gre,
    /// VXLAN on UDP port 4789.
    Vxlan,
    /// Geneve on UDP port 6081.
    Geneve,
}

impl Encapsulation {
    /// The name reports print.
    pub fn label(self) -> &'static str {
        match self {
            Encapsulation::Ipip => "IPIP",
            Encapsulation::SixInFour => "6in4",
            Encapsulation::Gre => "GRE",
            Encapsulation::Vxlan => "VXLAN",
            Encapsulation::Geneve => "Geneve",
        }
    }
}

/// The verdicts of the IP packet inside a tunnel (one level deep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    /// How it was carried.
    pub encapsulation: Encapsulation,
    /// The inner addresses and ports.
    pub endpoints: Endpoints,
    /// The inner IPv4 header checksum verdict (None for IPv6).
    pub ip_header: Option<Verdict>,
    /// The inner transport checksum and its verdict.
    pub transport: Option<(Checksum, Verdict)>,
    /// The inner transport checksum field as captured.
    pub transport_field: Option<u16>,
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

/// The network-layer packet inside a frame: (ethertype, bytes from the IP header on).
fn network_layer(link_type: u16, frame: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    const SHORT: DecodeError = DecodeError::TruncatedLinkHeader;
    let (mut ethertype, mut rest) = match link_type {
        linktype::ETHERNET => {
            let f = ethernet::Frame::new_checked(frame).map_err(|_| SHORT)?;
            (f.ethertype(), f.payload())
        }
        linktype::LINUX_SLL => {
            let h = sll::Sll::new_checked(frame).map_err(|_| SHORT)?;
            (h.protocol(), h.payload())
        }
        linktype::LINUX_SLL2 => {
            let h = sll::Sll2::new_checked(frame).map_err(|_| SHORT)?;
            (h.protocol(), h.payload())
        }
        linktype::NULL | linktype::LOOP => {
            let h = loopback::Header::new_checked(frame).map_err(|_| SHORT)?;
            let ethertype = h.ethertype().ok_or(DecodeError::NotIp(h.family() as u16))?;
            (ethertype, h.payload())
        }
        linktype::RAW
        | linktype::RAW_BSD_12
        | linktype::RAW_BSD_14
        | linktype::IPV4
        | linktype::IPV6 => (ip_ethertype(frame)?, frame),
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    };
    while vlan::is_tag(ethertype) {
        let tag = vlan::Tag::new_checked(rest).map_err(|_| SHORT)?;
        ethertype = tag.ethertype();
        rest = tag.payload();
    }
    Ok((ethertype, rest))
}

/// The EtherType of a bare IP packet, from its version nibble.
fn ip_ethertype(packet: &[u8]) -> Result<u16, DecodeError> {
    let version = packet.first().ok_or(DecodeError::TruncatedIpHeader)? >> 4;
    match version {
        4 => Ok(ethertype::IPV4),
        6 => Ok(ethertype::IPV6),
        v => Err(DecodeError::BadIpVersion(v)),
    }
}

/// Whether `found` is the folded pseudo-header sum Linux leaves for the NIC
/// (CHECKSUM_PARTIAL; either one's-complement zero counts).
fn is_pseudo_sum(found: u16, pseudo: u16) -> bool {
    found == pseudo || (found == 0 && pseudo == 0xffff) || (found == 0xffff && pseudo == 0)
}

/// The verdict on a transport checksum whose field holds `found`, over the
/// whole `segment` plus the pseudo-header sum. Inlined so the fast path
/// pays no call per packet.
#[inline(always)]
fn transport_verdict(
    segment: &[u8],
    found: u16,
    pseudo: Option<u16>,
    zero_means_none: bool,
    hint: ChecksumHint,
) -> Verdict {
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

/// The IPv4 header checksum verdict.
fn ipv4_header_verdict(packet: &ipv4::Packet<&[u8]>) -> Verdict {
    let Some(header) = packet.header() else {
        return Verdict::NotVerified(NotVerifiedReason::Truncated);
    };
    header_verdict(header, packet.checksum())
}

/// The verdict on a whole IPv4 header whose checksum field holds `found`.
#[inline(always)]
fn header_verdict(header: &[u8], found: u16) -> Verdict {
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

/// The folded pseudo-header sum of a transport: the addresses' sum (`addresses`),
/// the protocol and the transport length (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1).
#[inline(always)]
fn pseudo_sum(addresses: u64, protocol: u8, len: usize) -> u16 {
    checksum::fold(addresses + u64::from(protocol) + (len as u64 >> 16) + (len as u64 & 0xffff))
}

struct Transport<'a> {
    protocol: u8,
    /// The L4 bytes captured (may be shorter than `len`).
    captured: &'a [u8],
    /// The L4 length the IP header declares.
    len: usize,
    /// Any fragment: the checksum covers data in other fragments.
    fragment: bool,
    /// A fragment other than the first: its bytes are the middle of the
    /// datagram, so there are no ports or headers to read in them.
    later_fragment: bool,
    v6: bool,
    /// Sum of the pseudo-header's addresses.
    pseudo: u64,
}

/// A transport's verdict, its checksum field and its ports, if it has them.
struct TransportVerdict {
    kind: Checksum,
    verdict: Verdict,
    field: Option<u16>,
    ports: Option<(u16, u16)>,
}

fn classify_transport(t: &Transport<'_>, hint: ChecksumHint) -> Option<TransportVerdict> {
    let (kind, has_pseudo) = match (t.protocol, t.v6) {
        (ip_protocol::TCP, false) => (Checksum::Tcp4, true),
        (ip_protocol::TCP, true) => (Checksum::Tcp6, true),
        (ip_protocol::UDP, false) => (Checksum::Udp4, true),
        (ip_protocol::UDP, true) => (Checksum::Udp6, true),
        (ip_protocol::ICMP, false) => (Checksum::Icmp4, false),
        (ip_protocol::ICMPV6, true) => (Checksum::Icmp6, true),
        _ => return None,
    };
    // The header, when captured and not the middle of a datagram: (ports, checksum field).
    let header = match t.protocol {
        _ if t.later_fragment => None,
        ip_protocol::TCP => tcp::Segment::new_checked(t.captured)
            .ok()
            .map(|s| (Some((s.src_port(), s.dst_port())), s.checksum())),
        ip_protocol::UDP => udp::Datagram::new_checked(t.captured)
            .ok()
            .map(|d| (Some((d.src_port(), d.dst_port())), d.checksum())),
        _ => icmp::Message::new_checked(t.captured)
            .ok()
            .map(|m| (None, m.checksum())),
    };
    let verdict = match header {
        _ if t.fragment => Verdict::NotVerified(NotVerifiedReason::Fragment),
        Some((_, found)) if t.captured.len() >= t.len => {
            let pseudo = has_pseudo.then(|| pseudo_sum(t.pseudo, t.protocol, t.len));
            transport_verdict(t.captured, found, pseudo, kind == Checksum::Udp4, hint)
        }
        _ => Verdict::NotVerified(NotVerifiedReason::Truncated),
    };
    Some(TransportVerdict {
        kind,
        verdict,
        field: header.map(|h| h.1),
        ports: header.and_then(|h| h.0),
    })
}

/// An IP layer read: its addresses, its header verdict (IPv4) and where its
/// transport is.
struct IpLayer<'a> {
    src: IpAddr,
    dst: IpAddr,
    header: Option<Verdict>,
    transport: Option<Transport<'a>>,
}

fn ipv4_layer(ip: &[u8]) -> Result<IpLayer<'_>, DecodeError> {
    let version = ip.first().ok_or(DecodeError::TruncatedIpHeader)? >> 4;
    if version != 4 {
        return Err(DecodeError::BadIpVersion(version));
    }
    let unchecked = ipv4::Packet::new_unchecked(ip);
    if unchecked.ihl() < 5 {
        return Err(DecodeError::BadHeaderLen(unchecked.ihl()));
    }
    let packet = ipv4::Packet::new_checked(ip).map_err(|_| DecodeError::TruncatedIpHeader)?;
    let transport = packet.payload_len().and_then(|len| {
        let mut t = Transport {
            protocol: packet.protocol(),
            captured: packet.payload(),
            len,
            fragment: packet.is_fragment(),
            later_fragment: packet.fragment_offset() != 0,
            v6: false,
            pseudo: u64::from(packet.addresses_sum()),
        };
        // Authentication Headers sit between IP and the transport (RFC 4302
        // §3.1); a later fragment carries none to read.
        while t.protocol == ip_protocol::AH && !t.later_fragment {
            let header = ah::Header::new_checked(t.captured).ok()?;
            let skip = header.header_len();
            t.protocol = header.next_header();
            t.captured = t.captured.get(skip..).unwrap_or(&[]);
            t.len = t.len.checked_sub(skip)?;
        }
        Some(t)
    });
    Ok(IpLayer {
        src: IpAddr::V4(packet.src_addr()),
        dst: IpAddr::V4(packet.dst_addr()),
        header: Some(ipv4_header_verdict(&packet)),
        transport,
    })
}

fn ipv6_layer(ip: &[u8]) -> Result<IpLayer<'_>, DecodeError> {
    let packet = ipv6::Packet::new_checked(ip).map_err(|_| DecodeError::TruncatedIpHeader)?;
    if packet.version() != 6 {
        return Err(DecodeError::BadIpVersion(packet.version()));
    }
    let payload = packet.payload();
    let declared = usize::from(packet.payload_len());
    let mut next = packet.next_header();
    let mut at = 0usize;
    let mut fragment = false;
    let mut later_fragment = false;
    let mut routed = false;
    // The pseudo-header's destination is the final one (RFC 8200 §8.1).
    let mut dst_sum = checksum::data(packet.dst_slice());
    // Walk the extension headers we can see; a chain that runs off the
    // captured bytes leaves the transport undecided.
    let transport = loop {
        let rest = payload.get(at..).unwrap_or(&[]);
        if next == ip_protocol::ROUTING && !routed {
            let Ok(header) = ipv6_routing::Header::new_checked(rest) else {
                break None;
            };
            // Nodes still to visit: the IPv6 destination is the next hop, the
            // list holds the final one. With none left the destination is final
            // (tcpdump uses the list even then; RFC 8200 does not).
            if header.segments_left() > 0 {
                if let Some(last) = header.final_destination() {
                    dst_sum = checksum::data(&last);
                }
            }
            routed = true;
            next = header.next_header();
            at += header.header_len();
        } else if next == ip_protocol::AH && !later_fragment {
            // Its length counts 4-byte words, not 8-byte units (RFC 4302 §2.2).
            let Ok(header) = ah::Header::new_checked(rest) else {
                break None;
            };
            next = header.next_header();
            at += header.header_len();
        } else if ipv6_ext::has_length_field(next) {
            let Ok(header) = ipv6_ext::Header::new_checked(rest) else {
                break None;
            };
            next = header.next_header();
            at += header.header_len();
        } else if next == ip_protocol::FRAGMENT {
            // Any fragment header: the checksum covers other fragments.
            let Ok(header) = ipv6_fragment::Header::new_checked(rest) else {
                break None;
            };
            fragment = true;
            later_fragment |= header.offset() != 0;
            next = header.next_header();
            at += ipv6_fragment::HEADER_LEN;
        } else {
            let Some(len) = declared.checked_sub(at) else {
                break None;
            };
            break Some(Transport {
                protocol: next,
                captured: rest,
                len,
                fragment,
                later_fragment,
                v6: true,
                pseudo: u64::from(checksum::data(packet.src_slice())) + u64::from(dst_sum),
            });
        }
    };
    Ok(IpLayer {
        src: IpAddr::V6(packet.src_addr()),
        dst: IpAddr::V6(packet.dst_addr()),
        header: None,
        transport,
    })
}

/// What a tunnel carries: an Ethernet frame or a bare IP packet (by EtherType).
#[derive(Clone, Copy)]
enum Carried<'a> {
    Ethernet(Encapsulation, &'a [u8]),
    Ip(Encapsulation, u16, &'a [u8]),
}

/// The inner packet of a tunnel whose outer transport is `t`, if it is one:
/// IPIP and 6in4 by protocol, GRE by its protocol type, VXLAN and Geneve by
/// their IANA UDP ports. Later fragments carry no headers to read.
fn carried<'a>(t: &Transport<'a>, ports: Option<(u16, u16)>) -> Option<Carried<'a>> {
    if t.later_fragment {
        return None;
    }
    let by_ethertype = |encapsulation, ethertype: u16, bytes| match ethertype {
        ethertype::TEB => Some(Carried::Ethernet(encapsulation, bytes)),
        ethertype::IPV4 | ethertype::IPV6 => Some(Carried::Ip(encapsulation, ethertype, bytes)),
        _ => None,
    };
    match t.protocol {
        ip_protocol::IPIP => Some(Carried::Ip(
            Encapsulation::Ipip,
            ethertype::IPV4,
            t.captured,
        )),
        ip_protocol::IPV6 => Some(Carried::Ip(
            Encapsulation::SixInFour,
            ethertype::IPV6,
            t.captured,
        )),
        ip_protocol::GRE => {
            let gre = gre::Header::new_checked(t.captured).ok()?;
            if gre.version() != 0 {
                return None;
            }
            by_ethertype(Encapsulation::Gre, gre.protocol(), gre.payload())
        }
        ip_protocol::UDP => {
            let payload = udp::Datagram::new_checked(t.captured).ok()?.payload();
            match ports?.1 {
                vxlan::PORT => {
                    let vxlan = vxlan::Header::new_checked(payload).ok()?;
                    Some(Carried::Ethernet(Encapsulation::Vxlan, vxlan.payload()))
                }
                geneve::PORT => {
                    let geneve = geneve::Header::new_checked(payload).ok()?;
                    by_ethertype(Encapsulation::Geneve, geneve.protocol(), geneve.payload())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// One IP layer's verdicts, and what it carries if it is a tunnel.
struct LayerVerdicts<'a> {
    endpoints: Endpoints,
    ip_header: Option<Verdict>,
    transport: Option<(Checksum, Verdict)>,
    transport_field: Option<u16>,
    carried: Option<Carried<'a>>,
}

fn layer_verdicts(
    ethertype: u16,
    ip: &[u8],
    hint: ChecksumHint,
) -> Result<LayerVerdicts<'_>, DecodeError> {
    let layer = match ethertype {
        ethertype::IPV4 => ipv4_layer(ip)?,
        ethertype::IPV6 => ipv6_layer(ip)?,
        other => return Err(DecodeError::NotIp(other)),
    };
    let mut out = LayerVerdicts {
        endpoints: Endpoints {
            src: layer.src,
            dst: layer.dst,
            src_port: None,
            dst_port: None,
        },
        ip_header: layer.header,
        transport: None,
        transport_field: None,
        carried: None,
    };
    if let Some(t) = &layer.transport {
        let verdict = classify_transport(t, hint);
        let ports = verdict.as_ref().and_then(|v| v.ports);
        if let Some(v) = verdict {
            out.endpoints.src_port = ports.map(|p| p.0);
            out.endpoints.dst_port = ports.map(|p| p.1);
            out.transport = Some((v.kind, v.verdict));
            out.transport_field = v.field;
        }
        out.carried = carried(t, ports);
    }
    Ok(out)
}

/// The verdicts of a tunnel's inner packet; None when it does not decode.
/// The kernel's hint is about the outer packet, so the inner one gets none.
fn tunnel(carried: Carried<'_>) -> Option<Tunnel> {
    let (encapsulation, ethertype, ip) = match carried {
        Carried::Ethernet(encapsulation, frame) => {
            let (ethertype, ip) = network_layer(linktype::ETHERNET, frame).ok()?;
            (encapsulation, ethertype, ip)
        }
        Carried::Ip(encapsulation, ethertype, ip) => (encapsulation, ethertype, ip),
    };
    let inner = layer_verdicts(ethertype, ip, ChecksumHint::None).ok()?;
    Some(Tunnel {
        encapsulation,
        endpoints: inner.endpoints,
        ip_header: inner.ip_header,
        transport: inner.transport,
        transport_field: inner.transport_field,
    })
}

/// Classifies one captured frame: the IPv4 header checksum and the transport
/// checksum, with the addresses and ports. `hint` is the kernel's per-packet
/// status for live captures ([`ChecksumHint::None`] for files).
///
/// ```
/// use offload_core::verdict::{classify, linktype, ChecksumHint, Checksum, Verdict};
/// use offload_core::wire::{ip_protocol, ipv4, udp};
/// // An IPv4 UDP datagram with checksum 0: "[no cksum]" in tcpdump's words.
/// let mut packet = [0u8; 28];
/// let mut ip = ipv4::Packet::new_checked(&mut packet[..]).unwrap();
/// ip.set_header_len(20);
/// ip.set_total_len(28);
/// ip.set_ttl(64);
/// ip.set_protocol(ip_protocol::UDP);
/// ip.set_src_addr([10, 0, 0, 1].into());
/// ip.set_dst_addr([10, 0, 0, 2].into());
/// ip.fill_checksum();
/// udp::Datagram::new_checked(ip.payload_mut()).unwrap().set_len(8);
/// let seen = classify(linktype::RAW, &packet, ChecksumHint::None).unwrap();
/// assert_eq!(seen.ip_header, Some(Verdict::Correct));
/// assert!(matches!(seen.transport, Some((Checksum::Udp4, Verdict::NotVerified(_)))));
/// ```
#[inline]
pub fn classify(
    link_type: u16,
    frame: &[u8],
    hint: ChecksumHint,
) -> Result<Observation, DecodeError> {
    match fast(link_type, frame, hint) {
        Some(common) => Ok(common.into()),
        None => walk(link_type, frame, hint),
    }
}

/// [`classify`] for a count of a capture: a frame that cannot be decoded
/// gives an empty observation. Returning the observation itself (not a
/// `Result`) lets the fast path write it in place, without a copy per packet.
#[inline]
pub fn classify_or_empty(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Observation {
    match classify_common(link_type, frame, hint) {
        Some(common) => common.into(),
        None => classify_uncommon(link_type, frame, hint),
    }
}

/// [`classify_or_empty`]'s first half: the one-pass fast path for the common
/// case, `None` for every other frame ([`classify_uncommon`]'s). A counter
/// that handles the two halves in separate branches keeps the common case's
/// observation in registers (one merged from both went through memory, and
/// reading it back stalled on every packet), and counts its two verdicts
/// without building a list ([`CommonObservation::counted`]).
#[inline(always)]
pub fn classify_common(
    link_type: u16,
    frame: &[u8],
    hint: ChecksumHint,
) -> Option<CommonObservation> {
    fast(link_type, frame, hint)
}

/// [`classify_or_empty`]'s second half: the general walker, for the frames
/// [`classify_common`] declined.
pub fn classify_uncommon(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Observation {
    walk(link_type, frame, hint).unwrap_or_default()
}

/// The one rule for which frames take the one-pass fast path (untagged
/// Ethernet/IPv4 is decided there); `None` sends a frame to [`walk`].
#[inline(always)]
fn fast(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Option<CommonObservation> {
    if link_type == linktype::ETHERNET {
        fast_path::ethernet_ipv4(frame, hint)
    } else {
        None
    }
}

/// The general walker: every link type, tag, extension header and tunnel.
fn walk(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Result<Observation, DecodeError> {
    let (ethertype, ip) = network_layer(link_type, frame)?;
    let outer = layer_verdicts(ethertype, ip, hint)?;
    Ok(Observation {
        endpoints: Some(outer.endpoints),
        ip_header: outer.ip_header,
        transport: outer.transport,
        transport_field: outer.transport_field,
        tunnel: outer.carried.and_then(tunnel),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 + TCP packet with a correct IP header and a TCP checksum field of
    /// `tcp_field` (the right checksum when None), written through the views.
    fn ipv4_tcp(tcp_field: Option<u16>) -> Vec<u8> {
        let mut p = vec![0u8; 40];
        let mut ip = ipv4::Packet::new_checked(&mut p[..]).unwrap();
        ip.set_header_len(20);
        ip.set_total_len(40);
        ip.set_ttl(64);
        ip.set_protocol(ip_protocol::TCP);
        ip.set_src_addr([192, 0, 2, 1].into());
        ip.set_dst_addr([192, 0, 2, 2].into());
        ip.fill_checksum();
        let mut tcp = tcp::Segment::new_checked(ip.payload_mut()).unwrap();
        tcp.set_src_port(40000);
        tcp.set_dst_port(80);
        tcp.set_header_len(20);
        let pseudo = checksum::pseudo_header_v4([192, 0, 2, 1], [192, 0, 2, 2], 6, 20);
        match tcp_field {
            Some(value) => tcp.set_checksum(value),
            None => tcp.fill_checksum(pseudo),
        }
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
        let right = ipv4_tcp(None);
        let right = tcp::Segment::new_checked(&right[20..]).unwrap().checksum();
        assert_eq!(expected, right);

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
        ipv4::Packet::new_unchecked(&mut short_ihl[..]).set_header_len(16);
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
        ethernet::Frame::new_unchecked(&mut arp[..]).set_ethertype(ethertype::ARP);
        assert_eq!(
            classify(linktype::ETHERNET, &arp, ChecksumHint::None),
            Err(DecodeError::NotIp(0x0806))
        );
    }

    #[test]
    fn lengths_beyond_the_buffer_are_not_verified_never_read() {
        let mut p = ipv4_tcp(None);
        // Total length past the capture.
        ipv4::Packet::new_unchecked(&mut p[..]).set_total_len(1500);
        let seen = classify(linktype::RAW, &p, ChecksumHint::None).unwrap();
        assert_eq!(
            seen.transport.map(|t| t.1),
            Some(Verdict::NotVerified(NotVerifiedReason::Truncated))
        );

        // IPv6 whose hop-by-hop header claims 2 KiB: the chain runs off the end.
        let mut v6 = vec![0u8; 48];
        let mut ip = ipv6::Packet::new_checked(&mut v6[..]).unwrap();
        ip.set_version_class_flow(0, 0);
        ip.set_payload_len(8);
        ip.set_next_header(ip_protocol::HOP_BY_HOP);
        let mut hop = ipv6_ext::Header::new_checked(ip.payload_mut()).unwrap();
        hop.set_next_header(ip_protocol::TCP);
        hop.set_header_len(256 * 8);
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
