//! The simulator's database: objects of six classes keyed by `OpaqueRef:`,
//! a generation counter for `event.from`, and what the host actually runs
//! (the "applied" offload settings of PIFs and VIFs, research §4).

use std::collections::{BTreeMap, HashMap};

use offload_core::features::{xapi_flag_value, xapi_key_applied, xapi_value_read, XapiObject};

use super::rng::Rng;
use offload_xapi::wire::Value;

/// The null reference.
pub const NULL_REF: &str = "OpaqueRef:NULL";

/// The classes the simulator models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Pool,
    Host,
    Network,
    Pif,
    Vm,
    Vif,
    /// xapi's `Bond`: master PIF, slave PIFs (datamodel_bond.ml).
    Bond,
    /// An `Async.` call's task (datamodel.ml's `task` class).
    Task,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Pool,
        Class::Host,
        Class::Network,
        Class::Pif,
        Class::Vm,
        Class::Vif,
        Class::Bond,
        Class::Task,
    ];

    /// The wire (and database table) name: `VM`, `PIF`, `network`, ...
    pub fn wire_name(self) -> &'static str {
        match self {
            Class::Pool => "pool",
            Class::Host => "host",
            Class::Network => "network",
            Class::Pif => "PIF",
            Class::Vm => "VM",
            Class::Vif => "VIF",
            Class::Bond => "Bond",
            Class::Task => "task",
        }
    }

    /// The lowercase name `event.from` uses.
    pub fn event_name(self) -> &'static str {
        match self {
            Class::Pool => "pool",
            Class::Host => "host",
            Class::Network => "network",
            Class::Pif => "pif",
            Class::Vm => "vm",
            Class::Vif => "vif",
            Class::Bond => "bond",
            Class::Task => "task",
        }
    }

    pub fn from_wire(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.wire_name() == name)
    }

    pub fn from_event_name(name: &str) -> Option<Class> {
        let lower = name.to_ascii_lowercase();
        Class::ALL.into_iter().find(|c| c.event_name() == lower)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Fields whose database column differs from the wire name: the datamodel
/// joins a namespaced name with `__` in the database and `_` on the wire.
const NAMESPACED: &[(&str, &str)] = &[
    ("name_label", "name__label"),
    ("name_description", "name__description"),
    ("API_version_major", "API_version__major"),
    ("API_version_minor", "API_version__minor"),
    ("API_version_vendor", "API_version__vendor"),
];

/// The wire field a where-expression column names, if the column exists.
pub fn field_of_column<'a>(fields: &BTreeMap<String, Value>, column: &'a str) -> Option<&'a str> {
    if let Some((wire, _)) = NAMESPACED.iter().find(|(_, col)| *col == column) {
        return fields.contains_key(*wire).then_some(*wire);
    }
    if NAMESPACED.iter().any(|(wire, _)| *wire == column) {
        return None;
    }
    fields.contains_key(column).then_some(column)
}

/// The text xapi's database stores for a value (what where-expressions compare).
pub fn db_text(value: &Value) -> String {
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Int32(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Nil => String::new(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|v| format!("'{}'", db_text(v))).collect();
            format!("({})", inner.join(" "))
        }
        Value::Struct(members) => {
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("('{k}' '{}')", db_text(v)))
                .collect();
            format!("({})", inner.join(" "))
        }
    }
}

/// One object.
#[derive(Debug, Clone)]
pub struct Obj {
    pub class: Class,
    pub fields: BTreeMap<String, Value>,
    /// Generation of the `add` event.
    pub created: u64,
    /// Generation of the latest change.
    pub modified: u64,
}

impl Obj {
    pub fn str(&self, field: &str) -> &str {
        self.fields.get(field).and_then(Value::as_str).unwrap_or("")
    }

    pub fn bool(&self, field: &str) -> bool {
        matches!(self.fields.get(field), Some(Value::Bool(true)))
    }

