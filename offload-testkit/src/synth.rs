//! Synthetic packets for tests and benchmarks: IPv4/IPv6 with TCP, UDP, ICMP or
//! ICMPv6, with a correct, offload-pending (pseudo-header sum only) or corrupted
//! transport checksum, optional VLAN tag, fragment bits and a bad IPv4 header
//! checksum. Every header is written through `offload_core::wire`'s views, the
//! ones the verdicts read with, and checksums come from `offload_core::checksum`.

use std::net::{Ipv4Addr, Ipv6Addr};

use offload_core::checksum;
use offload_core::wire::{
    ethernet, ethertype, icmp, ip_protocol, ipv4, ipv6, ipv6_fragment, tcp, udp, vlan,
};

/// What to put in the transport checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The right checksum.
    Correct,
    /// The folded pseudo-header sum, as Linux leaves it with TX checksum offload.
    OffloadPending,
    /// The right checksum with some bits flipped.
    Corrupt,
    /// Zero (for UDP over IPv4: "no checksum").
    Zero,
}

/// One packet to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// IPv6 instead of IPv4.
    pub v6: bool,
    /// 6 (TCP), 17 (UDP), 1 (ICMP) or 58 (ICMPv6); anything else gets an opaque payload.
    pub protocol: u8,
    /// Bytes after the transport header.
    pub payload: usize,
    /// Transport checksum contents.
    pub fill: Fill,
    /// Break the IPv4 header checksum.
    pub bad_ip_checksum: bool,
    /// An 802.1Q tag with this VLAN id.
    pub vlan: Option<u16>,
    /// IPv4 fragment: (more fragments, offset in 8-byte units); IPv6: adds a fragment header.
    pub fragment: Option<(bool, u16)>,
    /// Varies the addresses and ports (flow number).
    pub flow: u16,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            v6: false,
            protocol: 6,
            payload: 0,
            fill: Fill::Correct,
            bad_ip_checksum: false,
            vlan: None,
            fragment: None,
            flow: 0,
        }
    }
}

/// Bytes of the transport header of `protocol` (0 for an opaque payload).
fn transport_header_len(protocol: u8) -> usize {
    match protocol {
        ip_protocol::TCP => tcp::HEADER_LEN,
        ip_protocol::UDP => udp::HEADER_LEN,
        ip_protocol::ICMP | ip_protocol::ICMPV6 => icmp::HEADER_LEN,
        _ => 0,
    }
}

/// Writes the transport header and payload into `seg` (exactly its length) and
/// fills its checksum field as `spec.fill` says; `pseudo` is the folded
/// pseudo-header sum (0 for ICMP over IPv4).
fn write_transport(spec: &Spec, seg: &mut [u8], pseudo: u16) {
    let header = transport_header_len(spec.protocol);
    for (i, b) in seg[header..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(spec.flow as u8);
    }
    let sport = 40000 + spec.flow;
    let len = seg.len();
    // The right checksum first, then what the spec asks for in its place.
    let correct = match spec.protocol {
        ip_protocol::TCP => {
            let mut t = tcp::Segment::new_checked(&mut *seg).expect("TCP header room");
            t.set_src_port(sport);
            t.set_dst_port(80);
            t.set_seq(0x0102_0304);
            t.set_header_len(tcp::HEADER_LEN);
            t.set_flags(tcp::PSH | tcp::ACK);
            t.set_window(64240);
            t.fill_checksum(pseudo);
            t.checksum()
        }
        ip_protocol::UDP => {
            let mut d = udp::Datagram::new_checked(&mut *seg).expect("UDP header room");
            d.set_src_port(sport);
            d.set_dst_port(5001);
            d.set_len(len as u16);
            d.fill_checksum(pseudo);
            d.checksum()
        }
        ip_protocol::ICMP | ip_protocol::ICMPV6 => {
            let mut m = icmp::Message::new_checked(&mut *seg).expect("ICMP header room");
            let echo = if spec.protocol == ip_protocol::ICMP {
                icmp::ECHO_REQUEST_V4
            } else {
                icmp::ECHO_REQUEST_V6
            };
            m.set_type_code(echo, 0);
            m.set_echo(spec.flow, 0);
            m.fill_checksum(pseudo);
            m.checksum()
        }
        _ => return,
    };
    let value = match spec.fill {
        Fill::Correct => correct,
        Fill::OffloadPending => pseudo,
        Fill::Corrupt => correct ^ 0x5a5a,
        Fill::Zero => 0,
    };
    // Type, code and ports sit before the field in every header: rewrite only it.
    match spec.protocol {
        ip_protocol::TCP => tcp::Segment::new_unchecked(seg).set_checksum(value),
        ip_protocol::UDP => udp::Datagram::new_unchecked(seg).set_checksum(value),
        _ => icmp::Message::new_unchecked(seg).set_checksum(value),
    }
}

