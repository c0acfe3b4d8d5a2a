//! Tests of a captured frame's way to an [`Observation`] as the diagnosis
//! takes it: offload-core's [`classify`](offload_core::verdict::classify) does
//! the walking and the verdicts on every link type; an undecodable frame
//! becomes an empty observation (counted as undecoded by the diagnosis).

use offload_core::verdict;

use super::{ChecksumHint, Observation};

/// Classifies one frame: the IPv4 header checksum and the transport checksum;
/// a frame core cannot decode gives an empty observation.
pub fn classify(link_type: u16, frame: &[u8], hint: ChecksumHint) -> Observation {
    verdict::classify_or_empty(link_type, frame, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Protocol;
    use crate::pcap::linktype;
    use offload_core::verdict::Verdict;
    use offload_core::wire::{ethertype, loopback, sll};
    use offload_testkit::synth::{ethernet_frame, ip_packet, Fill, Spec};

    /// `ip` behind the link-layer header of `link_type`, written through core's views.
    fn wrap(link_type: u16, ip: &[u8], v6: bool) -> Vec<u8> {
        let ethertype = if v6 { ethertype::IPV6 } else { ethertype::IPV4 };
        let family = if v6 { 30 } else { 2 }; // macOS's AF_INET6; AF_INET everywhere
        let header_len = match link_type {
            linktype::LINUX_SLL => sll::V1_HEADER_LEN,
            linktype::LINUX_SLL2 => sll::V2_HEADER_LEN,
            linktype::NULL | linktype::LOOP => loopback::HEADER_LEN,
            _ => 0,
        };
        let mut frame = vec![0u8; header_len + ip.len()];
        match link_type {
            linktype::LINUX_SLL => sll::Sll::new_unchecked(&mut frame[..]).set_protocol(ethertype),
            linktype::LINUX_SLL2 => {
                sll::Sll2::new_unchecked(&mut frame[..]).set_protocol(ethertype)
            }
            linktype::NULL => {
                loopback::Header::new_unchecked(&mut frame[..]).set_family(family, false)
            }
            linktype::LOOP => {
                loopback::Header::new_unchecked(&mut frame[..]).set_family(family, true)
            }
            _ => {}
        }
        frame[header_len..].copy_from_slice(ip);
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

    #[test]
    fn later_fragments_have_no_ports() {
        for v6 in [false, true] {
            let first = Spec {
                v6,
                payload: 100,
                fragment: Some((true, 0)),
                ..Spec::default()
            };
            let later = Spec {
                fragment: Some((false, 64)),
                ..first
            };
            let seen = |spec: &Spec| {
                classify(
                    linktype::ETHERNET,
                    &ethernet_frame(spec),
                    ChecksumHint::None,
                )
            };
            let e = seen(&first).endpoints.unwrap();
            assert_eq!((e.src_port, e.dst_port), (Some(40000), Some(80)));
            let o = seen(&later);
            let e = o.endpoints.unwrap();
            assert_eq!((e.src_port, e.dst_port), (None, None), "v6 {v6}");
            assert_eq!(o.transport_field, None);
        }
    }

    #[test]
    fn tunnels_are_counted_as_their_own_layer() {
        use crate::diagnose::{observe, Diagnosis, Layer, Source};
        use offload_core::counters::Counters;
        use offload_core::verdict::Class;
        use offload_testkit::synth::{tunneled_frame, Tunnel};

        let mut d = Diagnosis::new();
        // A live capture's counters, fed by the same calls.
        let counters: Counters<1> = Counters::new();
        let mut live = counters.writer().unwrap();
        for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
            let spec = Spec {
                fill,
                ..Spec::default()
            };
            let frame = tunneled_frame(&spec, Tunnel::Vxlan);
            let o = observe(
                &mut d,
                Some(&mut live),
                linktype::ETHERNET,
                &frame,
                0,
                ChecksumHint::None,
            );
            let inner = o.tunnel.expect("an inner packet");
            assert_eq!(inner.endpoints.dst_port, Some(80));
            assert_eq!(inner.ip_header, Some(Verdict::Correct));
        }
        let outer = d.counts(Protocol::Udp4);
        let inner = d.counts_in(Layer::Tunneled, Protocol::Tcp4);
        assert_eq!((outer.correct, outer.incorrect), (3, 0));
        assert_eq!(
            (inner.correct, inner.offload_pending, inner.incorrect),
            (1, 1, 1)
        );
        // The live counters count what the diagnosis counts, layer by layer.
        let snapshot = counters.snapshot();
        for layer in [Layer::Outer, Layer::Tunneled] {
            for p in Protocol::ALL {
                let c = d.counts_in(layer, p);
                let live = |class| snapshot.get(layer, p, class);
                assert_eq!(
                    (c.correct, c.incorrect, c.offload_pending),
                    (
                        live(Class::Correct),
                        live(Class::Incorrect),
                        live(Class::OffloadPending)
                    ),
                    "{layer:?} {p:?}"
                );
            }
        }
        assert_eq!(snapshot.class_total(Class::Incorrect), d.incorrect());
        assert_eq!(snapshot.class_total(Class::OffloadPending), 1);
        let summary = d.summary(Source::files::<&str>(&[]));
        assert!(summary.corruption);
        assert_eq!(summary.tunneled.len(), 2, "inner IPv4 header and TCP");
        assert!(summary.render_text().contains("inside tunnels:"));
    }
}
