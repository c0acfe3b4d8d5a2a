//! What the host will really do with the keys of one object, beyond reading
//! them (that is [`crate::policy::audit_key`]): whether a device that the
//! keys reach exists at all, and where keys go instead.
//!
//! From xapi's source: `Nm.create_bridges` (ocaml/xapi/nm.ml) configures a
//! bond's slaves with their own `other_config` (`create_bond`) and the
//! `bondN` / `ethX.V` device only through `linux_pif_config`, which
//! networkd's `Interface.make_config` (ocaml/networkd/bin/network_server.ml)
//! drops under openvswitch because no such device exists; tunnel access PIFs
//! get a bridge and no interface configuration. xenopsd's `vif-real` runs
//! ethtool for `vif` devices only, never for an HVM guest's emulated `tapD.N`.

use std::collections::BTreeMap;
use std::fmt;

use offload_core::features::XapiObject;
use serde::Serialize;

use crate::policy::{pif_target, Target};
use crate::records::{is_null, NetworkBackend, Pif, PoolView};

/// Why keys on an object change nothing on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoEffect {
    /// A bond master under openvswitch: no `bondN` device; the slaves'
    /// own keys are applied when the master is plugged.
    BondMaster { slaves: Vec<String> },
    /// A VLAN PIF under openvswitch: no `ethX.V` device.
    Vlan { device: String, tagged: String },
    /// A tunnel access PIF: no interface configuration at all.
    Tunnel,
    /// A VIF of an HVM guest without PV drivers: traffic uses `tapD.N`.
    EmulatedNic,
    /// A network without PIFs (internal): `Nm.bring_pif_up` is the only
    /// place xapi applies network keys, to the bridge of the PIF it brings up.
    NoPif,
}

impl fmt::Display for NoEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoEffect::BondMaster { slaves } => write!(
                f,
                "no effect under openvswitch: the keys belong on the bond's slaves {}",
                slaves.join(", ")
            ),
            NoEffect::Vlan { device, tagged } => write!(
                f,
                "no effect under openvswitch: there is no {device} device; the keys belong on {tagged}"
            ),
            NoEffect::Tunnel => f.write_str("no effect: tunnel PIFs get no interface configuration"),
            NoEffect::EmulatedNic => {
                f.write_str("emulated NIC: no effect until PV drivers are installed")
            }
            NoEffect::NoPif => f.write_str(
                "no effect: an internal network (no PIF); xapi applies network keys only when it brings up a PIF of the network",
            ),
        }
    }
}

impl Serialize for NoEffect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What removing keys (`clear`) does not undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClearLeaves {
    /// `Nm.determine_ethtool_settings` passes only keys that are present,
    /// and networkd runs `ethtool -K` for those only: a removed key leaves
    /// the NIC as it is (gro comes back from `PIF.properties`, lro is always
    /// set off).
    PifFeaturesAsTheyAre,
    /// A VIF's keys are read when its backend comes online; a running VM
    /// keeps the old settings until then, after which netback's defaults apply.
    VifUntilBackendRestarts,
    /// A network's keys reach its bridges like PIF keys reach NICs: only
    /// present keys are applied, so the bridges keep what they run.
    BridgesAsTheyAre,
}

impl ClearLeaves {
    pub fn of(object: XapiObject) -> ClearLeaves {
        match object {
            XapiObject::Pif => ClearLeaves::PifFeaturesAsTheyAre,
            XapiObject::Vif => ClearLeaves::VifUntilBackendRestarts,
            XapiObject::Network => ClearLeaves::BridgesAsTheyAre,
        }
    }
}

