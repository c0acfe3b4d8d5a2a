//! Typed records for the classes we touch, read with one
//! `get_all_records` per class (never one call per object).
//!
//! Wire quirks handled here: XML-RPC sends int64 as strings (`"1500"`),
//! JSON-RPC as numbers; missing fields default, so older hosts work.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::wire::{jsonrpc, Value};

/// `OpaqueRef:NULL`, XAPI's null reference.
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// Whether a ref points at nothing.
pub fn is_null(reference: &str) -> bool {
    reference.is_empty() || reference == NULL_REF
}

fn int_from_wire<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Int(i64),
        Text(String),
    }
    match Wire::deserialize(d)? {
        Wire::Int(i) => Ok(i),
        Wire::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A host of the pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Host {
    pub uuid: String,
    pub name_label: String,
    pub hostname: String,
    pub address: String,
    pub enabled: bool,
    #[serde(rename = "PIFs")]
    pub pifs: Vec<String>,
    #[serde(rename = "resident_VMs")]
    pub resident_vms: Vec<String>,
    pub control_domain: String,
    pub software_version: BTreeMap<String, String>,
}

/// networkd's backend on a host (`software_version:network_backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkBackend {
    /// xapi's default: no `bondN` or `ethX.V` netdev exists.
    Openvswitch,
    /// Linux bridge: bond and VLAN PIFs are devices of their own.
    Bridge,
}

impl Host {
    /// The backend; openvswitch when the host does not say (xapi's default).
    pub fn network_backend(&self) -> NetworkBackend {
        match self
            .software_version
            .get("network_backend")
            .map(String::as_str)
        {
            Some("bridge") => NetworkBackend::Bridge,
            _ => NetworkBackend::Openvswitch,
        }
    }
}

/// A network (bridge).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    pub uuid: String,
    pub name_label: String,
    pub bridge: String,
    #[serde(rename = "PIFs")]
    pub pifs: Vec<String>,
    #[serde(rename = "VIFs")]
    pub vifs: Vec<String>,
    pub other_config: BTreeMap<String, String>,
}

/// A host network interface: physical NIC, bond master or VLAN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pif {
    pub uuid: String,
    pub device: String,
    pub network: String,
    pub host: String,
    #[serde(rename = "MAC")]
    pub mac: String,
    #[serde(rename = "MTU", deserialize_with = "int_from_wire")]
    pub mtu: i64,
    /// -1 unless a VLAN.
    #[serde(rename = "VLAN", deserialize_with = "int_from_wire")]
    pub vlan: i64,
    pub physical: bool,
    pub currently_attached: bool,
    pub management: bool,
    pub managed: bool,
    pub bond_slave_of: String,
    pub bond_master_of: Vec<String>,
    #[serde(rename = "VLAN_master_of")]
    pub vlan_master_of: String,
    #[serde(rename = "tunnel_access_PIF_of")]
    pub tunnel_access_pif_of: Vec<String>,
    pub other_config: BTreeMap<String, String>,
    /// `gro=on|off` (`PIF.set_property`): networkd's gro when `ethtool-gro`
    /// is absent (`Nm.determine_ethtool_settings`).
    pub properties: BTreeMap<String, String>,
}

/// What kind of device a PIF is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PifKind {
    Physical,
    Bond,
    Vlan,
    /// A tunnel access PIF (`tunnelN`).
    Tunnel,
    /// SR-IOV logical PIFs and other virtual devices.
    Other,
}

impl Pif {
    pub fn kind(&self) -> PifKind {
        if self.vlan >= 0 {
            PifKind::Vlan
        } else if !self.bond_master_of.is_empty() {
            PifKind::Bond
        } else if !self.tunnel_access_pif_of.is_empty() {
            PifKind::Tunnel
        } else if self.physical {
            PifKind::Physical
        } else {
            PifKind::Other
        }
    }
}

/// A VM, template, snapshot or control domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vm {
    pub uuid: String,
    pub name_label: String,
    pub power_state: String,
    pub is_a_template: bool,
    /// A built-in template (xapi's own; also `other_config:default_template=true`).
    pub is_default_template: bool,
    pub is_a_snapshot: bool,
    pub is_control_domain: bool,
    pub resident_on: String,
    #[serde(rename = "VIFs")]
    pub vifs: Vec<String>,
    #[serde(deserialize_with = "int_from_wire")]
    pub domid: i64,
    pub other_config: BTreeMap<String, String>,
    pub allowed_operations: Vec<String>,
    /// `hvm`, `pv`, `pvh`, `pv_in_pvh` (empty on hosts before 7.5).
    pub domain_type: String,
    /// Null until a guest agent (PV drivers) reports.
    pub guest_metrics: String,
}

impl Vm {
    /// An HVM guest without PV drivers: its NICs are emulated (`tapD.N`),
    /// which no VIF key reaches (xenopsd's vif-real runs ethtool for `vif` only).
    pub fn nics_emulated(&self) -> bool {
        self.domain_type == "hvm" && is_null(&self.guest_metrics)
    }

    /// The seed's selection: real guests, not dom0, templates or snapshots.
    pub fn is_guest(&self) -> bool {
        !self.is_control_domain && !self.is_a_template && !self.is_a_snapshot
    }

