//! Interfaces of a network namespace, what kind each is, and which of them a
//! selection means: the one rule every front-end (CLI, C, Python, the dom0
//! plugin) uses, so that "every NIC" means more than the seed's
//! `ip addr | awk '/eth[0-9]/'` and the same everywhere.
//!
//! The rule ([`Targets`]):
//! * `all`: every interface of the namespace but loopback;
//! * `nics`: the host's own interfaces: all of them but guest backends;
//! * `vifs`: guest backends, Xen netback `vifD.N` and emulated-NIC `tapD.N`.
//!
//! Named interfaces are taken as named; `--kinds`, `--include` and `--exclude`
//! narrow a target and cannot be combined with names (nothing is silently
//! overridden). Presets switch off `nics` groups on the host's interfaces and
//! `vifs` groups on guest backends ([`Role`]).
//!
//! Names come from if_nameindex() (valid inside a namespace entered with setns,
//! unlike /sys, which shows the namespace it was mounted in); the kind from the
//! driver name ETHTOOL_GDRVINFO reports, and Xen's backend naming.

use offload_core::features::LegacyFeatures;
use offload_core::glob;
use offload_core::presets::Preset;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::Ethtool;
use crate::ifname::IfName;

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

    /// The `--kinds` word of this kind.
    pub fn name(self) -> &'static str {
        Kind::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("other", |(n, _)| n)
    }

    /// Which side of a Xen host the interface is on.
    pub fn role(self) -> Role {
        match self {
            Kind::XenVif | Kind::XenTap => Role::Vif,
            _ => Role::Nic,
        }
    }
}

/// The host's own interface, or a guest's backend: what a preset's `nics`
/// and `vifs` groups apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// NICs, bonds, bridges, VLANs, veths, taps ...: the host's side.
    Nic,
    /// `vifD.N` / `tapD.N`: a guest's backend in dom0.
    Vif,
}

impl Role {
    /// The groups `preset` switches off on interfaces of this role.
    pub fn preset_groups(self, preset: &Preset) -> LegacyFeatures {
        match self {
            Role::Nic => preset.nics,
            Role::Vif => preset.vifs,
        }
    }
}

/// Which interfaces a selection without names starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Targets {
    /// Every interface but loopback.
    #[default]
    All,
    /// The host's own interfaces (every one but loopback and guest backends).
    Nics,
    /// Guest backends (`vifD.N`, `tapD.N`).
    Vifs,
}

