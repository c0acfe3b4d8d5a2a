//! Synthetic packets for tests and benchmarks: IPv4/IPv6 with TCP, UDP, ICMP or
//! ICMPv6, with a correct, offload-pending (pseudo-header sum only) or corrupted
//! transport checksum, optional VLAN tag, fragment bits and a bad IPv4 header
//! checksum. Every header is written through `offload_core::wire`'s views, the
//! ones the verdicts read with, and checksums come from `offload_core::checksum`.

use std::net::{Ipv4Addr, Ipv6Addr};

use offload_core::checksum;
use offload_core::wire::{
    ah, ethernet, ethertype, geneve, gre, icmp, ip_protocol, ipv4, ipv6, ipv6_ext, ipv6_fragment,
    ipv6_routing, tcp, udp, vlan, vxlan,
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
    /// IPv6 only: a routing header before the transport.
    pub routing: Option<Routing>,
    /// An IPsec Authentication Header ([`AH_LEN`] bytes) right before the
    /// transport (after a routing or fragment header in IPv6).
    pub ah: bool,
}

/// Bytes of the Authentication Header [`Spec::ah`] adds: the fixed part and a
/// 12-byte ICV (HMAC-SHA1-96), a multiple of 8 as IPv6 requires.
pub const AH_LEN: usize = 24;

/// An IPv6 routing header to put in a packet. With segments left the IPv6
/// destination is an intermediate node (`fd00::99`) and the list carries the
/// final one where its type keeps it (the last address for types 0 and 2,
/// segment list `[0]` for type 4); with none left the destination is final and
/// the list holds nodes already visited. The transport checksum always covers
/// the final destination (RFC 8200 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    /// Routing type: 0, 2 or 4.
    pub kind: u8,
    /// Nodes still to visit.
    pub segments_left: u8,
}

impl Routing {
    /// The addresses the header lists (type 2 holds exactly one).
    fn addresses(&self, final_destination: Ipv6Addr) -> Vec<Ipv6Addr> {
        let visited = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x98);
        let next_hop = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x99);
        match (self.kind, self.segments_left) {
            (ipv6_routing::TYPE_MOBILE, 0) => vec![visited],
            (ipv6_routing::TYPE_MOBILE, _) => vec![final_destination],
            (_, 0) => vec![visited, next_hop],
            (ipv6_routing::TYPE_SEGMENT_ROUTING, _) => vec![final_destination, next_hop],
            _ => vec![next_hop, final_destination],
        }
    }

    /// Bytes of the header with its addresses.
    fn len(&self) -> usize {
        ipv6_routing::HEADER_LEN + 16 * self.addresses(Ipv6Addr::UNSPECIFIED).len()
    }
}

/// A tunnel to wrap a packet in, inside an outer IPv4 packet from 192.0.2.1 to
/// 192.0.2.2 whose own checksums are right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    /// IPv4 in IPv4 (protocol 4).
    Ipip,
    /// IPv6 in IPv4 (protocol 41).
    SixInFour,
    /// GRE (protocol 47) with or without its checksum and key fields.
    Gre {
        /// The GRE checksum field present (and right).
        checksum: bool,
        /// The key field present.
        key: bool,
    },
    /// VXLAN (UDP port 4789) carrying an Ethernet frame.
    Vxlan,
    /// Geneve (UDP port 6081) carrying an Ethernet frame, with 4 bytes of options.
    Geneve,
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
            routing: None,
            ah: false,
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

/// An Authentication Header in `bytes` ([`AH_LEN`] long) naming the
/// transport; the ICV is a fixed pattern (nothing here verifies it).
fn write_ah(bytes: &mut [u8], spec: &Spec) {
    bytes[ah::FIXED_LEN..].fill(0xa5);
    ah::Header::new_checked(bytes).expect("AH room").set_header(
        spec.protocol,
        AH_LEN,
        0x1000 + u32::from(spec.flow),
        1,
    );
}

