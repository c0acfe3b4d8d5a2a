//! Pool descriptions (JSON files such as `pools/lab.json`, or a generator)
//! and how they become database objects with xapi's record fields
//! (research §3.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::db::{Class, Db, NetworkBackend, NULL_REF};
use offload_xapi::wire::Value;

/// A whole pool. The first host is the master.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolDesc {
    #[serde(default)]
    pub name_label: String,
    /// Seed for uuids, refs and MACs.
    #[serde(default)]
    pub seed: u64,
    pub networks: Vec<NetworkDesc>,
    pub hosts: Vec<HostDesc>,
    #[serde(default)]
    pub vms: Vec<VmDesc>,
    /// networkd's backend on every host (default openvswitch, as xapi's).
    #[serde(default)]
    pub network_backend: NetworkBackend,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkDesc {
    pub name_label: String,
    pub bridge: String,
    #[serde(default = "default_mtu", rename = "MTU")]
    pub mtu: i64,
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostDesc {
    pub name_label: String,
    pub address: String,
    pub pifs: Vec<PifDesc>,
}

/// A PIF: physical by default; a bond master when `bond_slaves` is set (the
/// slaves keep their own PIFs and networks, as in xapi); a VLAN when `vlan`
/// is set (its `device` is the tagged PIF's device, as in xapi); a tunnel
/// access PIF (`tunnelN`, not physical) when `tunnel_over` names its
/// transport PIF's device (`Xapi_tunnel.create_internal`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PifDesc {
    pub device: String,
    /// The network's `name_label`.
    pub network: String,
    #[serde(default)]
    pub management: bool,
    #[serde(default)]
    pub bond_slaves: Vec<String>,
    #[serde(default)]
    pub vlan: Option<i64>,
    #[serde(default)]
    pub tunnel_over: Option<String>,
    #[serde(default = "yes")]
    pub currently_attached: bool,
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
    /// `PIF.properties` (xapi's default: `gro=on`, `Xapi_pif.default_properties`).
    #[serde(default = "default_properties")]
    pub properties: BTreeMap<String, String>,
}