impl fmt::Display for ClearLeaves {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClearLeaves::PifFeaturesAsTheyAre => {
                "removing PIF keys switches nothing back on: the host runs ethtool -K only for keys \
                 that are present, so each NIC keeps rx, tx, sg, tso, ufo and gso as they are now \
                 until a host reboot or a driver reload (gro comes back from PIF.properties at the \
                 next PIF.plug; lro stays off). A real undo is `xapi restore FILE` after \
                 `pif apply --save FILE`; without a saved file, apply them as on \
                 (e.g. pif apply --set tx=on,sg=on --replug), then clear."
            }
            ClearLeaves::BridgesAsTheyAre => {
                "removing network keys switches nothing back on: each host's bridge keeps its \
                 offloads as they are now until a host reboot (gro comes back from the PIF's \
                 properties at the next PIF.plug; lro stays off). To switch them on, apply them \
                 as on (network apply --set tx=on,... --replug), then clear."
            }
            ClearLeaves::VifUntilBackendRestarts => {
                "running VMs keep the removed settings until their VIF is plugged again or the VM \
                 is restarted through the API (vif apply --replug or --reboot with a policy); \
                 then netback's defaults apply."
            }
        })
    }
}

impl Serialize for ClearLeaves {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn backend_of(view: &PoolView, pif: &Pif) -> NetworkBackend {
    view.hosts
        .get(&pif.host)
        .map_or(NetworkBackend::Openvswitch, |h| h.network_backend())
}

/// The slave PIFs of a bond master (refs), in device order.
pub fn bond_slaves<'v>(view: &'v PoolView, master: &Pif) -> Vec<(&'v String, &'v Pif)> {
    let mut slaves: Vec<_> = view
        .pifs
        .iter()
        .filter(|(_, p)| {
            !is_null(&p.bond_slave_of) && master.bond_master_of.contains(&p.bond_slave_of)
        })
        .collect();
    slaves.sort_by(|a, b| a.1.device.cmp(&b.1.device));
    slaves
}

/// The bond master PIF (ref) of a slave.
pub fn bond_master_of<'v>(view: &'v PoolView, slave: &Pif) -> Option<&'v String> {
    if is_null(&slave.bond_slave_of) {
        return None;
    }
    view.pifs
        .iter()
        .find(|(_, p)| p.bond_master_of.contains(&slave.bond_slave_of))
        .map(|(r, _)| r)
}

/// Why the keys of `target` would change nothing, if they would not.
pub fn no_effect(view: &PoolView, target: &Target) -> Option<NoEffect> {
    match target.class {
        XapiObject::Pif => {
            let pif = view.pifs.get(&target.reference)?;
            let ovs = backend_of(view, pif) == NetworkBackend::Openvswitch;
            if !pif.tunnel_access_pif_of.is_empty() {
                Some(NoEffect::Tunnel)
            } else if !pif.bond_master_of.is_empty() && ovs {
                let slaves = bond_slaves(view, pif)
                    .into_iter()
                    .map(|(_, p)| p.device.clone())
                    .collect();
                Some(NoEffect::BondMaster { slaves })
            } else if pif.vlan >= 0 && ovs {
                Some(NoEffect::Vlan {
                    device: format!("{}.{}", pif.device, pif.vlan),
                    tagged: pif.device.clone(),
                })
            } else {
                None
            }
        }
        XapiObject::Vif => {
            let vif = view.vifs.get(&target.reference)?;
            let vm = view.vms.get(&vif.vm)?;
            vm.nics_emulated().then_some(NoEffect::EmulatedNic)
        }
        XapiObject::Network => network_pifs(view, &target.reference)
            .is_empty()
            .then_some(NoEffect::NoPif),
    }
}

/// The PIFs of a network (refs), in a stable order.
pub fn network_pifs<'v>(view: &'v PoolView, network: &str) -> Vec<(&'v String, &'v Pif)> {
    view.pifs
        .iter()
        .filter(|(_, p)| p.network == network)
        .collect()
}