    pub fn string_map(&self, field: &str) -> BTreeMap<String, String> {
        match self.fields.get(field) {
            Some(Value::Struct(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    pub fn refs(&self, field: &str) -> Vec<String> {
        match self.fields.get(field) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// What the host runs for one PIF or VIF: the offload settings the last
/// bring-up applied (`None` = no device right now, e.g. a halted VM's VIF).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Offload name (`tx`, `gso`, ...) → on.
    pub offloads: Option<BTreeMap<String, bool>>,
    /// The device's whole offload state now (`ethtool -k`): what the last
    /// `ethtool -K` left, which a bring-up changes only for the offloads it
    /// names. `None` when no device exists (a VIF of a halted VM).
    pub live: Option<BTreeMap<String, bool>>,
    /// How many times the device was brought up (plug, boot, reboot).
    pub bring_ups: u64,
}

/// Per-VM simulator facts that are not API fields.
#[derive(Debug, Clone, Default)]
pub struct VmSim {
    /// Whether the guest supports VIF hotplug (PV drivers / `can_use_hotplug_vif`).
    pub hotplug: bool,
    /// Starts and reboots so far.
    pub boots: u64,
}

/// The whole database.
#[derive(Debug)]
pub struct Db {
    objects: HashMap<String, Obj>,
    order: [Vec<String>; 8],
    by_uuid: HashMap<String, String>,
    generation: u64,
    pub applied: HashMap<String, Applied>,
    pub vm_sim: HashMap<String, VmSim>,
    /// The hosts' networking backend (`software_version:network_backend`).
    pub backend: NetworkBackend,
    pub rng: Rng,
}

/// networkd's backend: which PIFs get a device of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkBackend {
    /// The default: no `bondN` or `ethX.V` netdev exists.
    #[default]
    Openvswitch,
    /// Linux bridge: bond and VLAN PIFs are devices with their own settings.
    Bridge,
}

impl NetworkBackend {
    pub fn name(self) -> &'static str {
        match self {
            NetworkBackend::Openvswitch => "openvswitch",
            NetworkBackend::Bridge => "bridge",
        }
    }
}

impl Db {
    pub fn new(seed: u64) -> Db {
        Db {
            objects: HashMap::new(),
            order: Default::default(),
            by_uuid: HashMap::new(),
            generation: 0,
            applied: HashMap::new(),
            vm_sim: HashMap::new(),
            backend: NetworkBackend::default(),
            rng: Rng::new(seed),
        }
    }

    /// The current generation (the first half of an event token).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A fresh `OpaqueRef:<uuid>`.
    pub fn new_ref(&mut self) -> String {
        format!("OpaqueRef:{}", self.rng.uuid())
    }

    /// Inserts an object whose `uuid` field is set; returns its ref.
    pub fn insert(&mut self, class: Class, mut fields: BTreeMap<String, Value>) -> String {
        let reference = self.new_ref();
        let uuid = match fields.get("uuid").and_then(Value::as_str) {
            Some(u) => u.to_string(),
            None => {
                let u = self.rng.uuid();
                fields.insert("uuid".into(), Value::str(u.as_str()));
                u
            }
        };
        self.generation += 1;
        self.by_uuid.insert(uuid, reference.clone());
        self.order[class.index()].push(reference.clone());
        self.objects.insert(
            reference.clone(),
            Obj {
                class,
                fields,
                created: self.generation,
                modified: self.generation,
            },
        );
        reference
    }

    pub fn get(&self, reference: &str) -> Option<&Obj> {
        self.objects.get(reference)
    }

    /// The object if it exists and is of `class`.
    pub fn get_of(&self, class: Class, reference: &str) -> Option<&Obj> {
        self.objects.get(reference).filter(|o| o.class == class)
    }

    pub fn by_uuid(&self, class: Class, uuid: &str) -> Option<&str> {
        self.by_uuid
            .get(uuid)
            .map(String::as_str)
            .filter(|r| self.get_of(class, r).is_some())
    }

    /// All refs of a class, in creation order.
    pub fn all(&self, class: Class) -> &[String] {
        &self.order[class.index()]
    }

    pub fn count(&self, class: Class) -> usize {
        self.order[class.index()].len()
    }

    /// Changes fields of one object and records one `mod` event for it.
    pub fn update(&mut self, reference: &str, change: impl FnOnce(&mut BTreeMap<String, Value>)) {
        self.generation += 1;
        let generation = self.generation;
        if let Some(obj) = self.objects.get_mut(reference) {
            change(&mut obj.fields);
            obj.modified = generation;
        }
    }

    /// Deletes an object (`task.destroy`).
    pub fn remove(&mut self, reference: &str) {
        if let Some(obj) = self.objects.remove(reference) {
            self.generation += 1;
            self.order[obj.class.index()].retain(|r| r != reference);
            self.by_uuid.remove(obj.str("uuid"));
        }
    }

    pub fn set_field(&mut self, reference: &str, field: &str, value: Value) {
        self.update(reference, |f| {
            f.insert(field.to_string(), value);
        });
    }

    /// Adds `item` to a set-valued field (no event: used while seeding).
    pub fn push_ref(&mut self, reference: &str, field: &str, item: &str) {
        if let Some(obj) = self.objects.get_mut(reference) {
            if let Some(Value::Array(items)) = obj.fields.get_mut(field) {
                items.push(Value::str(item));
            }
        }
    }

    /// Objects of the given classes changed after generation `since`, oldest first.
    pub fn changed_since(
        &self,
        classes: &dyn Fn(Class, &str) -> bool,
        since: u64,
    ) -> Vec<(&str, &Obj)> {
        let mut out: Vec<(&str, &Obj)> = self
            .objects
            .iter()
            .filter(|(r, o)| o.modified > since && classes(o.class, r))
            .map(|(r, o)| (r.as_str(), o))
            .collect();
        out.sort_by_key(|(_, o)| o.modified);
        out
    }

    /// Brings a PIF up (PIF.plug, host boot) as xapi's `Nm.bring_pif_up` →
    /// `create_bridges` (ocaml/xapi/nm.ml) does, per kind of PIF:
    /// - physical: its own `other_config` (`determine_ethtool_settings`);
    /// - bond master: `create_bond` applies each slave's own `other_config` to
    ///   the slave; the master's keys reach a `bondN` device only under the
    ///   Linux bridge (`linux_pif_config`; networkd's `Interface.make_config`
    ///   skips devices that do not exist, as `bondN` under openvswitch);
    /// - VLAN: the tagged PIF is configured again with its own keys; the
    ///   VLAN's keys reach `ethX.V` only under the Linux bridge;
    /// - tunnel access PIF: bridge only, no interface configuration.
    ///
    /// Bond slaves are never brought up on their own (`Xapi_pif.plug`).
    pub fn apply_pif(&mut self, pif: &str) {
        let Some(obj) = self.get_of(Class::Pif, pif) else {
            return;
        };
        let (network, host) = (obj.str("network").to_string(), obj.str("host").to_string());
        let own_config = obj.string_map("other_config");
        let own_properties = obj.string_map("properties");
        let own = read_offloads(XapiObject::Pif, &own_config);
        let own_device = if !obj.refs("tunnel_access_PIF_of").is_empty() {
            false
        } else if !obj.refs("bond_master_of").is_empty() || obj.str("VLAN_master_of") != NULL_REF {
            self.backend == NetworkBackend::Bridge
        } else {
            true
        };
        // (device, its keys as read, what networkd runs ethtool -K with).
        type Configured = (String, BTreeMap<String, bool>, BTreeMap<String, bool>);
        let mut configured: Vec<Configured> = Vec::new();
        for bond in obj.refs("bond_master_of") {
            for slave in self
                .get(&bond)
                .map(|b| b.refs("slaves"))
                .unwrap_or_default()
            {
                if let Some(slave_obj) = self.get_of(Class::Pif, &slave) {
                    let config = slave_obj.string_map("other_config");
                    // Nm.create_bond: each slave's own other_config with the
                    // master's properties.
                    let offload = ethtool_offload(&config, &own_properties);
                    configured.push((slave, read_offloads(XapiObject::Pif, &config), offload));
                }
            }
        }
        if let Some(tagged) = self.vlan_tagged_pif(obj.str("VLAN_master_of")) {
            if let Some(tagged_obj) = self.get_of(Class::Pif, &tagged) {
                let config = tagged_obj.string_map("other_config");
                let offload = ethtool_offload(&config, &tagged_obj.string_map("properties"));
                configured.push((tagged, read_offloads(XapiObject::Pif, &config), offload));
            }
        }
        self.apply_bridge(&network, &host, &own_properties);
        for (device, offloads, offload) in configured {
            let entry = self.applied.entry(device).or_default();
            entry.offloads = Some(offloads);
            entry.bring_ups += 1;
            run_ethtool_k(&mut entry.live, NIC_DEFAULTS, &offload);
        }
        let entry = self.applied.entry(pif.to_string()).or_default();
        // A PIF without a device of its own runs nothing; `bring_ups` still counts.
        entry.offloads = own_device.then_some(own);
        entry.bring_ups += 1;
        if own_device {
            run_ethtool_k(
                &mut entry.live,
                NIC_DEFAULTS,
                &ethtool_offload(&own_config, &own_properties),
            );
        }
    }

    /// The tagged (physical) PIF of a VLAN ref (`Db.VLAN.get_tagged_PIF`).
    fn vlan_tagged_pif(&self, vlan: &str) -> Option<String> {
        if vlan == NULL_REF || vlan.is_empty() {
            return None;
        }
        self.all(Class::Pif)
            .iter()
            .find(|r| {
                self.get(r)
                    .is_some_and(|o| o.refs("VLAN_slave_of").iter().any(|v| v == vlan))
            })
            .cloned()
    }

    /// The bridge of a network on one host (`xenbrN`) is brought up with its
    /// PIF; it reads the network's `other_config` ethtool keys with the PIF's
    /// properties (`Nm.bring_pif_up`: `determine_ethtool_settings
    /// rc.pIF_properties net_rc.network_other_config`).
    pub fn apply_bridge(
        &mut self,
        network: &str,
        host: &str,
        properties: &BTreeMap<String, String>,
    ) {
        let Some(obj) = self.get_of(Class::Network, network) else {
            return;
        };
        let config = obj.string_map("other_config");
        let offloads = read_offloads(XapiObject::Pif, &config);
        let entry = self.applied.entry(bridge_key(network, host)).or_default();
        entry.offloads = Some(offloads);
        entry.bring_ups += 1;
        run_ethtool_k(
            &mut entry.live,
            BRIDGE_DEFAULTS,
            &ethtool_offload(&config, properties),
        );
    }

    /// Brings a VIF's backend online (VM start/reboot, VIF.plug): a fresh
    /// `vifD.N` with netback's features, then xenopsd's `vif-real`
    /// (`handle_ethtool`) runs `ethtool -K` for the six whitelisted keys
    /// that are present, and nothing else.
    pub fn apply_vif(&mut self, vif: &str) {
        let Some(obj) = self.get_of(Class::Vif, vif) else {
            return;
        };
        let offloads = read_offloads(XapiObject::Vif, &obj.string_map("other_config"));
        let entry = self.applied.entry(vif.to_string()).or_default();
        entry.live = None;
        run_ethtool_k(&mut entry.live, NETBACK_DEFAULTS, &offloads);
        entry.offloads = Some(offloads);
        entry.bring_ups += 1;
    }

    /// The backend device is gone (VIF.unplug, VM halted; a bridge torn down).
    pub fn remove_device(&mut self, reference: &str) {
        if let Some(entry) = self.applied.get_mut(reference) {
            entry.offloads = None;
            entry.live = None;
        }
    }

    /// A PIF is unplugged: networkd stops configuring it, but the NIC stays
    /// as the last `ethtool -K` left it.
    pub fn unplug_pif(&mut self, reference: &str) {
        if let Some(entry) = self.applied.get_mut(reference) {
            entry.offloads = None;
        }
    }

    /// The devices of a host by dom0 name (`eth0`, `xenbr0`, `vif3.0`) with
    /// their live offloads, for the plugin model.
    pub fn live_devices(
        &self,
        host: &str,
    ) -> BTreeMap<String, (&'static str, BTreeMap<String, bool>)> {
        let mut devices = BTreeMap::new();
        for pif in self.all(Class::Pif) {
            let Some(obj) = self.get(pif) else { continue };
            if obj.str("host") != host {
                continue;
            }
            if let Some(live) = self.applied.get(pif).and_then(|a| a.live.clone()) {
                devices.insert(obj.str("device").to_string(), ("nic", live));
            }
        }
        for network in self.all(Class::Network) {
            let Some(obj) = self.get(network) else {
                continue;
            };
            if let Some(live) = self
                .applied
                .get(&bridge_key(network, host))
                .and_then(|a| a.live.clone())
            {
                devices.insert(obj.str("bridge").to_string(), ("nic", live));
            }
        }
        for vif in self.all(Class::Vif) {
            let Some(obj) = self.get(vif) else { continue };
            let Some(vm) = self.get(obj.str("VM")) else {
                continue;
            };
            if vm.str("resident_on") != host {
                continue;
            }
            let domid = vm.fields.get("domid").and_then(Value::as_int).unwrap_or(-1);
            if let Some(live) = self.applied.get(vif).and_then(|a| a.live.clone()) {
                devices.insert(format!("vif{domid}.{}", obj.str("device")), ("vif", live));
            }
        }
        devices
    }
}

/// The eight offloads XAPI has keys for, as a NIC driver starts them
/// (UFO is gone from current kernels; LRO is off on most drivers).
const NIC_DEFAULTS: &[(&str, bool)] = &[
    ("rx", true),
    ("tx", true),
    ("sg", true),
    ("tso", true),
    ("ufo", false),
    ("gso", true),
    ("gro", true),
    ("lro", false),
];

/// A Linux or openvswitch bridge device: software offloads on.
const BRIDGE_DEFAULTS: &[(&str, bool)] = NIC_DEFAULTS;

/// A fresh netback `vifD.N` (xen-netback enables these by default).
const NETBACK_DEFAULTS: &[(&str, bool)] = NIC_DEFAULTS;

/// What networkd runs `ethtool -K` with for one device, as xapi and networkd
/// compute it: `Nm.determine_ethtool_settings` (ocaml/xapi/nm.ml) takes each
/// of the eight keys when present with an accepted value, drops it with a
/// warning when the value is not accepted, and takes `properties` (only
/// `gro` exists) when the key is absent; networkd's
/// `Interface.set_ethtool_offload` (ocaml/networkd/bin/network_server.ml)
/// adds its default `lro off` when lro is not named.
pub fn ethtool_offload(
    other_config: &BTreeMap<String, String>,
    properties: &BTreeMap<String, String>,
) -> BTreeMap<String, bool> {
    let mut offload = BTreeMap::new();
    for (name, _) in NIC_DEFAULTS {
        let key = format!("ethtool-{name}");
        let value = match (other_config.get(&key), properties.get(*name)) {
            (Some(value), _) => xapi_flag_value(value),
            (None, Some(property)) => xapi_flag_value(property),
            (None, None) => None,
        };
        if let Some(on) = value {
            offload.insert(name.to_string(), on);
        }
    }
    offload.entry("lro".to_string()).or_insert(false);
    offload
}

/// `ethtool -K dev k v ...` on a device's live state (created with
/// `defaults` when it has none): only the offloads named change.
fn run_ethtool_k(
    live: &mut Option<BTreeMap<String, bool>>,
    defaults: &[(&str, bool)],
    offload: &BTreeMap<String, bool>,
) {
    let state = live.get_or_insert_with(|| {
        defaults
            .iter()
            .map(|(name, on)| (name.to_string(), *on))
            .collect()
    });
    for (name, on) in offload {
        state.insert(name.clone(), *on);
    }
}

/// Key of a bridge (network on a host) in [`Db::applied`].
pub fn bridge_key(network: &str, host: &str) -> String {
    format!("{network}@{host}")
}

/// The offload settings a host derives from an `other_config` map: keys it
/// applies for this kind of object with values it understands; everything
/// else is ignored (offload-core owns both rules).
pub fn read_offloads(
    object: XapiObject,
    other_config: &BTreeMap<String, String>,
) -> BTreeMap<String, bool> {
    other_config
        .iter()
        .filter(|(key, _)| xapi_key_applied(object, key))
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("ethtool-")?;
            // vif-real drops trailing newlines ($(xenstore-read)); xapi does not.
            xapi_value_read(object, value).map(|on| (name.to_string(), on))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vif_reads_only_whitelisted_keys_and_exact_values() {
        let config: BTreeMap<String, String> = [
            ("ethtool-tx", "off"),
            ("ethtool-rx", "true"),
            ("ethtool-gro", "off"),
            ("ethtool-sg", "Off"),
            ("ethtool-sgo", "off"),
            ("mtu", "9000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let vif = read_offloads(XapiObject::Vif, &config);
        assert_eq!(vif.len(), 2);
        assert!(!vif["tx"]);
        assert!(vif["rx"]);
        let pif = read_offloads(XapiObject::Pif, &config);
        assert_eq!(pif.get("gro"), Some(&false));
        assert!(!pif.contains_key("sg"));
    }

    fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn networkd_runs_ethtool_k_only_for_what_is_named() {
        let gro_off = strings(&[("gro", "off")]);
        // Present keys with accepted values; gro from properties when its key
        // is absent; lro off unless named.
        let offload = ethtool_offload(&strings(&[("ethtool-tx", "false")]), &gro_off);
        assert_eq!(
            offload,
            [
                ("gro".to_string(), false),
                ("lro".to_string(), false),
                ("tx".to_string(), false)
            ]
            .into()
        );
        // An invalid value is dropped, and does not fall back to properties.
        let offload = ethtool_offload(
            &strings(&[("ethtool-gro", "Off"), ("ethtool-lro", "on")]),
            &gro_off,
        );
        assert_eq!(offload, [("lro".to_string(), true)].into());
        // A device keeps what it is not told.
        let mut live = None;
        run_ethtool_k(
            &mut live,
            NIC_DEFAULTS,
            &ethtool_offload(&strings(&[("ethtool-tx", "off")]), &BTreeMap::new()),
        );
        run_ethtool_k(
            &mut live,
            NIC_DEFAULTS,
            &ethtool_offload(&BTreeMap::new(), &BTreeMap::new()),
        );
        let live = live.unwrap();
        assert!(!live["tx"], "a removed key switches nothing back on");
        assert!(live["sg"] && !live["lro"]);
    }

    #[test]
    fn namespaced_columns_use_double_underscore() {
        let fields: BTreeMap<String, Value> = [
            ("name_label".to_string(), Value::str("x")),
            ("is_a_template".to_string(), Value::Bool(false)),
        ]
        .into_iter()
        .collect();
        assert_eq!(field_of_column(&fields, "name__label"), Some("name_label"));
        assert_eq!(field_of_column(&fields, "name_label"), None);
        assert_eq!(
            field_of_column(&fields, "is_a_template"),
            Some("is_a_template")
        );
        assert_eq!(field_of_column(&fields, "nope"), None);
    }

    #[test]
    fn db_text_matches_xapi_storage() {
        assert_eq!(db_text(&Value::Bool(true)), "true");
        assert_eq!(db_text(&Value::Int(-1)), "-1");
        assert_eq!(db_text(&Value::string_map([("k", "v")])), "(('k' 'v'))");
    }
}
