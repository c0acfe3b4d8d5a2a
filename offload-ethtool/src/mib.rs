//! The kernel's protocol counters of a network namespace (`/proc/net/snmp`,
//! `/proc/net/snmp6`, `/proc/net/netstat`), named as `nstat` names them
//! (`TcpInCsumErrors`, `Udp6InCsumErrors`, `TcpExtTCPLostRetransmit`), as
//! snapshots with deltas.
//!
//! `/proc/net` is `/proc/self/net`: the namespace of the process's main
//! thread. These are read through `/proc/thread-self/net`, which follows the
//! reading thread, so [`MibSnapshot::read_in`] sees the namespace it entered.
//!
//! ```
//! use offload_ethtool::mib::{MibSnapshot, CHECKSUM_ERRORS};
//!
//! let before = MibSnapshot::read().unwrap();
//! let after = MibSnapshot::read().unwrap();
//! let delta = after.delta(&before);
//! // Checksum error counters only grow (those this kernel has).
//! for name in CHECKSUM_ERRORS {
//!     if let Some(d) = delta.get(name) {
//!         assert!(*d >= 0);
//!     }
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The files read, under `/proc/thread-self/net`.
pub const FILES: [&str; 3] = ["snmp", "snmp6", "netstat"];

/// Counters of packets the kernel dropped for a bad checksum after every
/// offload had its say: real corruption (or a broken offload), never a
/// capture artefact.
pub const CHECKSUM_ERRORS: [&str; 7] = [
    "TcpInCsumErrors",
    "UdpInCsumErrors",
    "Udp6InCsumErrors",
    "UdpLiteInCsumErrors",
    "IcmpInCsumErrors",
    "Icmp6InCsumErrors",
    "IpExtInCsumErrors",
];

/// IP header errors (bad IPv4 header checksum, bad version, TTL ...).
pub const HEADER_ERRORS: [&str; 2] = ["IpInHdrErrors", "Ip6InHdrErrors"];

/// TCP retransmissions (loss on the path, or segments dropped as corrupt).
pub const RETRANSMITS: [&str; 2] = ["TcpRetransSegs", "TcpExtTCPLostRetransmit"];

/// Every counter of one namespace at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MibSnapshot {
    /// By nstat name. Gauges such as `TcpMaxConn` (-1) are kept as the
    /// kernel's two's complement, as nstat reads them.
    pub counters: BTreeMap<String, u64>,
}

impl MibSnapshot {
    /// The counters of the calling thread's network namespace.
    pub fn read() -> Result<MibSnapshot> {
        let mut snapshot = MibSnapshot::default();
        for file in FILES {
            let path = format!("/proc/thread-self/net/{file}");
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // No IPv6 in this kernel or namespace: no snmp6.
                Err(e) if file == "snmp6" && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::KernelFile {
                        path,
                        ifname: None,
                        source,
                    })
                }
            };
            let parsed = if file == "snmp6" {
                parse_name_value(&text)
            } else {
                parse_header_rows(&text)
            };
            let counters = parsed.map_err(|reason| Error::KernelFormat {
                path: path.clone(),
                reason,
            })?;
            snapshot.counters.extend(counters);
        }
        Ok(snapshot)
    }

    /// The counters of `netns` (a name under /run/netns or a path), or of the
    /// calling thread's namespace when `None`.
    pub fn read_in(netns: Option<&str>) -> Result<MibSnapshot> {
        crate::netns::run_in(netns, MibSnapshot::read)
    }

    /// The value of one counter.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }

    /// `self - before` for every counter of `self` (a gauge may go down:
    /// the delta is signed).
    pub fn delta(&self, before: &MibSnapshot) -> BTreeMap<String, i64> {
        self.counters
            .iter()
            .map(|(n, &v)| {
                let was = before.get(n).unwrap_or(0);
                (n.clone(), v.wrapping_sub(was) as i64)
            })
            .collect()
    }
}

/// `snmp` / `netstat`: a header row `Tcp: RtoAlgorithm RtoMin ...` followed by
/// a value row `Tcp: 1 200 ...`; names become `TcpRtoAlgorithm`.
fn parse_header_rows(text: &str) -> std::result::Result<Vec<(String, u64)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(header) = lines.next() {
        let values = lines
            .next()
            .ok_or_else(|| format!("header row without values: {header:?}"))?;
        let mut names = header.split_whitespace();
        let mut nums = values.split_whitespace();
        let (Some(prefix), Some(prefix2)) = (names.next(), nums.next()) else {
            continue;
        };
        if prefix != prefix2 {
            return Err(format!("rows {prefix} and {prefix2} do not pair"));
        }
        let prefix = prefix.trim_end_matches(':');
        for (name, value) in names.zip(nums) {
            out.push((format!("{prefix}{name}"), parse_value(value)?));
        }
    }
    Ok(out)
}

/// `snmp6`: `Ip6InReceives   123` lines.
fn parse_name_value(text: &str) -> std::result::Result<Vec<(String, u64)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut it = line.split_whitespace();
            match (it.next(), it.next()) {
                (Some(n), Some(v)) => Ok((n.to_string(), parse_value(v)?)),
                _ => Err(format!("not a name and a value: {line:?}")),
            }
        })
        .collect()
}

fn parse_value(v: &str) -> std::result::Result<u64, String> {
    v.parse::<u64>()
        .or_else(|_| v.parse::<i64>().map(|n| n as u64))
        .map_err(|_| format!("not a number: {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pair_into_nstat_names() {
        let snmp =
            "Tcp: RtoAlgorithm MaxConn InCsumErrors\nTcp: 1 -1 7\nUdp: InCsumErrors\nUdp: 3\n";
        let got = parse_header_rows(snmp).unwrap();
        assert_eq!(
            got,
            [
                ("TcpRtoAlgorithm".to_string(), 1),
                ("TcpMaxConn".to_string(), u64::MAX),
                ("TcpInCsumErrors".to_string(), 7),
                ("UdpInCsumErrors".to_string(), 3),
            ]
        );
        assert!(parse_header_rows("Tcp: A\nUdp: 1\n").is_err());
        let six = parse_name_value("Udp6InCsumErrors                \t5\n").unwrap();
        assert_eq!(six, [("Udp6InCsumErrors".to_string(), 5)]);
    }

    #[test]
    fn deltas_are_signed_for_gauges() {
        let mut a = MibSnapshot::default();
        a.counters.insert("TcpCurrEstab".into(), 5);
        a.counters.insert("TcpInCsumErrors".into(), 10);
        let mut b = a.clone();
        b.counters.insert("TcpCurrEstab".into(), 3);
        b.counters.insert("TcpInCsumErrors".into(), 12);
        let d = b.delta(&a);
        assert_eq!(d["TcpCurrEstab"], -2);
        assert_eq!(d["TcpInCsumErrors"], 2);
    }
}