/// The IP packet (no link header).
pub fn ip_packet(spec: &Spec) -> Vec<u8> {
    let f = spec.flow.to_be_bytes();
    let seg_len = transport_header_len(spec.protocol) + spec.payload;
    let ah_len = if spec.ah { AH_LEN } else { 0 };
    if !spec.v6 {
        let src = Ipv4Addr::new(10, 0, f[0], f[1]);
        let dst = Ipv4Addr::new(10, 1, 0, 2);
        let mut bytes = vec![0u8; ipv4::HEADER_LEN + ah_len + seg_len];
        let mut ip = ipv4::Packet::new_checked(&mut bytes[..]).expect("IPv4 header room");
        ip.set_header_len(ipv4::HEADER_LEN);
        ip.set_total_len((ipv4::HEADER_LEN + ah_len + seg_len) as u16);
        ip.set_ident(spec.flow);
        let (mf, offset) = spec.fragment.unwrap_or((false, 0));
        ip.set_fragment(spec.fragment.is_none(), mf, offset << 3);
        ip.set_ttl(64);
        ip.set_protocol(if spec.ah {
            ip_protocol::AH
        } else {
            spec.protocol
        });
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        let pseudo = if spec.protocol == ip_protocol::ICMP {
            0
        } else {
            checksum::pseudo_header_v4(src.octets(), dst.octets(), spec.protocol, seg_len as u16)
        };
        let payload = ip.payload_mut();
        if spec.ah {
            write_ah(&mut payload[..AH_LEN], spec);
        }
        write_transport(spec, &mut payload[ah_len..], pseudo);
        ip.fill_checksum();
        if spec.bad_ip_checksum {
            let broken = ip.checksum() ^ 0x0101;
            ip.set_checksum(broken);
        }
        bytes
    } else {
        let src = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, spec.flow);
        let final_dst = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
        let routing_len = spec.routing.map_or(0, |r| r.len());
        let fragment_len = if spec.fragment.is_some() {
            ipv6_fragment::HEADER_LEN
        } else {
            0
        };
        let ext_len = routing_len + fragment_len + ah_len;
        let mut bytes = vec![0u8; ipv6::HEADER_LEN + ext_len + seg_len];
        let mut ip = ipv6::Packet::new_checked(&mut bytes[..]).expect("IPv6 header room");
        ip.set_version_class_flow(0, 0);
        ip.set_payload_len((ext_len + seg_len) as u16);
        ip.set_hop_limit(64);
        ip.set_src_addr(src);
        let mut dst = final_dst;
        let pseudo = checksum::pseudo_header_v6(
            &src.octets(),
            &final_dst.octets(),
            spec.protocol,
            seg_len as u32,
        );
        let payload = ip.payload_mut();
        // The chain: [routing] [fragment] transport.
        let mut next_headers = Vec::new();
        if let Some(routing) = spec.routing {
            let addresses = routing.addresses(final_dst);
            let mut header = ipv6_routing::Header::new_checked(&mut payload[..routing_len])
                .expect("routing header room");
            header.set_route(routing.kind, addresses.len(), routing.segments_left);
            for (i, a) in addresses.iter().enumerate() {
                header.set_address(i, a.octets());
            }
            if routing.segments_left > 0 {
                dst = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x99);
            }
            next_headers.push((ip_protocol::ROUTING, 0));
        }
        if let Some((mf, offset)) = spec.fragment {
            let end = routing_len + fragment_len;
            let mut frag = ipv6_fragment::Header::new_checked(&mut payload[routing_len..end])
                .expect("fragment header room");
            frag.set_offset(offset << 3, mf);
            frag.set_ident(u32::from(spec.flow));
            next_headers.push((ip_protocol::FRAGMENT, routing_len));
        }
        if spec.ah {
            let at = routing_len + fragment_len;
            write_ah(&mut payload[at..ext_len], spec);
            next_headers.push((ip_protocol::AH, at));
        }
        write_transport(spec, &mut payload[ext_len..], pseudo);
        // Each header names the next; the last one names the transport.
        let mut after = spec.protocol;
        for &(kind, at) in next_headers.iter().rev() {
            ipv6_ext::Header::new_unchecked(&mut payload[at..]).set_next_header(after);
            after = kind;
        }
        let mut ip = ipv6::Packet::new_unchecked(&mut bytes[..]);
        ip.set_next_header(after);
        ip.set_dst_addr(dst);
        bytes
    }
}

