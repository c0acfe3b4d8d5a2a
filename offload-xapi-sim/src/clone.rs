//! `VM.clone` and `VM.copy` as far as offload policies see them, after
//! xapi's `Xapi_vm_clone.clone` (ocaml/xapi/xapi_vm_clone.ml): the new VM is
//! a halted copy of the record (a template stays a template; never a
//! default template; `other_config` without `default_template`), and each
//! VIF is copied by `Xapi_vif_helpers.copy` (ocaml/xapi/xapi_vif_helpers.ml),
//! `other_config` included, so `ethtool-*` keys on a template's VIFs are on
//! every VM made from it. Disks are not modelled.

use offload_xapi::wire::Value;

use crate::db::{Class, Db};
use crate::dispatch::Reply;

const NULL_REF: &str = "OpaqueRef:NULL";

/// Clones `vm` as `new_name`. Only a halted VM (`Xapi_vm_lifecycle`'s
/// allowed power states for clone and copy; suspended only for snapshots or
/// with clone_suspended_vm enabled, not modelled).
pub fn clone_vm(db: &mut Db, vm: &str, new_name: &str) -> Reply {
    let Some(source) = db.get_of(Class::Vm, vm) else {
        return Reply::Failure(vec!["HANDLE_INVALID".into(), "VM".into(), vm.into()]);
    };
    let state = source.str("power_state").to_string();
    if state != "Halted" {
        return Reply::Failure(vec![
            "VM_BAD_POWER_STATE".into(),
            vm.into(),
            "halted".into(),
            state.to_ascii_lowercase(),
        ]);
    }
    let mut fields = source.fields.clone();
    let vifs = source.refs("VIFs");
    fields.remove("uuid");
    let mut other_config = source.string_map("other_config");
    other_config.remove("default_template");
    for (field, value) in [
        ("name_label", Value::str(new_name)),
        ("power_state", Value::str("Halted")),
        ("is_default_template", Value::Bool(false)),
        ("is_a_snapshot", Value::Bool(false)),
        ("snapshot_of", Value::str(NULL_REF)),
        ("snapshots", Value::Array(Vec::new())),
        ("resident_on", Value::str(NULL_REF)),
        ("domid", Value::Int(-1)),
        ("VIFs", Value::Array(Vec::new())),
        (
            "other_config",
            Value::string_map(other_config.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        ),
    ] {
        fields.insert(field.into(), value);
    }
    let new_vm = db.insert(Class::Vm, fields);
    let sim = db.vm_sim.get(vm).cloned().unwrap_or_default();
    db.vm_sim
        .insert(new_vm.clone(), crate::db::VmSim { boots: 0, ..sim });
    for vif in vifs {
        let Some(vif_obj) = db.get_of(Class::Vif, &vif) else {
            continue;
        };
        let mut vif_fields = vif_obj.fields.clone();
        vif_fields.remove("uuid");
        vif_fields.insert("VM".into(), Value::str(new_vm.as_str()));
        // A new MAC unless a snapshot (preserve_mac_address): none here.
        let mac = db.rng.mac();
        vif_fields.insert("MAC".into(), Value::str(mac.as_str()));
        vif_fields.insert("currently_attached".into(), Value::Bool(false));
        let network = vif_fields
            .get("network")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let new_vif = db.insert(Class::Vif, vif_fields);
        db.push_ref(&new_vm, "VIFs", &new_vif);
        db.push_ref(&network, "VIFs", &new_vif);
    }
    Reply::Success(Value::str(new_vm.as_str()))
}
