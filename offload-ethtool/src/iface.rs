//! Interfaces of a network namespace and what kind each is, so that "every NIC"
//! means more than the seed's `ip addr | awk '/eth[0-9]/'`.
//!
//! Names come from if_nameindex() (valid inside a namespace entered with setns,
//! unlike /sys, which shows the namespace it was mounted in); the kind from the
//! driver name ETHTOOL_GDRVINFO reports, and Xen's backend naming.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::sys;

/// What an interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Kind {
    /// `lo`.
    Loopback,
    /// A NIC on a bus (PCI ...).
    Physical,
    /// A bonding master.
    Bond,
    /// A Linux bridge.
    Bridge,
    /// An 802.1Q VLAN device.
    Vlan,
    /// One end of a veth pair.
    Veth,
    /// A tun/tap device.
    Tap,
    /// A Xen netback VIF backend (`vifD.N`).
    XenVif,
    /// A Xen emulated-NIC tap backend (`tapD.N`).
    XenTap,
    /// Anything else (Open vSwitch internal ports, tunnels, ...).
    Other,
}

impl Kind {
    /// The names `--kinds` accepts.
    pub const NAMES: &'static [(&'static str, Kind)] = &[
        ("loopback", Kind::Loopback),
        ("physical", Kind::Physical),
        ("bond", Kind::Bond),
        ("bridge", Kind::Bridge),
        ("vlan", Kind::Vlan),
        ("veth", Kind::Veth),
        ("tap", Kind::Tap),
        ("xenvif", Kind::XenVif),
        ("xentap", Kind::XenTap),
        ("other", Kind::Other),
    ];

    /// Parses a `--kinds` word.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    }
}

/// `vifD.N` / `tapD.N` with numeric domain and device ids.
fn xen_backend(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(dom, dev)| {
            !dom.is_empty()
                && !dev.is_empty()
                && dom.bytes().all(|b| b.is_ascii_digit())
                && dev.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The kind of an interface from its name and its driver's (name, bus info).
pub fn classify(name: &str, driver: &str, bus_info: &str, loopback: bool) -> Kind {
    if loopback {
        return Kind::Loopback;
    }
    if xen_backend(name, "vif") {
        return Kind::XenVif;
    }
    if xen_backend(name, "tap") {
        return Kind::XenTap;
    }
    match driver {
        "veth" => Kind::Veth,
        "bridge" => Kind::Bridge,
        "bonding" => Kind::Bond,
        "802.1Q VLAN Support" => Kind::Vlan,
        "tun" => Kind::Tap,
        "vif" | "xen-netback" => Kind::XenVif,
        _ if !bus_info.is_empty() && bus_info != "N/A" => Kind::Physical,
        _ => Kind::Other,
    }
}

/// One interface of the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its index.
    pub ifindex: u32,
    /// What it is.
    pub kind: Kind,
}

/// Every interface of the caller's network namespace (use with
/// [`crate::netns::run_in`] for another one), in ifindex order.
pub fn list() -> Result<Vec<Interface>> {
    let names = nix::net::if_::if_nameindex().map_err(|e| Error::Ethtool {
        op: "if_nameindex",
        ifname: String::new(),
        source: e.into(),
    })?;
    let fd = sys::socket().map_err(|e| Error::Ethtool {
        op: "socket",
        ifname: String::new(),
        source: e,
    })?;
    let mut out = Vec::new();
    for entry in names.iter() {
        let name = entry.name().to_string_lossy().into_owned();
        let (driver, bus) = sys::driver_info(&fd, &name).unwrap_or_default();
        let loopback = name == "lo";
        out.push(Interface {
            kind: classify(&name, &driver, &bus, loopback),
            ifindex: entry.index(),
            name,
        });
    }
    out.sort_by_key(|i| i.ifindex);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names_and_drivers() {
        assert_eq!(classify("vif3.0", "vif", "vif-3-0", false), Kind::XenVif);
        assert_eq!(classify("tap12.1", "tun", "tap", false), Kind::XenTap);
        assert_eq!(classify("tap0", "tun", "tap", false), Kind::Tap);
        assert_eq!(
            classify("eth0", "ixgbe", "0000:03:00.0", false),
            Kind::Physical
        );
        assert_eq!(classify("xenbr0", "bridge", "N/A", false), Kind::Bridge);
        assert_eq!(classify("bond0", "bonding", "", false), Kind::Bond);
        assert_eq!(
            classify("eth0.10", "802.1Q VLAN Support", "", false),
            Kind::Vlan
        );
        assert_eq!(classify("lo", "", "", true), Kind::Loopback);
        assert_eq!(classify("vifx.0", "veth", "", false), Kind::Veth);
        assert_eq!(
            classify("ovs-system", "openvswitch", "", false),
            Kind::Other
        );
    }
}
