//! From a captured frame to checksum verdicts: link layer (Ethernet with VLAN
//! tags, Linux cooked SLL/SLL2, BSD loopback, raw IP), IPv4 (header checksum,
//! fragments) and IPv6 (extension headers, fragments), then the TCP, UDP, ICMP and
//! ICMPv6 checksums, following tcpdump's rules for when a checksum is verified.
//!
//! The arithmetic is `offload_core::checksum`. This module only walks headers;
//! `offload_core::verdict::classify` is meant to take it over once it exists.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use offload_core::checksum;
use offload_core::verdict::{NotVerifiedReason, Verdict};

use super::{ChecksumHint, Endpoints, Observation, Protocol};
use crate::pcap::linktype;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The network-layer packet inside a frame: (ethertype, bytes from the IP header on).
fn network_layer(link_type: u16, frame: &[u8]) -> Option<(u16, &[u8])> {
    let (mut ethertype, mut rest) = match link_type {
        linktype::ETHERNET => (be16(frame, 12)?, frame.get(14..)?),
        linktype::LINUX_SLL => (be16(frame, 14)?, frame.get(16..)?),
        linktype::LINUX_SLL2 => (be16(frame, 0)?, frame.get(20..)?),
        linktype::NULL | linktype::LOOP => {
            let family = u32::from_le_bytes(frame.get(..4)?.try_into().ok()?);
            let family = if family > 0xffff {
                family.swap_bytes()
            } else {
                family
            };
            let ethertype = match family {
                2 => 0x0800,
                10 | 24 | 28 | 30 => 0x86dd,
                _ => return None,
            };
            (ethertype, frame.get(4..)?)
        }
        linktype::RAW
        | linktype::RAW_BSD_12
        | linktype::RAW_BSD_14
        | linktype::IPV4
        | linktype::IPV6 => {
            let ethertype = match frame.first()? >> 4 {
                4 => 0x0800,
                6 => 0x86dd,
                _ => return None,
            };
            (ethertype, frame)
        }
        _ => return None,
    };
    // 802.1Q / 802.1ad / QinQ tags.
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        ethertype = be16(rest, 2)?;
        rest = rest.get(4..)?;
    }
    Some((ethertype, rest))
}

/// Whether `found` is the folded pseudo-header sum Linux leaves for the NIC
/// (either ones'-complement zero counts).
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
    let expected = checksum::shouldbe(found, sum);
    if sum == 0xffff {
        return Verdict::Correct;
    }
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
    pseudo: u64,
}

/// A transport checksum verdict and the ports, if the protocol has them.
type TransportVerdict = (Protocol, Verdict, Option<(u16, u16)>);

fn classify_transport(t: Transport<'_>, hint: ChecksumHint) -> Option<TransportVerdict> {
    let (protocol, field, has_pseudo, ports) = match (t.protocol, t.v6) {
        (6, false) => (Protocol::Tcp4, 16, true, true),
        (6, true) => (Protocol::Tcp6, 16, true, true),
        (17, false) => (Protocol::Udp4, 6, true, true),
        (17, true) => (Protocol::Udp6, 6, true, true),
        (1, false) => (Protocol::Icmp4, 2, false, false),
        (58, true) => (Protocol::Icmp6, 2, true, false),
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
        transport_verdict(segment, field, pseudo, protocol == Protocol::Udp4, hint)
    };
    Some((protocol, verdict, port_pair))
}

