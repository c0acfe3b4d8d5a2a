"""VM.clone copies each VIF with its other_config (xapi's Xapi_vm_clone.clone
-> Xapi_vif_helpers.copy), which is why `offloadctl xapi watch
--include-templates` writes custom templates: VMs made from them start with
the keys. Seen through the official XenAPI SDK."""

import pytest
import XenAPI

from conftest import by_name


def test_a_clone_carries_the_templates_vif_keys(fresh_lab):
    s = fresh_lab.session()
    template, record = by_name(s.xenapi.VM.get_all_records(), "debian-template")
    assert record["is_a_template"] and not record["is_default_template"]
    for vif in record["VIFs"]:
        s.xenapi.VIF.add_to_other_config(vif, "ethtool-tx", "off")
    clone = s.xenapi.VM.clone(template, "web-02")
    new = s.xenapi.VM.get_record(clone)
    assert new["is_a_template"], "a template's clone is a template until made a VM"
    assert new["power_state"] == "Halted" and new["uuid"] != record["uuid"]
    vifs = [s.xenapi.VIF.get_record(v) for v in new["VIFs"]]
    assert len(vifs) == len(record["VIFs"])
    assert all(v["other_config"].get("ethtool-tx") == "off" for v in vifs)
    assert all(v["VM"] == clone and not v["currently_attached"] for v in vifs)

    s.xenapi.VM.set_is_a_template(clone, False)
    s.xenapi.VM.start(clone, False, False)
    assert s.xenapi.VM.get_power_state(clone) == "Running"


def test_a_running_vm_cannot_be_cloned(fresh_lab):
    s = fresh_lab.session()
    vm, _ = by_name(s.xenapi.VM.get_all_records(), "router")
    with pytest.raises(XenAPI.Failure) as e:
        s.xenapi.VM.clone(vm, "router-2")
    assert e.value.details == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