/// `ip` in an Ethernet frame, with an 802.1Q tag if `vlan` is given.
fn ethernet_around(ip: &[u8], v6: bool, vlan: Option<u16>) -> Vec<u8> {
    let tag_len = if vlan.is_some() { vlan::HEADER_LEN } else { 0 };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + tag_len + ip.len()];
    let mut eth = ethernet::Frame::new_checked(&mut frame[..]).expect("Ethernet header room");
    eth.set_destination([0x02, 0, 0, 0, 0, 0x02]);
    eth.set_source([0x02, 0, 0, 0, 0, 0x01]);
    let ip_type = if v6 { ethertype::IPV6 } else { ethertype::IPV4 };
    match vlan {
        Some(vid) => {
            eth.set_ethertype(ethertype::VLAN);
            let mut tag = vlan::Tag::new_checked(eth.payload_mut()).expect("tag room");
            tag.set_tci(0, vid);
            tag.set_ethertype(ip_type);
        }
        None => eth.set_ethertype(ip_type),
    }
    frame[ethernet::HEADER_LEN + tag_len..].copy_from_slice(ip);
    frame
}

/// The packet in an Ethernet frame (with the VLAN tag, if any).
pub fn ethernet_frame(spec: &Spec) -> Vec<u8> {
    ethernet_around(&ip_packet(spec), spec.v6, spec.vlan)
}

/// The packet (its Ethernet frame for VXLAN and Geneve) carried by `tunnel` in an
/// outer IPv4 packet with right checksums, in an Ethernet frame.
pub fn tunneled_frame(spec: &Spec, tunnel: Tunnel) -> Vec<u8> {
    let inner_ip = ip_packet(spec);
    let ip_type = if spec.v6 {
        ethertype::IPV6
    } else {
        ethertype::IPV4
    };
    let (protocol, mut payload) = match tunnel {
        Tunnel::Ipip => (ip_protocol::IPIP, inner_ip),
        Tunnel::SixInFour => (ip_protocol::IPV6, inner_ip),
        Tunnel::Gre { checksum, key } => {
            let len = gre::HEADER_LEN + 4 * (usize::from(checksum) + usize::from(key));
            let mut bytes = vec![0u8; len];
            bytes.extend_from_slice(&inner_ip);
            let mut gre = gre::Header::new_unchecked(&mut bytes[..]);
            gre.set_header(checksum, key.then_some(0x0000_2a2a), false, ip_type);
            gre.fill_checksum();
            (ip_protocol::GRE, bytes)
        }
        Tunnel::Vxlan | Tunnel::Geneve => {
            let inner = ethernet_around(&inner_ip, spec.v6, None);
            let (header_len, port) = match tunnel {
                Tunnel::Vxlan => (vxlan::HEADER_LEN, vxlan::PORT),
                _ => (geneve::HEADER_LEN + 4, geneve::PORT),
            };
            let mut bytes = vec![0u8; udp::HEADER_LEN + header_len];
            bytes.extend_from_slice(&inner);
            let mut datagram = udp::Datagram::new_unchecked(&mut bytes[..]);
            datagram.set_src_port(50000 + spec.flow);
            datagram.set_dst_port(port);
            match tunnel {
                Tunnel::Vxlan => vxlan::Header::new_unchecked(datagram.payload_mut()).set_vni(42),
                _ => geneve::Header::new_unchecked(datagram.payload_mut()).set_header(
                    4,
                    ethertype::TEB,
                    42,
                ),
            }
            (ip_protocol::UDP, bytes)
        }
    };
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let dst = Ipv4Addr::new(192, 0, 2, 2);
    if protocol == ip_protocol::UDP {
        let len = payload.len();
        let mut datagram = udp::Datagram::new_unchecked(&mut payload[..]);
        datagram.set_len(len as u16);
        datagram.fill_checksum(checksum::pseudo_header_v4(
            src.octets(),
            dst.octets(),
            protocol,
            len as u16,
        ));
    }
    let mut outer = vec![0u8; ipv4::HEADER_LEN + payload.len()];
    let mut ip = ipv4::Packet::new_unchecked(&mut outer[..]);
    ip.set_header_len(ipv4::HEADER_LEN);
    ip.set_total_len((ipv4::HEADER_LEN + payload.len()) as u16);
    ip.set_ident(spec.flow);
    ip.set_fragment(true, false, 0);
    ip.set_ttl(64);
    ip.set_protocol(protocol);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.payload_mut().copy_from_slice(&payload);
    ip.fill_checksum();
    ethernet_around(&outer, false, None)
}
