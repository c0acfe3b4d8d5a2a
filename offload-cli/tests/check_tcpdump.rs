//! `offloadctl check --verdicts` against tcpdump, packet by packet: on generated
//! captures (every protocol; correct, corrupted, offload-pending; fragments,
//! snaplen-truncated, VLAN; classic pcap in both byte orders and pcapng with two
//! interfaces), every checksum tcpdump verifies (`-v -nn`, and `-vv` for UDP over
//! IPv4) gets the same verdict and the same expected value from us, and the
//! incorrect ones we call offload-pending are exactly the ones generated that way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use offload_diagnose::pcap::{linktype, LegacyPcapWriter, PcapNgWriter};
use offload_testkit::require_program;
use offload_testkit::synth::{ethernet_frame, tunneled_frame, Fill, Routing, Spec, Tunnel};

/// What tcpdump said about one packet's checksums.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TcpdumpSays {
    /// IPv4 header: `bad cksum X (->Y)!` → Some((X, Y)); nothing printed → None.
    pub ip_bad: Option<(u16, u16)>,
    /// Transport: Some(None) = verified correct, Some(Some((found, expected))) = incorrect,
    /// None = not verified (nothing printed).
    pub l4: Option<Option<(u16, u16)>>,
    /// The field value of a correct TCP checksum (`cksum 0xf4d7 (correct)`).
    pub correct_field: Option<u16>,
}

fn hex_after<'a>(text: &'a str, marker: &str) -> Option<(u16, &'a str)> {
    let at = text.find(marker)? + marker.len();
    let rest = &text[at..];
    let rest = rest.strip_prefix("0x").unwrap_or(rest);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    let value = u16::from_str_radix(&digits, 16).ok()?;
    Some((value, &rest[digits.len()..]))
}

/// Splits `tcpdump` output into packets (a packet starts with a timestamp):
/// (timestamp, the packet's lines joined).
pub fn packets(output: &str) -> Vec<(String, String)> {
    let mut packets: Vec<(String, String)> = Vec::new();
    for line in output.lines() {
        let starts_packet = line.len() > 15
            && line.as_bytes()[2] == b':'
            && line.as_bytes()[5] == b':'
            && line.as_bytes()[8] == b'.';
        if starts_packet {
            let ts = line.split_whitespace().next().unwrap_or("").to_string();
            packets.push((ts, line.to_string()));
        } else if let Some(last) = packets.last_mut() {
            last.1.push(' ');
            last.1.push_str(line);
        }
    }
    packets
}

