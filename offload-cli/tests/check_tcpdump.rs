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
use offload_testkit::synth::{ethernet_frame, Fill, Spec};

/// What tcpdump said about one packet's checksums.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TcpdumpSays {
    /// IPv4 header: `bad cksum X (->Y)!` → Some((X, Y)); nothing printed → None.
    pub ip_bad: Option<(u16, u16)>,
    /// Transport: Some(None) = verified correct, Some(Some((found, expected))) = incorrect,
    /// None = not verified (nothing printed).
    pub l4: Option<Option<(u16, u16)>>,
}

fn hex_after<'a>(text: &'a str, marker: &str) -> Option<(u16, &'a str)> {
    let at = text.find(marker)? + marker.len();
    let rest = &text[at..];
    let rest = rest.strip_prefix("0x").unwrap_or(rest);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    let value = u16::from_str_radix(&digits, 16).ok()?;
    Some((value, &rest[digits.len()..]))
}

/// Splits `tcpdump -v` output into packets (a packet starts with a timestamp) and
/// reads the checksum wording of each. Keyed by the timestamp text.
pub fn parse_tcpdump(output: &str) -> Vec<(String, TcpdumpSays)> {
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
        .into_iter()
        .map(|(ts, text)| {
            let mut says = TcpdumpSays::default();
            if let Some((found, rest)) = hex_after(&text, "bad cksum ") {
                if let Some((should, _)) = hex_after(rest, "(->") {
                    says.ip_bad = Some((found, should));
                }
            }
            if let Some((found, rest)) = hex_after(&text, ", cksum 0x") {
                if rest.starts_with(" (correct)") {
                    says.l4 = Some(None);
                } else if let Some((should, _)) = hex_after(rest, "(incorrect -> ") {
                    says.l4 = Some(Some((found, should)));
                }
            }
            for (bad, ok) in [
                ("[bad udp cksum ", "[udp sum ok]"),
                ("[bad icmp6 cksum ", "[icmp6 sum ok]"),
            ] {
                if let Some((found, rest)) = hex_after(&text, bad) {
                    if let Some((should, _)) = hex_after(rest, "-> ") {
                        says.l4 = Some(Some((found, should)));
                    }
                } else if text.contains(ok) {
                    says.l4 = Some(None);
                }
            }
            if let Some((found, rest)) = hex_after(&text, "(wrong icmp cksum ") {
                if let Some((should, _)) = hex_after(rest, "(->") {
                    says.l4 = Some(Some((found, should)));
                }
            }
            (ts, says)
        })
        .collect()
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
    let out = Command::new("tcpdump")
        .env("TZ", "UTC")
        .args(["-nn", verbosity, "-r"])
        .arg(path)
        .output()
        .expect("tcpdump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_tcpdump(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .collect()
}

/// Our lines: (timestamp, what the tcpdump-worded part says, class of transport, class of IP header).
fn ours(path: &Path) -> HashMap<String, (TcpdumpSays, String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_offloadctl"))
        .args(["check", "--verdicts"])
        .arg(path)
        .output()
        .expect("offloadctl runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = HashMap::new();
    for line in text
        .lines()
        .take_while(|l| l.len() > 15 && l.as_bytes()[2] == b':')
    {
        let ts = line.split_whitespace().next().unwrap().to_string();
        let (l4_part, ip_part) = match line.find(", IP ") {
            Some(at) => (&line[..at], &line[at..]),
            None => (line, ""),
        };
        let class = |part: &str| {
            part.rfind('[')
                .map(|at| part[at + 1..].trim_end_matches(']').to_string())
                .unwrap_or_default()
        };
        let mut says = parse_tcpdump(line).pop().unwrap().1;
        if l4_part.contains("[correct]") {
            says.l4 = Some(None);
        }
        map.insert(ts, (says, class(l4_part), class(ip_part)));
    }
    map
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
                None => assert_eq!(our_class, "correct", "packet {i} {spec:?}"),
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
    for (big_endian, nanosecond) in [(false, false), (true, true)] {
        let path = scratch(&format!("mix-{big_endian}-{nanosecond}.pcap"));
        let mut w = LegacyPcapWriter::new(
            Vec::new(),
            linktype::ETHERNET,
            262_144,
            big_endian,
            nanosecond,
        )
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