fn default_properties() -> BTreeMap<String, String> {
    [("gro".to_string(), "on".to_string())].into()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum PowerState {
    Running,
    Halted,
    Paused,
    Suspended,
}

impl PowerState {
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::Running => "Running",
            PowerState::Halted => "Halted",
            PowerState::Paused => "Paused",
            PowerState::Suspended => "Suspended",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmDesc {
    pub name_label: String,
    #[serde(default = "halted")]
    pub power_state: PowerState,
    /// The host a running VM is resident on (`name_label`); default: the master.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub is_a_template: bool,
    /// A built-in template (`is_default_template`, as xapi's own templates).
    #[serde(default)]
    pub is_default_template: bool,
    /// Makes this VM a snapshot of the named VM (snapshots are templates in xapi).
    #[serde(default)]
    pub snapshot_of: Option<String>,
    /// Whether the guest supports VIF hotplug (PV drivers).
    #[serde(default = "yes")]
    pub hotplug: bool,
    #[serde(default = "pv")]
    pub domain_type: String,
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
    /// Operation → reason, as `xe vm-param-set blocked-operations:clean_reboot=..`.
    #[serde(default)]
    pub blocked_operations: BTreeMap<String, String>,
    #[serde(default)]
    pub vifs: Vec<VifDesc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VifDesc {
    /// The network's `name_label`.
    pub network: String,
    #[serde(default)]
    pub other_config: BTreeMap<String, String>,
}

fn default_mtu() -> i64 {
    1500
}
fn yes() -> bool {
    true
}
fn halted() -> PowerState {
    PowerState::Halted
}
fn pv() -> String {
    "pv".into()
}

/// Sizes for [`PoolDesc::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSpec {
    pub hosts: usize,
    pub pifs_per_host: usize,
    pub vms: usize,
    pub vifs_per_vm: usize,
    pub seed: u64,
}

impl PoolDesc {
    /// Reads a JSON pool description.
    pub fn from_json(text: &str) -> Result<PoolDesc, String> {
        serde_json::from_str(text).map_err(|e| format!("bad pool description: {e}"))
    }

    /// A pool of `hosts` hosts with `eth0..` on pool-wide networks (eth0 is
    /// management), `vms` running VMs `vm-0001..` spread over the hosts (every
    /// tenth halted, every fifth without VIF hotplug) with `vifs_per_vm` VIFs.
    pub fn generate(spec: GenSpec) -> PoolDesc {
        let nics = spec.pifs_per_host.max(1);
        let networks = (0..nics)
            .map(|k| NetworkDesc {
                name_label: format!("Pool-wide network associated with eth{k}"),
                bridge: format!("xenbr{k}"),
                mtu: 1500,
                other_config: BTreeMap::new(),
            })
            .collect::<Vec<_>>();
        let hosts = (0..spec.hosts.max(1))
            .map(|h| HostDesc {
                name_label: format!("host-{:02}", h + 1),
                address: format!("10.0.{}.{}", h / 250, h % 250 + 1),
                pifs: (0..spec.pifs_per_host)
                    .map(|k| PifDesc {
                        device: format!("eth{k}"),
                        network: networks[k].name_label.clone(),
                        management: k == 0,
                        bond_slaves: Vec::new(),
                        vlan: None,
                        tunnel_over: None,
                        currently_attached: true,
                        other_config: BTreeMap::new(),
                        properties: default_properties(),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>();
        let vms = (0..spec.vms)
            .map(|i| VmDesc {
                name_label: format!("vm-{:04}", i + 1),
                power_state: if i % 10 == 9 {
                    PowerState::Halted
                } else {
                    PowerState::Running
                },
                host: Some(hosts[i % hosts.len()].name_label.clone()),
                is_a_template: false,
                is_default_template: false,
                snapshot_of: None,
                hotplug: i % 5 != 4,
                domain_type: if i % 5 == 4 {
                    "hvm".into()
                } else {
                    "pv".into()
                },
                other_config: BTreeMap::new(),
                blocked_operations: BTreeMap::new(),
                vifs: (0..spec.vifs_per_vm)
                    .map(|j| VifDesc {
                        network: networks[j % networks.len()].name_label.clone(),
                        other_config: BTreeMap::new(),
                    })
                    .collect(),
            })
            .collect();
        PoolDesc {
            name_label: "generated pool".into(),
            seed: spec.seed,
            networks,
            hosts,
            vms,
            network_backend: NetworkBackend::default(),
        }
    }
}

fn fields(pairs: Vec<(&str, Value)>) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn map(m: &BTreeMap<String, String>) -> Value {
    Value::Struct(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
            .collect(),
    )
}

fn empty_set() -> Value {
    Value::Array(Vec::new())
}

fn empty_map() -> Value {
    Value::Struct(BTreeMap::new())
}

fn s(text: &str) -> Value {
    Value::str(text)
}

/// API version the simulated hosts report (XCP-ng 8.3 / xapi 26.1.4).
pub const API_VERSION: (i64, i64) = (2, 21);

/// Fills a fresh database from a description. Errors name the dangling reference.
pub fn seed(db: &mut Db, pool: &PoolDesc) -> Result<(), String> {
    if pool.hosts.is_empty() {
        return Err("a pool needs at least one host".into());
    }
    db.backend = pool.network_backend;
    let mut networks = BTreeMap::new();
    for n in &pool.networks {
        let r = db.insert(
            Class::Network,
            fields(vec![
                ("name_label", s(&n.name_label)),
                ("name_description", s("")),
                ("allowed_operations", empty_set()),
                ("current_operations", empty_map()),
                ("VIFs", empty_set()),
                ("PIFs", empty_set()),
                ("MTU", Value::Int(n.mtu)),
                ("other_config", map(&n.other_config)),
                ("bridge", s(&n.bridge)),
                ("managed", Value::Bool(true)),
                ("blobs", empty_map()),
                ("tags", empty_set()),
                ("default_locking_mode", s("unlocked")),
                ("assigned_ips", empty_map()),
                ("purpose", empty_set()),
            ]),
        );
        networks.insert(n.name_label.clone(), r);
    }
    let network = |name: &str| {
        networks
            .get(name)
            .cloned()
            .ok_or_else(|| format!("unknown network {name:?}"))
    };

    let mut hosts = BTreeMap::new();
    for h in &pool.hosts {
        let host = db.insert(
            Class::Host,
            fields(vec![
                ("name_label", s(&h.name_label)),
                ("name_description", s("Default install")),
                ("hostname", s(&h.name_label)),
                ("address", s(&h.address)),
                ("API_version_major", Value::Int(API_VERSION.0)),
                ("API_version_minor", Value::Int(API_VERSION.1)),
                ("API_version_vendor", s("XenSource")),
                ("API_version_vendor_implementation", empty_map()),
                (
                    "software_version",
                    Value::string_map([
                        ("product_brand", "XCP-ng"),
                        ("product_version", "8.3.0"),
                        ("xapi", "26.1"),
                        ("xapi_build", "26.1.4"),
                        ("network_backend", pool.network_backend.name()),
                    ]),
                ),
                ("enabled", Value::Bool(true)),
                ("allowed_operations", empty_set()),
                ("current_operations", empty_map()),
                ("PIFs", empty_set()),
                ("resident_VMs", empty_set()),
                ("control_domain", s(NULL_REF)),
                ("other_config", empty_map()),
                ("tls_verification_enabled", Value::Bool(true)),
                ("https_only", Value::Bool(false)),
                ("memory_overhead", Value::Int(0)),
            ]),
        );
        let dom0 = insert_vm(db, &h.name_label, VmKind::ControlDomain, &host);
        db.update(&host, |f| {
            f.insert("control_domain".into(), s(&dom0));
        });
        hosts.insert(h.name_label.clone(), (host.clone(), 1i64));

        let mut by_device: BTreeMap<String, String> = BTreeMap::new();
        let mut seeded: Vec<(String, bool)> = Vec::new();
        for p in &h.pifs {
            let net = network(&p.network)?;
            let is_bond = !p.bond_slaves.is_empty();
            let is_tunnel = p.tunnel_over.is_some();
            let mac = db.rng.mac();
            let pif = db.insert(
                Class::Pif,
                fields(vec![
                    ("device", s(&p.device)),
                    ("network", s(&net)),
                    ("host", s(&host)),
                    ("MAC", s(&mac)),
                    ("MTU", Value::Int(1500)),
                    ("VLAN", Value::Int(p.vlan.unwrap_or(-1))),
                    ("metrics", s(NULL_REF)),
                    (
                        "physical",
                        Value::Bool(!is_bond && !is_tunnel && p.vlan.is_none()),
                    ),
                    ("currently_attached", Value::Bool(p.currently_attached)),
                    (
                        "ip_configuration_mode",
                        s(if p.management { "DHCP" } else { "None" }),
                    ),
                    ("IP", s(if p.management { &h.address } else { "" })),
                    (
                        "netmask",
                        s(if p.management { "255.255.255.0" } else { "" }),
                    ),
                    ("gateway", s("")),
                    ("DNS", s("")),
                    ("bond_slave_of", s(NULL_REF)),
                    ("bond_master_of", empty_set()),
                    ("VLAN_master_of", s(NULL_REF)),
                    ("VLAN_slave_of", empty_set()),
                    ("management", Value::Bool(p.management)),
                    ("other_config", map(&p.other_config)),
                    ("disallow_unplug", Value::Bool(false)),
                    ("tunnel_access_PIF_of", empty_set()),
                    ("tunnel_transport_PIF_of", empty_set()),
                    ("ipv6_configuration_mode", s("None")),
                    ("IPv6", empty_set()),
                    ("ipv6_gateway", s("")),
                    ("primary_address_type", s("IPv4")),
                    ("managed", Value::Bool(true)),
                    ("properties", map(&p.properties)),
                    ("capabilities", empty_set()),
                    ("igmp_snooping_status", s("unknown")),
                    ("sriov_physical_PIF_of", empty_set()),
                    ("sriov_logical_PIF_of", empty_set()),
                    ("PCI", s(NULL_REF)),
                ]),
            );
            db.push_ref(&host, "PIFs", &pif);
            db.push_ref(&net, "PIFs", &pif);
            if is_bond {
                // Xapi_bond.create: a Bond object links the master and the
                // slaves; each slave keeps its own PIF, network and other_config.
                let slaves =
                    p.bond_slaves
                        .iter()
                        .map(|slave| {
                            by_device.get(slave).cloned().ok_or_else(|| {
                                format!("bond slave {slave:?} is not an earlier PIF")
                            })
                        })
                        .collect::<Result<Vec<String>, String>>()?;
                let bond = db.insert(
                    Class::Bond,
                    fields(vec![
                        ("master", s(&pif)),
                        (
                            "slaves",
                            Value::Array(slaves.iter().map(|r| s(r)).collect()),
                        ),
                        ("other_config", empty_map()),
                        ("primary_slave", s(&slaves[0])),
                        ("mode", s("balance-slb")),
                        ("properties", empty_map()),
                        ("links_up", Value::Int(slaves.len() as i64)),
                        ("auto_update_mac", Value::Bool(true)),
                    ]),
                );
                db.set_field(&pif, "bond_master_of", Value::Array(vec![s(&bond)]));
                for slave in &slaves {
                    db.set_field(slave, "bond_slave_of", s(&bond));
                }
            }
            if let Some(transport) = &p.tunnel_over {
                // Tunnel objects are not modelled; the refs link both PIFs.
                let tunnel = db.new_ref();
                let transport = by_device.get(transport).ok_or_else(|| {
                    format!("tunnel transport {transport:?} is not an earlier PIF")
                })?;
                db.set_field(
                    transport,
                    "tunnel_transport_PIF_of",
                    Value::Array(vec![s(&tunnel)]),
                );
                db.set_field(&pif, "tunnel_access_PIF_of", Value::Array(vec![s(&tunnel)]));
            }
            if p.vlan.is_some() {
                let vlan = db.new_ref();
                db.set_field(&pif, "VLAN_master_of", s(&vlan));
                if let Some(tagged) = by_device.get(&p.device) {
                    db.set_field(tagged, "VLAN_slave_of", Value::Array(vec![s(&vlan)]));
                }
            } else {
                by_device.insert(p.device.clone(), pif.clone());
            }
            seeded.push((pif, p.currently_attached));
        }
        // Start of day (Xapi_pif.calculate_pifs_required_at_start_of_day):
        // every attached PIF but the bond slaves, which their master brings up.
        for (pif, attached) in seeded {
            let slave = db
                .get(&pif)
                .is_some_and(|o| o.str("bond_slave_of") != NULL_REF);
            if attached && !slave {
                db.apply_pif(&pif);
            }
        }
    }
    let master = hosts
        .get(&pool.hosts[0].name_label)
        .map(|(r, _)| r.clone())
        .unwrap_or_default();
    db.insert(
        Class::Pool,
        fields(vec![
            ("name_label", s(&pool.name_label)),
            ("name_description", s("")),
            ("master", s(&master)),
            ("default_SR", s(NULL_REF)),
            ("other_config", empty_map()),
            ("tls_verification_enabled", Value::Bool(true)),
            ("ha_enabled", Value::Bool(false)),
        ]),
    );

    let mut vms_by_name: BTreeMap<String, String> = BTreeMap::new();
    for v in &pool.vms {
        let host_name = v.host.clone().unwrap_or(pool.hosts[0].name_label.clone());
        let (host, next_domid) = hosts
            .get_mut(&host_name)
            .ok_or_else(|| format!("VM {:?}: unknown host {host_name:?}", v.name_label))?;
        let kind = match &v.snapshot_of {
            Some(of) => VmKind::Snapshot(
                vms_by_name
                    .get(of)
                    .cloned()
                    .ok_or_else(|| format!("snapshot of unknown VM {of:?}"))?,
            ),
            None if v.is_a_template => VmKind::Template,
            None => VmKind::Guest(v.power_state),
        };
        let host = host.clone();
        let vm = insert_vm(db, &v.name_label, kind, &host);
        db.update(&vm, |f| {
            f.insert(
                "is_default_template".into(),
                Value::Bool(v.is_default_template),
            );
            f.insert("other_config".into(), map(&v.other_config));
            f.insert("blocked_operations".into(), map(&v.blocked_operations));
            f.insert("domain_type".into(), s(&v.domain_type));
        });
        let running = matches!(
            kind_state(db, &vm),
            PowerState::Running | PowerState::Paused
        );
        if running {
            db.update(&vm, |f| {
                f.insert("domid".into(), Value::Int(*next_domid));
            });
            *next_domid += 1;
        }
        db.vm_sim.entry(vm.clone()).or_default().hotplug = v.hotplug;
        if v.hotplug {
            // PV drivers: their guest agent has reported (VM_guest_metrics
            // objects are not modelled; the ref says only that they exist).
            let metrics = db.new_ref();
            db.set_field(&vm, "guest_metrics", s(&metrics));
        }
        for (i, d) in v.vifs.iter().enumerate() {
            let net = network(&d.network)?;
            insert_vif(db, &vm, &net, i, &d.other_config, running);
        }
        if running {
            db.vm_sim.entry(vm.clone()).or_default().boots = 1;
        }
        vms_by_name.insert(v.name_label.clone(), vm);
    }
    Ok(())
}

fn kind_state(db: &Db, vm: &str) -> PowerState {
    match db.get(vm).map(|o| o.str("power_state")) {
        Some("Running") => PowerState::Running,
        Some("Paused") => PowerState::Paused,
        Some("Suspended") => PowerState::Suspended,
        _ => PowerState::Halted,
    }
}

#[derive(Debug, Clone)]
enum VmKind {
    ControlDomain,
    Template,
    Snapshot(String),
    Guest(PowerState),
}

fn insert_vm(db: &mut Db, name: &str, kind: VmKind, host: &str) -> String {
    let (label, state, template, snapshot_of) = match &kind {
        VmKind::ControlDomain => (
            format!("Control domain on host: {name}"),
            PowerState::Running,
            false,
            NULL_REF.to_string(),
        ),
        VmKind::Template => (name.to_string(), PowerState::Halted, true, NULL_REF.into()),
        VmKind::Snapshot(of) => (name.to_string(), PowerState::Halted, true, of.clone()),
        VmKind::Guest(state) => (name.to_string(), *state, false, NULL_REF.into()),
    };
    let resident = matches!(state, PowerState::Running | PowerState::Paused);
    let dom0 = matches!(kind, VmKind::ControlDomain);
    let vm = db.insert(
        Class::Vm,
        fields(vec![
            ("name_label", s(&label)),
            ("name_description", s("")),
            ("power_state", s(state.as_str())),
            ("is_a_template", Value::Bool(template)),
            ("is_default_template", Value::Bool(false)),
            (
                "is_a_snapshot",
                Value::Bool(matches!(kind, VmKind::Snapshot(_))),
            ),
            ("snapshot_of", s(&snapshot_of)),
            ("snapshots", empty_set()),
            (
                "snapshot_time",
                Value::DateTime(
                    if matches!(kind, VmKind::Snapshot(_)) {
                        "20261125T05:00:00Z"
                    } else {
                        "19700101T00:00:00Z"
                    }
                    .into(),
                ),
            ),
            ("is_control_domain", Value::Bool(dom0)),
            ("resident_on", s(if resident { host } else { NULL_REF })),
            ("affinity", s(NULL_REF)),
            ("VIFs", empty_set()),
            ("domid", Value::Int(if dom0 { 0 } else { -1 })),
            ("domain_type", s("pv")),
            ("guest_metrics", s(NULL_REF)),
            ("metrics", s(NULL_REF)),
            ("other_config", empty_map()),
            ("allowed_operations", empty_set()),
            ("current_operations", empty_map()),
            ("blocked_operations", empty_map()),
            ("user_version", Value::Int(1)),
            ("tags", empty_set()),
        ]),
    );
    if let VmKind::Snapshot(of) = &kind {
        db.push_ref(of, "snapshots", &vm);
    }
    if resident {
        db.push_ref(host, "resident_VMs", &vm);
    }
    vm
}

fn insert_vif(
    db: &mut Db,
    vm: &str,
    network: &str,
    device: usize,
    other_config: &BTreeMap<String, String>,
    attached: bool,
) -> String {
    let mac = db.rng.mac();
    let vif = db.insert(
        Class::Vif,
        fields(vec![
            ("allowed_operations", empty_set()),
            ("current_operations", empty_map()),
            ("device", s(&device.to_string())),
            ("network", s(network)),
            ("VM", s(vm)),
            ("MAC", s(&mac)),
            ("MTU", Value::Int(1500)),
            ("other_config", map(other_config)),
            ("currently_attached", Value::Bool(attached)),
            ("status_code", Value::Int(0)),
            ("status_detail", s("")),
            ("runtime_properties", empty_map()),
            ("qos_algorithm_type", s("")),
            ("qos_algorithm_params", empty_map()),
            ("qos_supported_algorithms", empty_set()),
            ("metrics", s(NULL_REF)),
            ("MAC_autogenerated", Value::Bool(true)),
            ("locking_mode", s("network_default")),
            ("ipv4_allowed", empty_set()),
            ("ipv6_allowed", empty_set()),
            ("ipv4_configuration_mode", s("None")),
            ("ipv4_addresses", empty_set()),
            ("ipv4_gateway", s("")),
            ("ipv6_configuration_mode", s("None")),
            ("ipv6_addresses", empty_set()),
            ("ipv6_gateway", s("")),
            ("trunks", empty_set()),
        ]),
    );
    db.push_ref(vm, "VIFs", &vif);
    db.push_ref(network, "VIFs", &vif);
    if attached {
        db.apply_vif(&vif);
    }
    vif
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pool_has_the_requested_sizes() {
        let spec = GenSpec {
            hosts: 3,
            pifs_per_host: 2,
            vms: 20,
            vifs_per_vm: 2,
            seed: 1,
        };
        let mut db = Db::new(1);
        seed(&mut db, &PoolDesc::generate(spec)).unwrap();
        assert_eq!(db.count(Class::Host), 3);
        assert_eq!(db.count(Class::Pif), 6);
        assert_eq!(db.count(Class::Vm), 23); // + one dom0 per host
        assert_eq!(db.count(Class::Vif), 40);
        assert_eq!(db.count(Class::Pool), 1);
    }

    #[test]
    fn same_seed_same_uuids() {
        let spec = GenSpec {
            hosts: 1,
            pifs_per_host: 1,
            vms: 2,
            vifs_per_vm: 1,
            seed: 5,
        };
        let uuids = |seed_value| {
            let mut db = Db::new(seed_value);
            seed(&mut db, &PoolDesc::generate(spec)).unwrap();
            db.all(Class::Vif)
                .iter()
                .map(|r| db.get(r).unwrap().str("uuid").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(uuids(5), uuids(5));
        assert_ne!(uuids(5), uuids(6));
    }
}