impl Targets {
    /// The words `--targets` / the plugin's `targets=` accept.
    pub const NAMES: [(&'static str, Targets); 3] = [
        ("all", Targets::All),
        ("nics", Targets::Nics),
        ("vifs", Targets::Vifs),
    ];

    /// Parses `all`, `nics` or `vifs`.
    pub fn from_name(name: &str) -> Option<Targets> {
        Targets::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    fn covers(self, kind: Kind) -> bool {
        kind != Kind::Loopback
            && match self {
                Targets::All => true,
                Targets::Nics => kind.role() == Role::Nic,
                Targets::Vifs => kind.role() == Role::Vif,
            }
    }
}

/// Which interfaces a command works on: names, or a target narrowed by kinds
/// and name globs. Built once by the front-end, resolved by [`Selection::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    names: Vec<IfName>,
    targets: Targets,
    kinds: Vec<Kind>,
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Selection {
    /// Exactly these interfaces (each must exist).
    pub fn names(names: Vec<IfName>) -> Selection {
        Selection {
            names,
            ..Selection::default()
        }
    }

    /// Every interface of `targets`.
    pub fn targets(targets: Targets) -> Selection {
        Selection {
            targets,
            ..Selection::default()
        }
    }

    /// The general form, as a command line gives it. Names together with
    /// `all`, a target other than `all`, kinds or globs are refused:
    /// a filter never silently loses to a name.
    pub fn new(
        names: Vec<IfName>,
        all: bool,
        targets: Targets,
        kinds: &[String],
        include: Vec<String>,
        exclude: Vec<String>,
    ) -> Result<Selection> {
        let kinds = kinds
            .iter()
            .map(|k| {
                Kind::from_name(k).ok_or_else(|| Error::InvalidSelection {
                    reason: format!("unknown interface kind '{}'", k.escape_debug()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let filtered = all
            || targets != Targets::All
            || !kinds.is_empty()
            || !include.is_empty()
            || !exclude.is_empty();
        if !names.is_empty() && filtered {
            return Err(Error::InvalidSelection {
                reason: "name interfaces, or select them with --all/--targets/--kinds/--include/--exclude, not both".into(),
            });
        }
        Ok(Selection {
            names,
            targets,
            kinds,
            include,
            exclude,
        })
    }

    fn matches(&self, interface: &Interface) -> bool {
        let name = interface.name.to_string();
        let kind_ok = if self.kinds.is_empty() {
            self.targets.covers(interface.kind)
        } else {
            self.kinds.contains(&interface.kind)
                && (self.targets == Targets::All || self.targets.covers(interface.kind))
        };
        kind_ok
            && (self.include.is_empty() || self.include.iter().any(|g| glob::matches(g, &name)))
            && !self.exclude.iter().any(|g| glob::matches(g, &name))
    }

    /// The interfaces selected from `present` (the namespace's list), in
    /// the order named, or in ifindex order. A named interface that is not
    /// present comes back as `Err(name)`: its own failure, the others go on.
    pub fn resolve(&self, present: &[Interface]) -> Vec<std::result::Result<Interface, IfName>> {
        if self.names.is_empty() {
            return present
                .iter()
                .filter(|i| self.matches(i))
                .cloned()
                .map(Ok)
                .collect();
        }
        let mut chosen: Vec<std::result::Result<Interface, IfName>> = Vec::new();
        for name in &self.names {
            let seen = chosen.iter().any(|c| match c {
                Ok(i) => i.name == *name,
                Err(n) => n == name,
            });
            if !seen {
                chosen.push(
                    present
                        .iter()
                        .find(|i| i.name == *name)
                        .cloned()
                        .ok_or(*name),
                );
            }
        }
        chosen
    }

    /// [`Selection::resolve`] in the caller's namespace.
    pub fn resolve_here(
        &self,
        ethtool: &Ethtool,
    ) -> Result<Vec<std::result::Result<Interface, IfName>>> {
        Ok(self.resolve(&list_with(ethtool)?))
    }
}

/// `vifD.N` / `tapD.N` with numeric domain and device ids.
fn xen_backend(name: &[u8], prefix: &[u8]) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| {
            let dot = rest.iter().position(|&b| b == b'.')?;
            Some((&rest[..dot], &rest[dot + 1..]))
        })
        .is_some_and(|(dom, dev)| {
            !dom.is_empty()
                && !dev.is_empty()
                && dom.iter().all(|b| b.is_ascii_digit())
                && dev.iter().all(|b| b.is_ascii_digit())
        })
}

/// The kind of an interface from its name and its driver's (name, bus info).
/// A device on a bus (PCI ...) is `physical`; bond slaves are such devices.
pub fn classify(name: &[u8], driver: &str, bus_info: &str, loopback: bool) -> Kind {
    if loopback {
        return Kind::Loopback;
    }
    if xen_backend(name, b"vif") {
        return Kind::XenVif;
    }
    if xen_backend(name, b"tap") {
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
    pub name: IfName,
    /// Its index.
    pub ifindex: u32,
    /// What it is.
    pub kind: Kind,
}

impl Interface {
    /// The side it is on ([`Kind::role`]).
    pub fn role(&self) -> Role {
        self.kind.role()
    }
}

/// An interface as JSON: `{"name", "ifindex", "kind", "role"}`, what
/// `offload_interfaces_json` and the pyo3 `interfaces_json` return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceEntry {
    /// The name (escaped).
    pub name: IfName,
    /// Its index.
    pub ifindex: u32,
    /// What it is.
    pub kind: Kind,
    /// Which preset groups it gets.
    pub role: Role,
}

/// `{"interfaces": [...]}` of the interfaces `selection` picks, in `netns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selected {
    /// The interfaces, in ifindex order.
    pub interfaces: Vec<InterfaceEntry>,
}

/// The interfaces `selection` picks in `netns` (named ones that are absent
/// are left out).
pub fn select(netns: Option<&str>, selection: &Selection) -> Result<Selected> {
    let selection = selection.clone();
    crate::netns::run_in(netns, move || {
        let chosen = selection.resolve_here(&Ethtool::open()?)?;
        Ok(Selected {
            interfaces: chosen
                .into_iter()
                .flatten()
                .map(|i| InterfaceEntry {
                    name: i.name,
                    ifindex: i.ifindex,
                    kind: i.kind,
                    role: i.role(),
                })
                .collect(),
        })
    })
}

/// Every interface of the caller's network namespace (use with
/// [`crate::netns::run_in`] for another one), in ifindex order.
pub fn list() -> Result<Vec<Interface>> {
    list_with(&Ethtool::open()?)
}

/// [`list`] through a handle the caller keeps.
pub fn list_with(ethtool: &Ethtool) -> Result<Vec<Interface>> {
    let names = nix::net::if_::if_nameindex().map_err(|e| Error::Ethtool {
        op: "if_nameindex",
        ifname: String::new(),
        source: e.into(),
    })?;
    let mut out = Vec::new();
    for entry in names.iter() {
        // The kernel only lists valid names.
        let Ok(name) = IfName::new(entry.name().to_bytes()) else {
            continue;
        };
        let (driver, bus) = ethtool.driver_info(&name);
        let loopback = name == "lo";
        out.push(Interface {
            kind: classify(name.as_bytes(), &driver, &bus, loopback),
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

    fn interface(name: &str, kind: Kind) -> Interface {
        Interface {
            name: IfName::new(name).unwrap(),
            ifindex: 1,
            kind,
        }
    }

    fn names(chosen: Vec<std::result::Result<Interface, IfName>>) -> Vec<String> {
        chosen
            .into_iter()
            .map(|c| c.map_or_else(|n| format!("missing {n}"), |i| i.name.to_string()))
            .collect()
    }

    #[test]
    fn one_rule_for_all_nics_and_vifs() {
        let present = [
            interface("lo", Kind::Loopback),
            interface("eth0", Kind::Physical),
            interface("bond0", Kind::Bond),
            interface("xenbr0", Kind::Bridge),
            interface("vif3.0", Kind::XenVif),
            interface("tap3.0", Kind::XenTap),
        ];
        let pick = |targets| names(Selection::targets(targets).resolve(&present));
        assert_eq!(
            pick(Targets::All),
            ["eth0", "bond0", "xenbr0", "vif3.0", "tap3.0"]
        );
        assert_eq!(pick(Targets::Nics), ["eth0", "bond0", "xenbr0"]);
        assert_eq!(pick(Targets::Vifs), ["vif3.0", "tap3.0"]);
        let globbed = Selection::new(
            Vec::new(),
            true,
            Targets::All,
            &["physical".into(), "xenvif".into()],
            Vec::new(),
            vec!["eth*".into()],
        )
        .unwrap();
        assert_eq!(names(globbed.resolve(&present)), ["vif3.0"]);
        let named = Selection::names(vec![
            IfName::new("vif3.0").unwrap(),
            IfName::new("nope0").unwrap(),
            IfName::new("vif3.0").unwrap(),
        ]);
        assert_eq!(names(named.resolve(&present)), ["vif3.0", "missing nope0"]);
    }

    #[test]
    fn names_never_silently_beat_filters() {
        let eth0 = vec![IfName::new("eth0").unwrap()];
        for (all, targets, kinds, include, exclude) in [
            (true, Targets::All, vec![], vec![], vec![]),
            (false, Targets::Vifs, vec![], vec![], vec![]),
            (
                false,
                Targets::All,
                vec!["bond".to_string()],
                vec![],
                vec![],
            ),
            (false, Targets::All, vec![], vec!["e*".to_string()], vec![]),
            (false, Targets::All, vec![], vec![], vec!["e*".to_string()]),
        ] {
            let err = Selection::new(eth0.clone(), all, targets, &kinds, include, exclude);
            assert!(matches!(err, Err(Error::InvalidSelection { .. })));
        }
        assert!(Selection::new(
            Vec::new(),
            false,
            Targets::All,
            &["nic".into()],
            vec![],
            vec![]
        )
        .is_err());
    }

    #[test]
    fn kinds_from_names_and_drivers() {
        assert_eq!(classify(b"vif3.0", "vif", "vif-3-0", false), Kind::XenVif);
        assert_eq!(classify(b"tap12.1", "tun", "tap", false), Kind::XenTap);
        assert_eq!(classify(b"tap0", "tun", "tap", false), Kind::Tap);
        assert_eq!(
            classify(b"eth0", "ixgbe", "0000:03:00.0", false),
            Kind::Physical
        );
        assert_eq!(classify(b"xenbr0", "bridge", "N/A", false), Kind::Bridge);
        assert_eq!(classify(b"bond0", "bonding", "", false), Kind::Bond);
        assert_eq!(
            classify(b"eth0.10", "802.1Q VLAN Support", "", false),
            Kind::Vlan
        );
        assert_eq!(classify(b"lo", "", "", true), Kind::Loopback);
        assert_eq!(classify(b"vifx.0", "veth", "", false), Kind::Veth);
        assert_eq!(
            classify(b"ovs-system", "openvswitch", "", false),
            Kind::Other
        );
    }
}
