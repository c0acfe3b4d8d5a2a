//! The common case in one pass: an untagged Ethernet frame carrying an
//! unfragmented IPv4 packet without options and a TCP or UDP segment that is
//! not a tunnel. Almost every packet of a busy link is one; the general walker
//! ([`super::classify`]) takes everything else. The verdicts come from the
//! same helpers, and a test holds the two paths to the same answers.

use core::net::IpAddr;

use super::{
    header_verdict, pseudo_sum, transport_verdict, Checksum, ChecksumHint, CommonObservation,
    Endpoints, NotVerifiedReason, Verdict,
};
use crate::wire::{ethernet, ethertype, geneve, ip_protocol, ipv4, tcp, udp, vxlan};

/// The observation of `frame` (Ethernet) if it is the common case; `None`
/// sends it to the general walker.
#[inline(always)]
pub(super) fn ethernet_ipv4(frame: &[u8], hint: ChecksumHint) -> Option<CommonObservation> {
    let link = ethernet::Frame::new_checked(frame).ok()?;
    if link.ethertype() != ethertype::IPV4 {
        return None;
    }
    let ip_bytes = link.payload();
    // The fixed header as an array: every accessor below is in bounds.
    let header: &[u8; ipv4::HEADER_LEN] = ip_bytes.get(..ipv4::HEADER_LEN)?.try_into().ok()?;
    let ip = ipv4::Packet::new_unchecked(header);
    if ip.version() != 4 || ip.header_len() != ipv4::HEADER_LEN || ip.is_fragment() {
        return None;
    }
    let protocol = ip.protocol();
    let total = usize::from(ip.total_len());
    // A total length shorter than the header leaves no transport: the general path.
    let len = total.checked_sub(ipv4::HEADER_LEN)?;
    let captured = ip_bytes.get(ipv4::HEADER_LEN..total.min(ip_bytes.len()))?;
    // The transport header, when captured: (kind, ports, checksum field).
    let (kind, fields) = match protocol {
        ip_protocol::TCP => (
            Checksum::Tcp4,
            tcp::Segment::new_checked(captured)
                .ok()
                .map(|s| (s.src_port(), s.dst_port(), s.checksum())),
        ),
        ip_protocol::UDP => {
            let fields = udp::Datagram::new_checked(captured)
                .ok()
                .map(|d| (d.src_port(), d.dst_port(), d.checksum()));
            // A tunnel's inner packet is the general walker's.
            if matches!(fields, Some((_, vxlan::PORT | geneve::PORT, _))) {
                return None;
            }
            (Checksum::Udp4, fields)
        }
        _ => return None,
    };
    let verdict = match fields {
        Some((_, _, found)) if captured.len() >= len => {
            let pseudo = pseudo_sum(u64::from(ip.addresses_sum()), protocol, len);
            transport_verdict(captured, found, Some(pseudo), kind == Checksum::Udp4, hint)
        }
        _ => Verdict::NotVerified(NotVerifiedReason::Truncated),
    };
    Some(CommonObservation {
        endpoints: Endpoints {
            src: IpAddr::V4(ip.src_addr()),
            dst: IpAddr::V4(ip.dst_addr()),
            src_port: fields.map(|f| f.0),
            dst_port: fields.map(|f| f.1),
        },
        ip_header: header_verdict(header, ip.checksum()),
        transport: (kind, verdict),
        transport_field: fields.map(|f| f.2),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{linktype, walk};
    use super::*;
    use crate::checksum;

    /// An Ethernet frame with an IPv4 packet of `protocol` and `payload` bytes
    /// after a 20-byte (TCP) or 8-byte (UDP) header, checksums filled in.
    fn frame(protocol: u8, payload: usize, dst_port: u16) -> [u8; 256] {
        let mut f = [0u8; 256];
        ethernet::Frame::new_unchecked(&mut f[..]).set_ethertype(ethertype::IPV4);
        let l4 = if protocol == ip_protocol::UDP { 8 } else { 20 } + payload;
        let mut ip = ipv4::Packet::new_unchecked(&mut f[ethernet::HEADER_LEN..]);
        ip.set_header_len(20);
        ip.set_total_len((20 + l4) as u16);
        ip.set_ttl(64);
        ip.set_protocol(protocol);
        ip.set_src_addr([198, 51, 100, 7].into());
        ip.set_dst_addr([203, 0, 113, 9].into());
        ip.fill_checksum();
        let pseudo =
            checksum::pseudo_header_v4([198, 51, 100, 7], [203, 0, 113, 9], protocol, l4 as u16);
        let segment = &mut ip.payload_mut()[..l4];
        for (i, b) in segment.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        if protocol == ip_protocol::UDP {
            let mut d = udp::Datagram::new_unchecked(&mut segment[..]);
            d.set_dst_port(dst_port);
            d.set_len(l4 as u16);
            d.fill_checksum(pseudo);
        } else {
            let mut s = tcp::Segment::new_unchecked(&mut segment[..]);
            s.set_dst_port(dst_port);
            s.set_header_len(20);
            s.fill_checksum(pseudo);
        }
        f
    }

    /// Wherever the fast path answers, the general walker gives the same answer:
    /// on well-formed frames of every size and on frames with bytes of the
    /// Ethernet, IP and transport headers (and the snap length) scrambled.
    #[test]
    fn agrees_with_the_general_walker() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut answered = 0;
        for protocol in [ip_protocol::TCP, ip_protocol::UDP, ip_protocol::ICMP] {
            for payload in [0usize, 1, 2, 3, 17, 100, 180] {
                for port in [80, vxlan::PORT, geneve::PORT] {
                    let base = frame(protocol, payload, port);
                    let full = ethernet::HEADER_LEN + 20 + 20 + payload;
                    for round in 0..400 {
                        let mut f = base;
                        // Round 0 as built; then 1..=3 bytes of the first 60 changed.
                        for _ in 0..(round % 4) {
                            let at = (random() % 60) as usize;
                            f[at] = random() as u8;
                        }
                        // Mostly the whole frame, sometimes a snaplen cut.
                        let len = if round % 5 == 0 {
                            (random() as usize) % (full + 1)
                        } else {
                            full
                        };
                        let bytes = &f[..len];
                        for hint in [ChecksumHint::None, ChecksumHint::NotReady] {
                            if let Some(fast) = ethernet_ipv4(bytes, hint) {
                                answered += 1;
                                let general = walk(linktype::ETHERNET, bytes, hint);
                                assert_eq!(Ok(fast.into()), general, "{bytes:02x?}");
                                let counted = general.map(|o| o.counted());
                                assert_eq!(
                                    counted.as_ref().map(|c| c.as_slice()),
                                    Ok(&fast.counted()[..])
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(
            answered > 5_000,
            "the fast path answered only {answered} times"
        );
    }
}