/// The properties networkd reads with a target's keys (only `gro` exists):
/// a PIF's own, a bond slave's master's (`Nm.create_bond` passes the
/// master's properties for each slave), a network's when all its PIFs agree
/// (the bridge is configured with the properties of the PIF brought up).
pub fn properties_of(view: &PoolView, target: &Target) -> BTreeMap<String, String> {
    match target.class {
        XapiObject::Pif => {
            let Some(pif) = view.pifs.get(&target.reference) else {
                return BTreeMap::new();
            };
            bond_master_of(view, pif)
                .and_then(|m| view.pifs.get(m))
                .unwrap_or(pif)
                .properties
                .clone()
        }
        XapiObject::Network => {
            let mut all = network_pifs(view, &target.reference)
                .into_iter()
                .map(|(_, p)| &p.properties);
            let Some(first) = all.next() else {
                return BTreeMap::new();
            };
            let mut common = first.clone();
            for other in all {
                common.retain(|k, v| other.get(k) == Some(v));
            }
            common
        }
        XapiObject::Vif => BTreeMap::new(),
    }
}

/// A PIF selection with the slaves of every selected bond master that has
/// no device of its own added (keys work there), without duplicates.
pub fn with_bond_slaves(view: &PoolView, mut targets: Vec<Target>) -> Vec<Target> {
    let mut added = Vec::new();
    for target in &targets {
        if let Some(NoEffect::BondMaster { .. }) = no_effect(view, target) {
            let Some(master) = view.pifs.get(&target.reference) else {
                continue;
            };
            for (reference, slave) in bond_slaves(view, master) {
                let known = targets
                    .iter()
                    .chain(&added)
                    .any(|t: &Target| &t.reference == reference);
                if !known {
                    added.push(pif_target(view, reference, slave));
                }
            }
        }
    }
    targets.extend(added);
    targets.sort_by(|a, b| a.label.cmp(&b.label));
    targets
}