/// Reads tcpdump's checksum wording in one packet's text.
pub fn says(text: &str) -> TcpdumpSays {
    let mut says = TcpdumpSays::default();
    if let Some((found, rest)) = hex_after(text, "bad cksum ") {
        if let Some((should, _)) = hex_after(rest, "(->") {
            says.ip_bad = Some((found, should));
        }
    }
    if let Some((found, rest)) = hex_after(text, ", cksum 0x") {
        if rest.starts_with(" (correct)") {
            says.l4 = Some(None);
            says.correct_field = Some(found);
        } else if let Some((should, _)) = hex_after(rest, "(incorrect -> ") {
            says.l4 = Some(Some((found, should)));
        }
    }
    for (bad, ok) in [
        ("[bad udp cksum ", "[udp sum ok]"),
        ("[bad icmp6 cksum ", "[icmp6 sum ok]"),
    ] {
        if let Some((found, rest)) = hex_after(text, bad) {
            if let Some((should, _)) = hex_after(rest, "-> ") {
                says.l4 = Some(Some((found, should)));
            }
        } else if text.contains(ok) {
            says.l4 = Some(None);
        }
    }
    if let Some((found, rest)) = hex_after(text, "(wrong icmp cksum ") {
        if let Some((should, _)) = hex_after(rest, "(->") {
            says.l4 = Some(Some((found, should)));
        }
    }
    says
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("check_tcpdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const BASE_SEC: u32 = 1_700_000_000;

/// Every combination the issue lists; returns (spec, snaplen cut).
fn cases() -> Vec<(Spec, Option<usize>)> {
    let mut out = Vec::new();
    let mut flow = 0u16;
    for v6 in [false, true] {
        for protocol in [6u8, 17, if v6 { 58 } else { 1 }] {
            for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
                if fill == Fill::OffloadPending && matches!(protocol, 1 | 58) {
                    continue; // ICMP is never offloaded
                }
                for payload in [0usize, 1, 100, 1400] {
                    for vlan in [None, Some(7)] {
                        flow += 1;
                        let spec = Spec {
                            v6,
                            protocol,
                            payload,
                            fill,
                            vlan,
                            flow,
                            ..Spec::default()
                        };
                        out.push((spec, None));
                    }
                }
                flow += 1;
                // Snaplen-truncated, first fragment, later fragment.
                out.push((
                    Spec {
                        v6,
                        protocol,
                        payload: 300,
                        fill,
                        flow,
                        ..Spec::default()
                    },
                    Some(80),
                ));
                flow += 1;
                out.push((
                    Spec {
                        v6,
                        protocol,
                        payload: 300,
                        fill,
                        flow,
                        fragment: Some((true, 0)),
                        ..Spec::default()
                    },
                    None,
                ));
                flow += 1;
                out.push((
                    Spec {
                        v6,
                        protocol,
                        payload: 300,
                        fill,
                        flow,
                        fragment: Some((false, 64)),
                        ..Spec::default()
                    },
                    None,
                ));
            }
        }
    }
    flow += 1;
    out.push((
        Spec {
            protocol: 17,
            payload: 10,
            fill: Fill::Zero,
            flow,
            ..Spec::default()
        },
        None,
    ));
    flow += 1;
    out.push((
        Spec {
            protocol: 6,
            payload: 10,
            bad_ip_checksum: true,
            flow,
            ..Spec::default()
        },
        None,
    ));
    flow += 1;
    out.push((
        Spec {
            protocol: 17,
            payload: 10,
            bad_ip_checksum: true,
            fill: Fill::OffloadPending,
            flow,
            ..Spec::default()
        },
        None,
    ));
    out
}

fn ts_text(i: usize) -> String {
    let day = (BASE_SEC as usize + i) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        i
    )
}

fn tcpdump(path: &Path, verbosity: &str) -> HashMap<String, TcpdumpSays> {
    tcpdump_text(path, &["-nn", verbosity])
        .into_iter()
        .map(|(ts, text)| (ts, says(&text)))
        .collect()
}

/// Our lines: (timestamp, what the tcpdump-worded part says, class of transport, class of IP header).
fn ours(path: &Path) -> HashMap<String, (TcpdumpSays, String, String)> {
    let (lines, code) = our_lines(path);
    assert!(matches!(code, Some(0 | 1)), "exit code {code:?}");
    lines
        .into_iter()
        .map(|(ts, line)| {
            // The outer layer; a tunnel's inner packet follows " | ".
            let line = line.split(" | ").next().unwrap_or(&line).to_string();
            let ip_part = line.find(", IP ").map_or("", |at| &line[at..]);
            let class = |part: &str| {
                part.rfind('[')
                    .map(|at| part[at + 1..].trim_end_matches(']').to_string())
                    .unwrap_or_default()
            };
            let value = (says(&line), our_class(&line), class(ip_part));
            (ts, value)
        })
        .collect()
}

