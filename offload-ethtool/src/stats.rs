//! Device statistics through SIOCETHTOOL: the names (ETHTOOL_GSSET_INFO and
//! ETHTOOL_GSTRINGS of ETH_SS_STATS) and values (ETHTOOL_GSTATS) that
//! `ethtool -S` prints, driver by driver: checksum, CRC and error counters,
//! xen-netback's `rx_gso_checksum_fixup` on `vifD.N`.
//!
//! ```no_run
//! use offload_ethtool::features::Ethtool;
//! use offload_ethtool::IfName;
//!
//! let ethtool = Ethtool::open().unwrap();
//! let stats = ethtool.device_stats(&IfName::new("eth0").unwrap()).unwrap();
//! for (name, value) in stats.iter() {
//!     println!("{name}: {value}");
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{sys, Ethtool};
use crate::ifname::IfName;

/// The device statistics of one interface at one moment, in the driver's
/// order. A driver without statistics gives an empty list (as `ethtool -S`
/// says "no stats available").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStats {
    /// The interface.
    pub ifname: IfName,
    /// `(name, value)` in the order the driver reports them; names may repeat
    /// (some drivers list per-queue counters under one name).
    pub counters: Vec<(String, u64)>,
}

impl DeviceStats {
    /// Every `(name, value)`, in the driver's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counters.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// The value of the first counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Byte for byte what `ethtool -S` (6.1, ioctl backend) prints.
    pub fn render_ethtool_s(&self) -> String {
        if self.counters.is_empty() {
            return String::from("no stats available\n");
        }
        let mut out = String::from("NIC statistics:\n");
        for (name, value) in self.iter() {
            let _ = writeln!(out, "     {name}: {value}");
        }
        out
    }

    /// What changed from `before` to `self`, by name (counters that appear
    /// under one name more than once are summed); counters that went down
    /// (a driver reset) count from zero.
    pub fn delta(&self, before: &DeviceStats) -> BTreeMap<String, u64> {
        let sum = |s: &DeviceStats| {
            let mut m: BTreeMap<String, u64> = BTreeMap::new();
            for (n, v) in s.iter() {
                *m.entry(n.to_string()).or_default() += v;
            }
            m
        };
        let (old, new) = (sum(before), sum(self));
        new.into_iter()
            .map(|(name, v)| {
                let was = old.get(&name).copied().unwrap_or(0);
                let d = if v >= was { v - was } else { v };
                (name, d)
            })
            .collect()
    }
}

impl Ethtool {
    /// The device statistics of `ifname` (`ethtool -S`); readable without
    /// privileges.
    pub fn device_stats(&self, ifname: &IfName) -> Result<DeviceStats> {
        let os_error = |op, source| Error::Ethtool {
            op,
            ifname: ifname.to_string(),
            source,
        };
        let count = match sys::string_count(self.fd(), ifname, sys::ETH_SS_STATS) {
            Ok(n) => n,
            // No statistics: the driver has no such string set.
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => 0,
            Err(e) => return Err(os_error("ETHTOOL_GSSET_INFO", e)),
        };
        if count == 0 {
            return Ok(DeviceStats {
                ifname: *ifname,
                counters: Vec::new(),
            });
        }
        let names = sys::strings(self.fd(), ifname, sys::ETH_SS_STATS, count)
            .map_err(|e| os_error("ETHTOOL_GSTRINGS", e))?;
        let values =
            sys::stats(self.fd(), ifname, count).map_err(|e| os_error("ETHTOOL_GSTATS", e))?;
        Ok(DeviceStats {
            ifname: *ifname,
            counters: names.into_iter().zip(values).collect(),
        })
    }
}
