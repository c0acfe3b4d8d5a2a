//! The offload plugin's `get_features` answered from the simulated host's
//! devices (`SimConfig::modelled_offload_plugin`): a real plugin run by the
//! simulator reads the interfaces of the machine the tests run on, which has
//! no `eth0` of a simulated host. The answer has the real plugin's shape
//! (offload-py/plugins/offload, `get_features`: an `offloadctl show --json`
//! entry plus `kind`; `OFFLOAD_NO_SUCH_INTERFACE [ifname]`), one kernel
//! feature per offload XAPI has a key for.

use std::collections::BTreeMap;

use offload_core::features::legacy_by_name;
use serde_json::json;

use crate::db::Db;

/// One kernel feature name for each offload, as `ethtool -k` lists it.
const KERNEL_NAMES: &[(&str, &str)] = &[
    ("rx", "rx-checksum"),
    ("tx", "tx-checksum-ip-generic"),
    ("sg", "tx-scatter-gather"),
    ("tso", "tx-tcp-segmentation"),
    ("ufo", "tx-udp-fragmentation"),
    ("gso", "tx-generic-segmentation"),
    ("gro", "rx-gro"),
    ("lro", "rx-lro"),
];

fn entry(ifname: &str, kind: &str, live: &BTreeMap<String, bool>) -> serde_json::Value {
    let features: Vec<serde_json::Value> = KERNEL_NAMES
        .iter()
        .filter(|(group, kernel)| {
            // Each name belongs to its group in offload-core's table.
            legacy_by_name(group)
                .is_some_and(|g| offload_core::features::legacy_group_of(kernel) == Some(g))
        })
        .filter_map(|(group, kernel)| {
            let on = *live.get(*group)?;
            Some(json!({"name": kernel, "active": on, "requested": on, "fixed": false}))
        })
        .collect();
    json!({"ifname": ifname, "kind": kind, "features": features})
}

/// `get_features` on `host`: one device (`ifname`) or all of them.
pub fn get_features(
    db: &Db,
    host: &str,
    args: &BTreeMap<String, String>,
) -> Result<String, Vec<String>> {
    let devices = db.live_devices(host);
    match args.get("ifname") {
        Some(ifname) => {
            let (kind, live) = devices
                .get(ifname)
                .ok_or_else(|| vec!["OFFLOAD_NO_SUCH_INTERFACE".to_string(), ifname.clone()])?;
            Ok(entry(ifname, kind, live).to_string())
        }
        None => {
            let all: Vec<_> = devices
                .iter()
                .map(|(name, (kind, live))| entry(name, kind, live))
                .collect();
            Ok(json!({ "interfaces": all }).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_name_belongs_to_its_group() {
        for (group, kernel) in KERNEL_NAMES {
            let g = legacy_by_name(group).unwrap();
            assert_eq!(
                offload_core::features::legacy_group_of(kernel).map(|f| f.short_name),
                Some(g.short_name),
                "{kernel}"
            );
        }
    }
}