fn compare(path: &Path, specs: &[(Spec, Option<usize>)]) {
    let ours = ours(path);
    let v = tcpdump(path, "-v");
    let vv = tcpdump(path, "-vv");
    let mut verified = 0;
    for (i, (spec, _)) in specs.iter().enumerate() {
        let ts = ts_text(i);
        let (our_says, our_class, our_ip_class) = ours
            .get(&ts)
            .unwrap_or_else(|| panic!("no line of ours for {ts}"));
        // UDP over IPv4 is only checked by tcpdump at -vv.
        let theirs = if spec.protocol == 17 && !spec.v6 {
            &vv[&ts]
        } else {
            &v[&ts]
        };
        if let Some(l4) = theirs.l4 {
            verified += 1;
            match l4 {
                None => {
                    assert_eq!(our_class, "correct", "packet {i} {spec:?}");
                    // tcpdump's wording, value included, where it prints one.
                    if theirs.correct_field.is_some() {
                        assert_eq!(our_says.correct_field, theirs.correct_field, "packet {i}");
                    }
                }
                Some(pair) => {
                    let ours_pair = our_says.l4.flatten();
                    assert_eq!(ours_pair, Some(pair), "packet {i} {spec:?}: found/expected");
                    let want = if spec.fill == Fill::OffloadPending {
                        "offload-pending"
                    } else {
                        "incorrect"
                    };
                    assert_eq!(our_class, want, "packet {i} {spec:?}");
                }
            }
        } else if spec.fragment.is_none() && theirs.l4.is_none() && !matches!(spec.protocol, 1) {
            // tcpdump stayed silent (truncated): we must not claim a verdict either.
            assert!(
                our_class.starts_with("not verified"),
                "packet {i} {spec:?}: ours {our_class}"
            );
        }
        if let Some(pair) = theirs.ip_bad {
            assert_eq!(our_says.ip_bad, Some(pair), "packet {i}: IPv4 header");
            assert_eq!(our_ip_class, "incorrect");
        } else if !spec.v6 {
            assert!(
                our_says.ip_bad.is_none(),
                "packet {i}: we call a good IPv4 header bad"
            );
        }
        if spec.fragment.is_some() {
            assert!(
                our_class.contains("fragment"),
                "packet {i} {spec:?}: ours {our_class}"
            );
        }
    }
    assert!(
        verified > specs.len() / 2,
        "tcpdump verified only {verified} of {} packets",
        specs.len()
    );
}

#[test]
fn classic_pcap_both_byte_orders_agree_with_tcpdump() {
    require_program!("tcpdump");
    let specs = cases();
    // The "modified" record header in both byte orders too: libpcap reads a
    // byte-swapped one, which we once refused.
    for (big_endian, nanosecond, modified) in [
        (false, false, false),
        (true, true, false),
        (false, false, true),
        (true, false, true),
    ] {
        let path = scratch(&format!("mix-{big_endian}-{nanosecond}-{modified}.pcap"));
        let (ethernet, snaplen) = (linktype::ETHERNET, 262_144);
        let mut w = if modified {
            LegacyPcapWriter::new_modified(Vec::new(), ethernet, snaplen, big_endian)
        } else {
            LegacyPcapWriter::new(Vec::new(), ethernet, snaplen, big_endian, nanosecond)
        }
        .unwrap();
        for (i, (spec, cut)) in specs.iter().enumerate() {
            let frame = ethernet_frame(spec);
            let data = &frame[..cut.unwrap_or(frame.len()).min(frame.len())];
            w.write_packet(
                BASE_SEC + i as u32,
                i as u32 * 1000,
                frame.len() as u32,
                data,
            )
            .unwrap();
        }
        std::fs::write(&path, w.into_inner().unwrap()).unwrap();
        compare(&path, &specs);
    }
}

#[test]
fn pcapng_with_two_interfaces_agrees_with_tcpdump() {
    require_program!("tcpdump");
    let specs = cases();
    let path = scratch("mix.pcapng");
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let a = w
        .add_interface("veth0", linktype::ETHERNET, 262_144)
        .unwrap();
    let b = w
        .add_interface("veth1", linktype::ETHERNET, 262_144)
        .unwrap();
    for (i, (spec, cut)) in specs.iter().enumerate() {
        let frame = ethernet_frame(spec);
        let data = &frame[..cut.unwrap_or(frame.len()).min(frame.len())];
        let iface = if i % 2 == 0 { a } else { b };
        w.write_packet(
            iface,
            i64::from(BASE_SEC) + i as i64,
            i as u32 * 1000,
            frame.len() as u32,
            data,
        )
        .unwrap();
    }
    std::fs::write(&path, w.into_inner().unwrap()).unwrap();
    compare(&path, &specs);
}