    /// A template of the admin's own: not built-in, not a snapshot. xapi
    /// copies VIF `other_config` to every VM cloned or copied from it
    /// (`Xapi_vm_clone.clone` → `Xapi_vif_helpers.copy`). Built-in templates
    /// are recognised as xapi's export does (`is_default_template`, or
    /// `other_config:default_template=true`).
    pub fn is_custom_template(&self) -> bool {
        let builtin = self.is_default_template
            || self
                .other_config
                .get("default_template")
                .map(String::as_str)
                == Some("true");
        self.is_a_template && !self.is_a_snapshot && !self.is_control_domain && !builtin
    }

    pub fn is_running(&self) -> bool {
        self.power_state.eq_ignore_ascii_case("running")
    }
}

/// A VM's virtual NIC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vif {
    pub uuid: String,
    pub device: String,
    pub network: String,
    #[serde(rename = "VM")]
    pub vm: String,
    #[serde(rename = "MAC")]
    pub mac: String,
    pub currently_attached: bool,
    pub other_config: BTreeMap<String, String>,
    pub allowed_operations: Vec<String>,
}

/// Everything the offload policies look at, keyed by ref.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolView {
    pub hosts: BTreeMap<String, Host>,
    pub networks: BTreeMap<String, Network>,
    pub pifs: BTreeMap<String, Pif>,
    pub vms: BTreeMap<String, Vm>,
    pub vifs: BTreeMap<String, Vif>,
}

/// Decodes a `get_all_records` result (ref → record).
pub fn records_of<T: for<'de> Deserialize<'de>>(
    class: &str,
    value: &Value,
) -> Result<BTreeMap<String, T>> {
    let members = value.as_struct().ok_or_else(|| Error::Decode {
        target: String::new(),
        method: format!("{class}.get_all_records"),
        message: format!("expected a struct of records, got a {}", value.kind()),
    })?;
    members
        .iter()
        .map(|(reference, record)| {
            let json = jsonrpc::to_json(record);
            let typed = T::deserialize(json).map_err(|e| Error::Decode {
                target: String::new(),
                method: format!("{class}.get_all_records"),
                message: format!("record {reference}: {e}"),
            })?;
            Ok((reference.clone(), typed))
        })
        .collect()
}

impl PoolView {
    /// Reads hosts, networks, PIFs, VMs and VIFs: five calls, run in parallel.
    pub fn fetch(client: &Client) -> Result<PoolView> {
        Self::fetch_classes(client, true, true)
    }

    /// Reads only what PIF work needs (hosts, networks, PIFs) or VIF work
    /// needs (VMs, VIFs, networks, hosts).
    pub fn fetch_classes(client: &Client, pifs: bool, vifs: bool) -> Result<PoolView> {
        std::thread::scope(|scope| {
            let get = |class: &'static str| {
                let client = client.clone();
                scope.spawn(move || client.call(&format!("{class}.get_all_records"), &[]))
            };
            let hosts = get("host");
            let networks = get("network");
            let pif_records = pifs.then(|| get("PIF"));
            let vm_records = vifs.then(|| get("VM"));
            let vif_records = vifs.then(|| get("VIF"));
            let join = |h: std::thread::ScopedJoinHandle<'_, Result<Value>>| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::invalid("get_all_records", "reader thread panicked"))
                })
            };
            let mut view = PoolView {
                hosts: records_of("host", &join(hosts)?)?,
                networks: records_of("network", &join(networks)?)?,
                ..PoolView::default()
            };
            if let Some(h) = pif_records {
                view.pifs = records_of("PIF", &join(h)?)?;
            }
            if let Some(h) = vm_records {
                view.vms = records_of("VM", &join(h)?)?;
            }
            if let Some(h) = vif_records {
                view.vifs = records_of("VIF", &join(h)?)?;
            }
            Ok(view)
        })
    }

    pub fn host_name(&self, reference: &str) -> &str {
        self.hosts
            .get(reference)
            .map_or("", |h| h.name_label.as_str())
    }

    pub fn network_name(&self, reference: &str) -> &str {
        self.networks
            .get(reference)
            .map_or("", |n| n.name_label.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_from_xmlrpc_strings_and_json_numbers() {
        let pif = Value::structure([
            ("uuid", Value::str("u1")),
            ("device", Value::str("eth0")),
            ("MTU", Value::str("1500")),
            ("VLAN", Value::str("-1")),
            ("physical", Value::Bool(true)),
            ("bond_master_of", Value::Array(vec![])),
            ("other_config", Value::string_map([("ethtool-tx", "off")])),
            ("unknown_new_field", Value::Int(3)),
        ]);
        let all = Value::structure([("OpaqueRef:a", pif.clone())]);
        let pifs: BTreeMap<String, Pif> = records_of("PIF", &all).unwrap();
        let p = &pifs["OpaqueRef:a"];
        assert_eq!((p.mtu, p.vlan, p.kind()), (1500, -1, PifKind::Physical));
        assert_eq!(p.other_config["ethtool-tx"], "off");

        let vm = Value::structure([
            ("domid", Value::Int(7)),
            ("power_state", Value::str("Running")),
        ]);
        let vms: BTreeMap<String, Vm> =
            records_of("VM", &Value::structure([("OpaqueRef:v", vm)])).unwrap();
        assert_eq!(vms["OpaqueRef:v"].domid, 7);
        assert!(vms["OpaqueRef:v"].is_running() && vms["OpaqueRef:v"].is_guest());

        let bad = Value::structure([(
            "OpaqueRef:b",
            Value::structure([("MTU", Value::str("big"))]),
        )]);
        let err = records_of::<Pif>("PIF", &bad).unwrap_err().to_string();
        assert!(err.contains("OpaqueRef:b"), "{err}");
    }
}
