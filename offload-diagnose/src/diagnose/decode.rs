//! From a captured frame to an [`Observation`]: offload-core's
//! [`classify`](offload_core::verdict::classify) does the walking and the
//! verdicts; an undecodable frame becomes an empty observation (counted as
//! undecoded by the diagnosis).

use offload_core::verdict;

use super::{ChecksumHint, Observation};

/// Classifies one frame: the IPv4 header checksum and the transport checksum;
/// a frame core cannot decode gives an empty observation.
pub fn classify(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Observation {
    verdict::classify(link_type, frame, hint).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Protocol;
    use crate::pcap::linktype;
    use offload_core::verdict::Verdict;
    use offload_testkit::synth::{ethernet_frame, ip_packet, Fill, Spec};

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