/// Writes `frames` as a classic pcap, packet `i` at [`ts_text`]`(i)`.
fn write_pcap(name: &str, frames: &[Vec<u8>]) -> PathBuf {
    let path = scratch(name);
    let mut w =
        LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 262_144, false, false).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        w.write_packet(
            BASE_SEC + i as u32,
            i as u32 * 1000,
            frame.len() as u32,
            frame,
        )
        .unwrap();
    }
    std::fs::write(&path, w.into_inner().unwrap()).unwrap();
    path
}

/// tcpdump's text per packet, keyed by timestamp.
fn tcpdump_text(path: &Path, args: &[&str]) -> HashMap<String, String> {
    let out = Command::new("tcpdump")
        .env("TZ", "UTC")
        .args(args)
        .arg("-r")
        .arg(path)
        .output()
        .expect("tcpdump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    packets(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .collect()
}

/// Our `--verdicts` lines keyed by timestamp, and the exit code.
fn our_lines(path: &Path) -> (HashMap<String, String>, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["check", "--verdicts"])
        .arg(path)
        .output()
        .expect("offloadctl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text
        .lines()
        .take_while(|l| l.len() > 15 && l.as_bytes()[2] == b':')
        .map(|l| {
            (
                l.split_whitespace().next().unwrap().to_string(),
                l.to_string(),
            )
        })
        .collect();
    (lines, out.status.code())
}

/// Our class of the transport verdict in one layer's part of a line.
fn our_class(part: &str) -> String {
    let l4 = part.split(", IP ").next().unwrap_or(part);
    l4.rfind('[')
        .map(|at| l4[at + 1..].trim_end_matches(']').to_string())
        .unwrap_or_default()
}

/// One layer: ours agrees with what tcpdump verified (same found/expected pair,
/// same value for correct TCP) and calls generated offload-pending ones so.
fn agree(ours: &str, theirs: &TcpdumpSays, fill: Fill, what: &str) {
    let our_says = says(ours);
    let class = our_class(ours);
    match theirs.l4 {
        None => panic!("{what}: tcpdump verified nothing"),
        Some(None) => {
            assert_eq!(class, "correct", "{what}: {ours}");
            assert_eq!(
                our_says.correct_field, theirs.correct_field,
                "{what}: {ours}"
            );
        }
        Some(Some(pair)) => {
            assert_eq!(our_says.l4.flatten(), Some(pair), "{what}: {ours}");
            let want = if fill == Fill::OffloadPending {
                "offload-pending"
            } else {
                "incorrect"
            };
            assert_eq!(class, want, "{what}: {ours}");
        }
    }
    assert_eq!(
        our_says.ip_bad, theirs.ip_bad,
        "{what}: IPv4 header: {ours}"
    );
}

#[test]
fn routing_headers_use_the_final_destination_as_tcpdump_does() {
    require_program!("tcpdump");
    let mut specs = Vec::new();
    for kind in [0u8, 2, 4] {
        for segments_left in [1u8, 0] {
            for protocol in [6u8, 17] {
                for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
                    specs.push(Spec {
                        v6: true,
                        protocol,
                        payload: 24,
                        fill,
                        flow: specs.len() as u16 + 1,
                        routing: Some(Routing {
                            kind,
                            segments_left,
                        }),
                        ..Spec::default()
                    });
                }
            }
        }
    }
    let frames: Vec<Vec<u8>> = specs.iter().map(ethernet_frame).collect();
    let path = write_pcap("routing.pcap", &frames);
    let theirs = tcpdump_text(&path, &["-nn", "-vv"]);
    let (ours, code) = our_lines(&path);
    assert_eq!(code, Some(1), "the corrupt ones are corruption");
    for (i, spec) in specs.iter().enumerate() {
        let ts = ts_text(i);
        let (our_line, their_text) = (&ours[&ts], &theirs[&ts]);
        let what = format!("packet {i} {:?} {:?}", spec.routing, spec.fill);
        let routing = spec.routing.unwrap();
        if routing.segments_left > 0 {
            agree(our_line, &says(their_text), spec.fill, &what);
        } else if spec.fill == Fill::Correct {
            // No segments left: the IPv6 destination is the final one (RFC 8200
            // §8.1) and the checksum over it is right. tcpdump takes the routing
            // header's address even then and calls it incorrect: here we are
            // right and tcpdump is not.
            assert_eq!(our_class(our_line), "correct", "{what}: {our_line}");
            assert!(
                matches!(says(their_text).l4, Some(Some(_))),
                "{what}: tcpdump no longer disagrees: {their_text}"
            );
        }
    }
}