/// Classifies one frame: the IPv4 header checksum and the transport checksum.
pub fn classify(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Observation {
    let mut observation = Observation::default();
    let Some((ethertype, ip)) = network_layer(link_type, frame) else {
        return observation;
    };
    let (src, dst, transport) = match ethertype {
        0x0800 => {
            let Some(&first) = ip.first() else {
                return observation;
            };
            let ihl = usize::from(first & 0x0f) * 4;
            if first >> 4 != 4 || ihl < 20 || ip.len() < 20 {
                return observation;
            }
            let total = usize::from(be16(ip, 2).unwrap_or(0));
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            if let Some(header) = ip.get(..ihl) {
                let found = be16(header, 10).unwrap_or(0);
                let sum = checksum::data(header);
                observation.ip_header = Some(if sum == 0xffff {
                    Verdict::Correct
                } else {
                    Verdict::Incorrect {
                        found,
                        expected: checksum::shouldbe(found, sum),
                    }
                });
            } else {
                observation.ip_header = Some(Verdict::NotVerified(NotVerifiedReason::Truncated));
            }
            let flags_offset = be16(ip, 6).unwrap_or(0);
            let fragment = flags_offset & 0x3fff != 0;
            if total < ihl {
                (IpAddr::V4(src), IpAddr::V4(dst), None)
            } else {
                let end = total.min(ip.len());
                let pseudo = checksum::accumulate(&ip[12..20]);
                let captured = ip.get(ihl..end).unwrap_or(&[]);
                (
                    IpAddr::V4(src),
                    IpAddr::V4(dst),
                    Some(Transport {
                        protocol: ip[9],
                        captured,
                        len: total - ihl,
                        fragment,
                        v6: false,
                        pseudo,
                    }),
                )
            }
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return observation;
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
            // Walk the extension headers we can see.
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
                        let captured = ip.get(at..end).unwrap_or(&[]);
                        break Some(Transport {
                            protocol: next,
                            captured,
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
        _ => return observation,
    };
    let mut endpoints = Endpoints {
        src,
        dst,
        src_port: None,
        dst_port: None,
    };
    if let Some(t) = transport {
        if let Some((protocol, verdict, ports)) = classify_transport(t, hint) {
            if let Some((sp, dp)) = ports {
                endpoints.src_port = Some(sp);
                endpoints.dst_port = Some(dp);
            }
            observation.transport = Some((protocol, verdict));
        }
    }
    observation.endpoints = Some(endpoints);
    observation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::synth::{ethernet_frame, ip_packet, Fill, Spec};

    fn wrap(link_type: u16, ip: &[u8], v6: bool) -> Vec<u8> {
        let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let mut frame = match link_type {
            linktype::LINUX_SLL => {
                let mut h = vec![0u8; 14];
                h[1] = 4; // outgoing
                h.extend_from_slice(&ethertype);
                h
            }
            linktype::LINUX_SLL2 => {
                let mut h = vec![0u8; 20];
                h[..2].copy_from_slice(&ethertype);
                h
            }
            linktype::NULL => (if v6 { 30u32 } else { 2u32 }).to_le_bytes().to_vec(),
            linktype::LOOP => (if v6 { 30u32 } else { 2u32 }).to_be_bytes().to_vec(),
            _ => Vec::new(),
        };
        frame.extend_from_slice(ip);
        frame
    }

    #[test]
    fn every_link_type_gives_the_same_verdicts() {
        for v6 in [false, true] {
            for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
                let spec = Spec {
                    v6,
                    protocol: 17,
                    payload: 33,
                    fill,
                    ..Spec::default()
                };
                let reference = classify(
                    linktype::ETHERNET,
                    &ethernet_frame(&spec),
                    ChecksumHint::None,
                );
                assert!(reference.transport.is_some());
                let ip = ip_packet(&spec);
                for lt in [
                    linktype::LINUX_SLL,
                    linktype::LINUX_SLL2,
                    linktype::NULL,
                    linktype::LOOP,
                    linktype::RAW,
                    if v6 { linktype::IPV6 } else { linktype::IPV4 },
                ] {
                    let got = classify(lt, &wrap(lt, &ip, v6), ChecksumHint::None);
                    assert_eq!(got, reference, "link type {lt}, {spec:?}");
                }
                let tagged = Spec {
                    vlan: Some(42),
                    ..spec
                };
                let got = classify(
                    linktype::ETHERNET,
                    &ethernet_frame(&tagged),
                    ChecksumHint::None,
                );
                assert_eq!(got, reference, "802.1Q");
            }
        }
    }

    #[test]
    fn kernel_hint_makes_a_pending_checksum_certain() {
        // A corrupt-looking field on a packet the kernel marked CSUMNOTREADY is the
        // NIC's to fill in, whatever it holds.
        let spec = Spec {
            protocol: 6,
            fill: Fill::Corrupt,
            ..Spec::default()
        };
        let frame = ethernet_frame(&spec);
        let plain = classify(linktype::ETHERNET, &frame, ChecksumHint::None);
        let hinted = classify(linktype::ETHERNET, &frame, ChecksumHint::NotReady);
        assert!(matches!(
            plain.transport,
            Some((Protocol::Tcp4, Verdict::Incorrect { .. }))
        ));
        assert!(matches!(
            hinted.transport,
            Some((Protocol::Tcp4, Verdict::OffloadPending { .. }))
        ));
    }

    #[test]
    fn short_and_garbage_frames_are_undecoded_not_panics() {
        for len in 0..80 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for lt in [
                linktype::ETHERNET,
                linktype::RAW,
                linktype::LINUX_SLL2,
                linktype::NULL,
            ] {
                let _ = classify(lt, &junk, ChecksumHint::None);
            }
        }
        let mut frame = ethernet_frame(&Spec::default());
        frame.truncate(30);
        let o = classify(linktype::ETHERNET, &frame, ChecksumHint::None);
        assert!(o.transport.is_none());
    }
}
