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

    /// Every counter by name; a name the driver lists more than once
    /// (per-queue counters under one name) is summed.
    pub fn by_name(&self) -> BTreeMap<String, u64> {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for (n, v) in self.iter() {
            *m.entry(n.to_string()).or_default() += v;
        }
        m
    }

    /// The error counters among them ([`is_error_counter`]), by name as
    /// [`DeviceStats::by_name`].
    pub fn error_counters(&self) -> BTreeMap<String, u64> {
        let mut all = self.by_name();
        all.retain(|name, _| is_error_counter(name));
        all
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
        let (old, new) = (before.by_name(), self.by_name());
        new.into_iter()
            .map(|(name, v)| {
                let was = old.get(&name).copied().unwrap_or(0);
                let d = if v >= was { v - was } else { v };
                (name, d)
            })
            .collect()
    }
}

/// xen-netback's count of GSO packets from a guest that came without a
/// partial checksum and had theirs set up in dom0 (CPU spent, not corruption).
pub const GSO_CHECKSUM_FIXUP: &str = "rx_gso_checksum_fixup";

/// Whether a device counter (ethtool -S or sysfs name) means damaged frames
/// arrived at the device: CRC, checksum, frame, length or alignment errors.
/// One rule for `doctor` and the exporter.
pub fn is_error_counter(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n != GSO_CHECKSUM_FIXUP
        && (n.contains("crc")
            // e1000e's rx_csum_offload_errors as well as hw_csum_err.
            || ((n.contains("csum") || n.contains("checksum")) && n.contains("err"))
            || n.contains("frame_err")
            || n.contains("length_err")
            || n.contains("align"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_counters_are_picked_by_name_and_summed() {
        let stats = DeviceStats {
            ifname: IfName::new("vif1.0").unwrap(),
            counters: vec![
                (GSO_CHECKSUM_FIXUP.into(), 7),
                ("rx_packets".into(), 100),
                ("rx_crc_errors".into(), 1),
                ("rx_csum_offload_errors".into(), 2),
                ("rx_csum_offload_errors".into(), 3),
                ("HW_CSUM_ERR".into(), 4),
                ("rx_csum_offload_good".into(), 9),
            ],
        };
        let picked: Vec<(String, u64)> = stats.error_counters().into_iter().collect();
        assert_eq!(
            picked,
            [
                ("HW_CSUM_ERR".to_string(), 4),
                ("rx_crc_errors".to_string(), 1),
                ("rx_csum_offload_errors".to_string(), 5),
            ]
        );
    }
}