#[test]
fn later_fragments_have_no_ports_as_in_tcpdump() {
    require_program!("tcpdump");
    let specs = cases();
    let frames: Vec<Vec<u8>> = specs
        .iter()
        .map(|(spec, cut)| {
            let frame = ethernet_frame(spec);
            frame[..cut.unwrap_or(frame.len()).min(frame.len())].to_vec()
        })
        .collect();
    let path = write_pcap("fragments.pcap", &frames);
    let theirs = tcpdump_text(&path, &["-nn", "-q"]);
    let (ours, _) = our_lines(&path);
    let mut later = 0;
    for (i, (spec, _)) in specs.iter().enumerate() {
        let ts = ts_text(i);
        // The source port (40000 + flow) is printed exactly when tcpdump prints
        // it: `10.0.0.9.40009 > ` by both, or tcpdump's `frag (0|320) 40098 > 80`
        // for a first IPv6 fragment.
        let port = format!("{} > ", 40000 + spec.flow);
        let (our_line, their_text) = (&ours[&ts], &theirs[&ts]);
        assert_eq!(
            our_line.contains(&format!(".{port}")),
            their_text.contains(&format!(".{port}")) || their_text.contains(&format!(" {port}")),
            "packet {i} {spec:?}: {our_line} / {their_text}"
        );
        later += usize::from(matches!(spec.fragment, Some((_, offset)) if offset > 0));
    }
    assert!(later >= 8, "only {later} later fragments");
}

