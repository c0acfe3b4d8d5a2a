//! Who drives an interface: ETHTOOL_GDRVINFO (what `ethtool -i` prints) and
//! the PCI vendor and device ids sysfs shows for a device on a PCI bus: the
//! keys known driver and NIC problems are filed under.
//!
//! ```no_run
//! use offload_ethtool::features::Ethtool;
//! use offload_ethtool::IfName;
//!
//! let info = Ethtool::open().unwrap().driver(&IfName::new("eth0").unwrap()).unwrap();
//! print!("{}", info.render_ethtool_i());
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{sys, Ethtool};
use crate::ifname::IfName;

/// Driver identity of one interface (`struct ethtool_drvinfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverInfo {
    /// Driver name (`e1000e`, `bnx2x`, `vif`, `veth`).
    pub driver: String,
    /// Driver version (often the kernel's).
    pub version: String,
    /// Firmware version, empty when the driver has none.
    pub firmware_version: String,
    /// Expansion ROM version.
    pub expansion_rom_version: String,
    /// Bus address (`0000:03:00.0`), empty for virtual devices.
    pub bus_info: String,
    /// The driver reports device statistics (`ethtool -S`).
    pub supports_statistics: bool,
    /// The driver has a self test.
    pub supports_test: bool,
    /// The device's EEPROM can be read.
    pub supports_eeprom_access: bool,
    /// The device's registers can be dumped.
    pub supports_register_dump: bool,
    /// The driver has private flags.
    pub supports_priv_flags: bool,
}

impl DriverInfo {
    /// Byte for byte what `ethtool -i` (6.1) prints.
    pub fn render_ethtool_i(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut out = String::new();
        let _ = writeln!(out, "driver: {}", self.driver);
        let _ = writeln!(out, "version: {}", self.version);
        let _ = writeln!(out, "firmware-version: {}", self.firmware_version);
        let _ = writeln!(out, "expansion-rom-version: {}", self.expansion_rom_version);
        let _ = writeln!(out, "bus-info: {}", self.bus_info);
        let _ = writeln!(
            out,
            "supports-statistics: {}",
            yes(self.supports_statistics)
        );
        let _ = writeln!(out, "supports-test: {}", yes(self.supports_test));
        let _ = writeln!(
            out,
            "supports-eeprom-access: {}",
            yes(self.supports_eeprom_access)
        );
        let _ = writeln!(
            out,
            "supports-register-dump: {}",
            yes(self.supports_register_dump)
        );
        let _ = writeln!(
            out,
            "supports-priv-flags: {}",
            yes(self.supports_priv_flags)
        );
        out
    }
}

/// PCI identity of a NIC, from sysfs (`/sys/class/net/DEV/device/*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PciIds {
    /// Vendor id (0x8086 is Intel).
    pub vendor: u16,
    /// Device id (0x15b8 is an I219-V).
    pub device: u16,
    /// Subsystem vendor id.
    pub subsystem_vendor: u16,
    /// Subsystem device id.
    pub subsystem_device: u16,
}

impl PciIds {
    /// Parses sysfs's `0x8086` form.
    pub fn parse_id(text: &str) -> Option<u16> {
        let t = text.trim();
        let hex = t.strip_prefix("0x").unwrap_or(t);
        u16::from_str_radix(hex, 16).ok()
    }
}

impl Ethtool {
    /// The driver identity of `ifname` (`ethtool -i`); readable without privileges.
    pub fn driver(&self, ifname: &IfName) -> Result<DriverInfo> {
        let info = sys::driver_info(self.fd(), ifname).map_err(|source| Error::Ethtool {
            op: "ETHTOOL_GDRVINFO",
            ifname: ifname.to_string(),
            source,
        })?;
        Ok(DriverInfo {
            driver: info.driver,
            version: info.version,
            firmware_version: info.fw_version,
            expansion_rom_version: info.erom_version,
            bus_info: info.bus_info,
            supports_statistics: info.n_stats > 0,
            supports_test: info.testinfo_len > 0,
            supports_eeprom_access: info.eedump_len > 0,
            supports_register_dump: info.regdump_len > 0,
            supports_priv_flags: info.n_priv_flags > 0,
        })
    }
}