/// The IP packet (no link header).
pub fn ip_packet(spec: &Spec) -> Vec<u8> {
    let f = spec.flow.to_be_bytes();
    let seg_len = transport_header_len(spec.protocol) + spec.payload;
    if !spec.v6 {
        let src = Ipv4Addr::new(10, 0, f[0], f[1]);
        let dst = Ipv4Addr::new(10, 1, 0, 2);
        let mut bytes = vec![0u8; ipv4::HEADER_LEN + seg_len];
        let mut ip = ipv4::Packet::new_checked(&mut bytes[..]).expect("IPv4 header room");
        ip.set_header_len(ipv4::HEADER_LEN);
        ip.set_total_len((ipv4::HEADER_LEN + seg_len) as u16);
        ip.set_ident(spec.flow);
        let (mf, offset) = spec.fragment.unwrap_or((false, 0));
        ip.set_fragment(spec.fragment.is_none(), mf, offset << 3);
        ip.set_ttl(64);
        ip.set_protocol(spec.protocol);
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        let pseudo = if spec.protocol == ip_protocol::ICMP {
            0
        } else {
            checksum::pseudo_header_v4(src.octets(), dst.octets(), spec.protocol, seg_len as u16)
        };
        write_transport(spec, ip.payload_mut(), pseudo);
        ip.fill_checksum();
        if spec.bad_ip_checksum {
            let broken = ip.checksum() ^ 0x0101;
            ip.set_checksum(broken);
        }
        bytes
    } else {
        let src = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, spec.flow);
        let dst = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
        let ext_len = if spec.fragment.is_some() {
            ipv6_fragment::HEADER_LEN
        } else {
            0
        };
        let mut bytes = vec![0u8; ipv6::HEADER_LEN + ext_len + seg_len];
        let mut ip = ipv6::Packet::new_checked(&mut bytes[..]).expect("IPv6 header room");
        ip.set_version_class_flow(0, 0);
        ip.set_payload_len((ext_len + seg_len) as u16);
        ip.set_hop_limit(64);
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        let pseudo =
            checksum::pseudo_header_v6(&src.octets(), &dst.octets(), spec.protocol, seg_len as u32);
        let payload = ip.payload_mut();
        if let Some((mf, offset)) = spec.fragment {
            let mut frag = ipv6_fragment::Header::new_checked(&mut payload[..ext_len])
                .expect("fragment header room");
            frag.set_next_header(spec.protocol);
            frag.set_offset(offset << 3, mf);
            frag.set_ident(u32::from(spec.flow));
        }
        write_transport(spec, &mut payload[ext_len..], pseudo);
        let first = if spec.fragment.is_some() {
            ip_protocol::FRAGMENT
        } else {
            spec.protocol
        };
        ipv6::Packet::new_unchecked(&mut bytes[..]).set_next_header(first);
        bytes
    }
}

/// The packet in an Ethernet frame (with the VLAN tag, if any).
pub fn ethernet_frame(spec: &Spec) -> Vec<u8> {
    let ip = ip_packet(spec);
    let tag_len = if spec.vlan.is_some() {
        vlan::HEADER_LEN
    } else {
        0
    };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + tag_len + ip.len()];
    let mut eth = ethernet::Frame::new_checked(&mut frame[..]).expect("Ethernet header room");
    eth.set_destination([0x02, 0, 0, 0, 0, 0x02]);
    eth.set_source([0x02, 0, 0, 0, 0, 0x01]);
    let ip_type = if spec.v6 {
        ethertype::IPV6
    } else {
        ethertype::IPV4
    };
    let rest = match spec.vlan {
        Some(vid) => {
            eth.set_ethertype(ethertype::VLAN);
            let mut tag = vlan::Tag::new_checked(eth.payload_mut()).expect("tag room");
            tag.set_tci(0, vid);
            tag.set_ethertype(ip_type);
            &mut frame[ethernet::HEADER_LEN + tag_len..]
        }
        None => {
            eth.set_ethertype(ip_type);
            &mut frame[ethernet::HEADER_LEN..]
        }
    };
    rest.copy_from_slice(&ip);
    frame
}