/// The PIFs to plug so the keys of `pifs` take effect: a bond slave's master
/// (once, whatever the number of its slaves), never a slave; none for PIFs
/// whose keys have no effect.
pub fn plug_targets(view: &PoolView, pifs: &[&Target]) -> Vec<Target> {
    let mut plugs: Vec<Target> = Vec::new();
    for target in pifs {
        let Some(pif) = view.pifs.get(&target.reference) else {
            continue;
        };
        let plug = match bond_master_of(view, pif) {
            Some(master_ref) => view
                .pifs
                .get(master_ref)
                .map(|master| pif_target(view, master_ref, master)),
            None if no_effect(view, target).is_none() => Some((*target).clone()),
            None => None,
        };
        if let Some(plug) = plug {
            if !plugs.iter().any(|p| p.reference == plug.reference) {
                plugs.push(plug);
            }
        }
    }
    plugs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Host, Vif, Vm};

    /// eth0; bond0 over eth2+eth3; eth1.100; tunnel0 over eth1.
    fn pool(backend: &str) -> PoolView {
        let mut view = PoolView::default();
        let mut host = Host::default();
        host.software_version
            .insert("network_backend".into(), backend.into());
        view.hosts.insert("H".into(), host);
        let pif = |device: &str, vlan: i64| Pif {
            uuid: format!("u-{device}-{vlan}"),
            device: device.into(),
            host: "H".into(),
            vlan,
            physical: vlan < 0,
            bond_slave_of: crate::records::NULL_REF.into(),
            ..Pif::default()
        };
        view.pifs.insert("eth1".into(), pif("eth1", -1));
        let mut eth2 = pif("eth2", -1);
        eth2.bond_slave_of = "B".into();
        let mut eth3 = pif("eth3", -1);
        eth3.bond_slave_of = "B".into();
        view.pifs.insert("eth2".into(), eth2);
        view.pifs.insert("eth3".into(), eth3);
        let mut bond0 = pif("bond0", -1);
        bond0.physical = false;
        bond0.bond_master_of = vec!["B".into()];
        view.pifs.insert("bond0".into(), bond0);
        view.pifs.insert("vlan".into(), pif("eth1", 100));
        let mut tunnel = pif("tunnel0", -1);
        tunnel.physical = false;
        tunnel.tunnel_access_pif_of = vec!["T".into()];
        view.pifs.insert("tunnel0".into(), tunnel);
        view
    }

    fn target(view: &PoolView, reference: &str) -> Target {
        pif_target(view, reference, &view.pifs[reference])
    }

    #[test]
    fn openvswitch_gives_bond_vlan_and_tunnel_keys_no_device() {
        let view = pool("openvswitch");
        let effect = |r: &str| no_effect(&view, &target(&view, r));
        assert_eq!(effect("eth1"), None);
        assert_eq!(effect("eth2"), None);
        assert_eq!(
            effect("bond0").unwrap().to_string(),
            "no effect under openvswitch: the keys belong on the bond's slaves eth2, eth3"
        );
        assert_eq!(
            effect("vlan").unwrap().to_string(),
            "no effect under openvswitch: there is no eth1.100 device; the keys belong on eth1"
        );
        assert_eq!(effect("tunnel0"), Some(NoEffect::Tunnel));
        let bridge = pool("bridge");
        assert_eq!(no_effect(&bridge, &target(&bridge, "bond0")), None);
        assert_eq!(no_effect(&bridge, &target(&bridge, "vlan")), None);
        assert_eq!(
            no_effect(&bridge, &target(&bridge, "tunnel0")),
            Some(NoEffect::Tunnel)
        );
    }

    #[test]
    fn a_selected_bond_brings_its_slaves_and_plugs_once_through_the_master() {
        let view = pool("openvswitch");
        let selected = with_bond_slaves(&view, vec![target(&view, "bond0")]);
        let refs: Vec<_> = selected.iter().map(|t| t.reference.as_str()).collect();
        assert_eq!(refs, ["bond0", "eth2", "eth3"]);
        let all: Vec<Target> = ["eth1", "eth2", "eth3", "bond0", "vlan", "tunnel0"]
            .iter()
            .map(|r| target(&view, r))
            .collect();
        let all = with_bond_slaves(&view, all);
        assert_eq!(all.len(), 6, "slaves already selected are not added twice");
        let plugs = plug_targets(&view, &all.iter().collect::<Vec<_>>());
        let plugs: Vec<_> = plugs.iter().map(|t| t.reference.as_str()).collect();
        assert_eq!(
            plugs,
            ["eth1", "bond0"],
            "master once, never a slave, no VLAN or tunnel"
        );
    }

    #[test]
    fn a_bond_slave_reads_gro_from_its_masters_properties() {
        let mut view = pool("openvswitch");
        view.pifs.get_mut("bond0").unwrap().properties = [("gro".into(), "off".into())].into();
        view.pifs.get_mut("eth2").unwrap().properties = [("gro".into(), "on".into())].into();
        let gro = |r: &str| properties_of(&view, &target(&view, r)).get("gro").cloned();
        assert_eq!(
            gro("eth2").as_deref(),
            Some("off"),
            "Nm.create_bond: master_rc's properties"
        );
        assert_eq!(gro("eth1"), None);
        view.networks
            .insert("N".into(), crate::records::Network::default());
        let network = Target::unlabelled(XapiObject::Network, "N");
        assert_eq!(no_effect(&view, &network), Some(NoEffect::NoPif));
        view.pifs.get_mut("eth1").unwrap().network = "N".into();
        assert_eq!(no_effect(&view, &network), None);
    }

    #[test]
    fn hvm_guests_without_pv_drivers_use_an_emulated_nic() {
        let mut view = PoolView::default();
        let vm = |domain_type: &str, metrics: &str| Vm {
            domain_type: domain_type.into(),
            guest_metrics: metrics.into(),
            ..Vm::default()
        };
        view.vms
            .insert("bare".into(), vm("hvm", crate::records::NULL_REF));
        view.vms.insert("tools".into(), vm("hvm", "OpaqueRef:gm"));
        view.vms
            .insert("pv".into(), vm("pv", crate::records::NULL_REF));
        for vm in ["bare", "tools", "pv"] {
            view.vifs.insert(
                vm.into(),
                Vif {
                    vm: vm.into(),
                    ..Vif::default()
                },
            );
        }
        let effect = |r: &str| no_effect(&view, &Target::unlabelled(XapiObject::Vif, r));
        assert_eq!(effect("bare"), Some(NoEffect::EmulatedNic));
        assert_eq!(effect("tools"), None);
        assert_eq!(effect("pv"), None);
    }
}