#[test]
fn tunnels_are_verified_inside_as_tcpdump_does() {
    require_program!("tcpdump");
    let mut cases = Vec::new();
    let kinds = [
        (Tunnel::Ipip, false),
        (Tunnel::SixInFour, true),
        (
            Tunnel::Gre {
                checksum: false,
                key: false,
            },
            false,
        ),
        (
            Tunnel::Gre {
                checksum: true,
                key: true,
            },
            false,
        ),
        (
            Tunnel::Gre {
                checksum: false,
                key: true,
            },
            true,
        ),
        (Tunnel::Vxlan, false),
        (Tunnel::Vxlan, true),
        (Tunnel::Geneve, false),
        (Tunnel::Geneve, true),
    ];
    for (tunnel, v6) in kinds {
        for protocol in [6u8, 17] {
            for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
                for bad_ip_checksum in [false, true] {
                    if bad_ip_checksum && (v6 || fill != Fill::Correct) {
                        continue;
                    }
                    let spec = Spec {
                        v6,
                        protocol,
                        payload: 30,
                        fill,
                        bad_ip_checksum,
                        flow: cases.len() as u16 + 1,
                        ..Spec::default()
                    };
                    cases.push((spec, tunnel));
                }
            }
        }
    }
    let frames: Vec<Vec<u8>> = cases.iter().map(|(s, t)| tunneled_frame(s, *t)).collect();
    let path = write_pcap("tunnels.pcap", &frames);
    let theirs = tcpdump_text(&path, &["-nn", "-vv"]);
    let (ours, code) = our_lines(&path);
    assert_eq!(code, Some(1), "corrupt inner checksums are corruption");
    for (i, (spec, tunnel)) in cases.iter().enumerate() {
        let ts = ts_text(i);
        let what = format!("packet {i} {tunnel:?} {spec:?}");
        // tcpdump prints the outer IPv4 header, then the inner one: read from the second.
        let text = &theirs[&ts];
        let mut starts: Vec<usize> = ["IP (", "IP6 ("]
            .iter()
            .flat_map(|m| text.match_indices(m).map(|(at, _)| at))
            .collect();
        starts.sort_unstable();
        let inner_at = starts
            .get(1)
            .copied()
            .unwrap_or_else(|| panic!("{what}: tcpdump shows no inner packet: {text}"));
        let (outer_text, inner_text) = text.split_at(inner_at);
        let line = &ours[&ts];
        let (outer, inner) = line
            .split_once(" | ")
            .unwrap_or_else(|| panic!("{what}: no inner packet in ours: {line}"));
        assert!(inner.starts_with(match tunnel {
            Tunnel::Ipip => "IPIP ",
            Tunnel::SixInFour => "6in4 ",
            Tunnel::Gre { .. } => "GRE ",
            Tunnel::Vxlan => "VXLAN ",
            Tunnel::Geneve => "Geneve ",
        }));
        agree(inner, &says(inner_text), spec.fill, &what);
        // The outer UDP of VXLAN and Geneve is right, and both of us say so.
        if matches!(tunnel, Tunnel::Vxlan | Tunnel::Geneve) {
            assert!(outer_text.contains("[udp sum ok]"), "{what}: {outer_text}");
            assert_eq!(our_class(outer), "correct", "{what}: {outer}");
        }
    }
    // Offload-pending inside a tunnel is not corruption.
    let pending: Vec<Vec<u8>> = kinds
        .iter()
        .map(|&(tunnel, v6)| {
            let spec = Spec {
                v6,
                protocol: 6,
                payload: 10,
                fill: Fill::OffloadPending,
                ..Spec::default()
            };
            tunneled_frame(&spec, tunnel)
        })
        .collect();
    let path = write_pcap("tunnels-pending.pcap", &pending);
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .arg("check")
        .arg(&path)
        .output()
        .expect("offloadctl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("inside tunnels:"), "{text}");
    assert!(text.contains("offload-pending"), "{text}");
}

#[test]
fn transports_behind_an_authentication_header_are_verified_as_tcpdump_does() {
    require_program!("tcpdump");
    let mut specs = Vec::new();
    for v6 in [false, true] {
        for protocol in [6u8, 17] {
            for fill in [Fill::Correct, Fill::OffloadPending, Fill::Corrupt] {
                specs.push(Spec {
                    v6,
                    protocol,
                    payload: 30,
                    fill,
                    flow: specs.len() as u16 + 1,
                    ah: true,
                    ..Spec::default()
                });
            }
        }
    }
    let frames: Vec<Vec<u8>> = specs.iter().map(ethernet_frame).collect();
    let path = write_pcap("ah.pcap", &frames);
    let theirs = tcpdump_text(&path, &["-nn", "-vv"]);
    let (ours, code) = our_lines(&path);
    assert_eq!(code, Some(1), "the corrupt ones are corruption");
    for (i, spec) in specs.iter().enumerate() {
        let ts = ts_text(i);
        let (our_line, their_text) = (&ours[&ts], &theirs[&ts]);
        assert!(their_text.contains(": AH("), "{their_text}");
        let what = format!("packet {i} {spec:?}");
        agree(our_line, &says(their_text), spec.fill, &what);
    }
}
