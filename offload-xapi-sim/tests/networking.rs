//! How PIF keys reach devices, rule by rule as xapi's source has them:
//! `Xapi_pif.plug` (ocaml/xapi/xapi_pif.ml) refuses bond slaves;
//! `Nm.create_bridges` / `create_bond` (ocaml/xapi/nm.ml) apply each slave's
//! own keys when the master comes up, re-configure a VLAN's tagged PIF, and
//! give bond and VLAN PIFs a device of their own only under the Linux bridge
//! (networkd's `Interface.make_config` skips devices that do not exist);
//! tunnel access PIFs get no interface configuration.

use std::collections::BTreeMap;

use offload_xapi::wire::Value;
use offload_xapi_sim::{Origin, PoolDesc, Reply, SimConfig, SimHandle, Simulator};

const LAB: &str = include_str!("../pools/lab.json");

fn start(backend: &str) -> (SimHandle, String) {
    let mut desc = PoolDesc::from_json(LAB).unwrap();
    desc.network_backend = serde_json::from_value(serde_json::json!(backend)).unwrap();
    let sim = Simulator::start(&desc, SimConfig::default()).expect("simulator starts");
    let session = match sim.call(
        Origin::Network,
        "session.login_with_password",
        &[Value::str("root"), Value::str("secret")],
    ) {
        Reply::Success(Value::String(r)) => r,
        other => panic!("login failed: {other:?}"),
    };
    (sim, session)
}

fn call(sim: &SimHandle, session: &str, method: &str, args: &[&str]) -> Reply {
    let mut params = vec![Value::str(session)];
    params.extend(args.iter().map(|a| Value::str(*a)));
    sim.call(Origin::Network, method, &params)
}

fn ok(reply: Reply) -> Value {
    match reply {
        Reply::Success(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

/// PIF refs by label: `eth2`, `bond0`, `eth1.100`, `tunnel0`.
fn pifs(sim: &SimHandle, session: &str) -> BTreeMap<String, String> {
    let all = ok(call(sim, session, "PIF.get_all_records", &[]));
    all.as_struct()
        .unwrap()
        .iter()
        .map(|(r, p)| {
            let device = p.get("device").and_then(Value::as_str).unwrap();
            let vlan = p.get("VLAN").and_then(Value::as_int).unwrap_or(-1);
            let label = if vlan < 0 {
                device.to_string()
            } else {
                format!("{device}.{vlan}")
            };
            (label, r.clone())
        })
        .collect()
}

fn applied(sim: &SimHandle, pif: &str) -> (Option<BTreeMap<String, bool>>, u64) {
    let state = sim.state();
    let p = state.pifs.iter().find(|p| p.reference == pif).unwrap();
    (p.applied.clone(), p.bring_ups)
}

fn off(key: &str) -> BTreeMap<String, bool> {
    [(key.to_string(), false)].into_iter().collect()
}

#[test]
fn bonds_are_objects_and_slaves_keep_their_own_network() {
    let (sim, session) = start("openvswitch");
    let refs = pifs(&sim, &session);
    let bonds = ok(call(&sim, &session, "Bond.get_all_records", &[]));
    let bonds = bonds.as_struct().unwrap();
    assert_eq!(bonds.len(), 1);
    let bond = bonds.values().next().unwrap();
    assert_eq!(
        bond.get("master").and_then(Value::as_str),
        Some(refs["bond0"].as_str())
    );
    let slaves: Vec<&str> = bond
        .get("slaves")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(slaves, [refs["eth2"].as_str(), refs["eth3"].as_str()]);
    let network = |pif: &str| ok(call(&sim, &session, "PIF.get_network", &[pif]));
    assert_ne!(network(&refs["eth2"]), network(&refs["bond0"]));
    assert_ne!(network(&refs["eth2"]), network(&refs["eth3"]));
    let host = ok(call(&sim, &session, "host.get_all_records", &[]));
    let host = host.as_struct().unwrap().values().next().unwrap();
    assert_eq!(
        host.get("software_version")
            .and_then(|v| v.get("network_backend"))
            .and_then(Value::as_str),
        Some("openvswitch")
    );
}

#[test]
fn a_slave_is_refused_and_its_keys_apply_when_the_master_is_plugged() {
    for backend in ["openvswitch", "bridge"] {
        let (sim, session) = start(backend);
        let refs = pifs(&sim, &session);
        let (eth2, bond0) = (&refs["eth2"], &refs["bond0"]);
        match call(&sim, &session, "PIF.plug", &[eth2]) {
            Reply::Failure(d) => assert_eq!(d, ["CANNOT_PLUG_BOND_SLAVE", eth2.as_str()]),
            other => panic!("{other:?}"),
        }
        ok(call(
            &sim,
            &session,
            "PIF.add_to_other_config",
            &[eth2, "ethtool-tx", "off"],
        ));
        ok(call(
            &sim,
            &session,
            "PIF.add_to_other_config",
            &[bond0, "ethtool-sg", "off"],
        ));
        let (_, slave_ups) = applied(&sim, eth2);
        ok(call(&sim, &session, "PIF.plug", &[bond0]));
        let (slave, ups) = applied(&sim, eth2);
        assert_eq!(slave, Some(off("tx")), "{backend}: the slave's own keys");
        assert_eq!(ups, slave_ups + 1);
        let (master, _) = applied(&sim, bond0);
        let expected = (backend == "bridge").then(|| off("sg"));
        assert_eq!(
            master, expected,
            "{backend}: bond0 is a device only under the bridge"
        );
    }
}

#[test]
fn a_vlan_reconfigures_its_tagged_pif_and_a_tunnel_gets_nothing() {
    for backend in ["openvswitch", "bridge"] {
        let (sim, session) = start(backend);
        let refs = pifs(&sim, &session);
        let (eth1, vlan, tunnel) = (&refs["eth1"], &refs["eth1.100"], &refs["tunnel0"]);
        ok(call(
            &sim,
            &session,
            "PIF.add_to_other_config",
            &[vlan, "ethtool-gso", "off"],
        ));
        ok(call(
            &sim,
            &session,
            "PIF.add_to_other_config",
            &[tunnel, "ethtool-tx", "off"],
        ));
        let (_, eth1_ups) = applied(&sim, eth1);
        ok(call(&sim, &session, "PIF.plug", &[vlan]));
        let (tagged, ups) = applied(&sim, eth1);
        assert_eq!(
            tagged,
            Some(off("tso")),
            "lab.json's eth1 keys, applied again"
        );
        assert_eq!(ups, eth1_ups + 1);
        let expected = (backend == "bridge").then(|| off("gso"));
        assert_eq!(applied(&sim, vlan).0, expected, "{backend}");
        ok(call(&sim, &session, "PIF.plug", &[tunnel]));
        assert_eq!(
            applied(&sim, tunnel).0,
            None,
            "{backend}: no interface config"
        );
    }
}
