"""other_config edits and what the simulated host applies, power and plug rules."""

import pytest
import XenAPI

from conftest import by_name

SIX = ["ethtool-rx", "ethtool-tx", "ethtool-sg", "ethtool-tso", "ethtool-ufo", "ethtool-gso"]


def state_of(sim, kind, ref):
    return next(d for d in sim.state()[kind] if d["ref"] == ref)


def test_map_edits_and_their_errors(fresh_lab):
    s = fresh_lab.session()
    vif = s.xenapi.VIF.get_all()[0]
    s.xenapi.VIF.remove_from_other_config(vif, "ethtool-tx")
    s.xenapi.VIF.remove_from_other_config(vif, "ethtool-tx")  # absent: no error
    s.xenapi.VIF.add_to_other_config(vif, "ethtool-tx", "off")
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VIF.add_to_other_config(vif, "ethtool-tx", "off")  # same value still fails
    assert err.value.details == ["MAP_DUPLICATE_KEY", "VIF", "other_config", vif, "ethtool-tx"]
    assert s.xenapi.VIF.get_other_config(vif)["ethtool-tx"] == "off"
    s.xenapi.VIF.set_other_config(vif, {"a": "1"})
    assert s.xenapi.VIF.get_other_config(vif) == {"a": "1"}
    pif = s.xenapi.PIF.get_all()[0]
    s.xenapi.PIF.add_to_other_config(pif, "ethtool-gso", "off")
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.PIF.add_to_other_config(pif, "ethtool-gso", "on")
    assert err.value.details == ["MAP_DUPLICATE_KEY", "PIF", "other_config", pif, "ethtool-gso"]


def test_vif_keys_take_effect_on_plug_only_whitelisted_and_exact(fresh_lab):
    s = fresh_lab.session()
    vms = s.xenapi.VM.get_all_records()
    router_ref, router = by_name(vms, "router")
    vif = next(v for v in router["VIFs"] if s.xenapi.VIF.get_device(v) == "0")
    assert state_of(fresh_lab, "vifs", vif)["applied"] == {"tx": False}  # seeded, booted
    for key in SIX:
        s.xenapi.VIF.remove_from_other_config(vif, key)
        s.xenapi.VIF.add_to_other_config(vif, key, "off")
    s.xenapi.VIF.add_to_other_config(vif, "ethtool-gro", "off")  # not passed for VIFs
    s.xenapi.VIF.set_other_config(vif, dict(s.xenapi.VIF.get_other_config(vif), **{"ethtool-sg": "Off"}))
    assert state_of(fresh_lab, "vifs", vif)["applied"] == {"tx": False}  # running VM keeps old settings
    s.xenapi.VIF.unplug(vif)
    assert state_of(fresh_lab, "vifs", vif)["applied"] is None
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VIF.unplug(vif)
    assert err.value.details == ["DEVICE_ALREADY_DETACHED", vif]
    s.xenapi.VIF.plug(vif)
    applied = state_of(fresh_lab, "vifs", vif)["applied"]
    assert applied == {"rx": False, "tx": False, "tso": False, "ufo": False, "gso": False}
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VIF.plug(vif)
    assert err.value.details == ["DEVICE_ALREADY_ATTACHED", vif]


def test_vm_power_rules(fresh_lab):
    s = fresh_lab.session()
    vms = s.xenapi.VM.get_all_records()
    winbox_ref, winbox = by_name(vms, "winbox")
    template_ref, _ = by_name(vms, "debian-template")
    dom0_ref = next(r for r, v in vms.items() if v["is_control_domain"])
    vif = winbox["VIFs"][0]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VM.clean_reboot(winbox_ref)
    assert err.value.details == ["VM_BAD_POWER_STATE", winbox_ref, "running", "halted"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VIF.plug(vif)
    assert err.value.details == ["VM_BAD_POWER_STATE", winbox_ref, "running", "halted"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VM.start(template_ref, False, False)
    assert err.value.details == ["VM_IS_TEMPLATE", template_ref, "start"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VM.clean_reboot(dom0_ref)
    assert err.value.details[0] == "OPERATION_NOT_ALLOWED"

    assert state_of(fresh_lab, "vifs", vif)["applied"] is None
    s.xenapi.VIF.add_to_other_config(vif, "ethtool-tx", "off")
    s.xenapi.VM.start(winbox_ref, False, False)
    record = s.xenapi.VM.get_record(winbox_ref)
    assert record["power_state"] == "Running" and int(record["domid"]) > 1
    assert s.xenapi.VIF.get_currently_attached(vif) is True
    # ethtool-gso is seeded with curly quotes: the hotplug script ignores it.
    assert state_of(fresh_lab, "vifs", vif)["applied"] == {"tx": False}
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VIF.unplug(vif)
    assert err.value.details == ["OPERATION_NOT_ALLOWED", "VM states it does not support VIF hotplug."]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.VM.clean_reboot(winbox_ref)  # HVM guest without PV drivers
    assert err.value.details == ["VM_LACKS_FEATURE", winbox_ref]
    domid = record["domid"]
    s.xenapi.VM.hard_reboot(winbox_ref)
    assert s.xenapi.VM.get_domid(winbox_ref) != domid
    assert state_of(fresh_lab, "vifs", vif)["bring_ups"] == 2
    s.xenapi.VM.hard_shutdown(winbox_ref)
    assert s.xenapi.VM.get_power_state(winbox_ref) == "Halted"
    assert s.xenapi.VM.get_resident_on(winbox_ref) == "OpaqueRef:NULL"
    assert state_of(fresh_lab, "vifs", vif)["applied"] is None


def test_clean_reboot_applies_new_vif_keys(fresh_lab):
    s = fresh_lab.session()
    router_ref, router = by_name(s.xenapi.VM.get_all_records(), "router")
    for vif in router["VIFs"]:
        s.xenapi.VIF.add_to_other_config(vif, "ethtool-rx", "false")
    s.xenapi.VM.clean_reboot(router_ref)
    for vif in router["VIFs"]:
        assert state_of(fresh_lab, "vifs", vif)["applied"]["rx"] is False
    vm_state = next(v for v in fresh_lab.state()["vms"] if v["ref"] == router_ref)
    assert vm_state["boots"] == 2


def test_pif_keys_take_effect_on_plug(fresh_lab):
    s = fresh_lab.session()
    pifs = s.xenapi.PIF.get_all_records()
    eth1 = next(r for r, p in pifs.items() if p["device"] == "eth1" and p["VLAN"] == "-1")
    assert state_of(fresh_lab, "pifs", eth1)["applied"] == {"tso": False}
    # Start of day brought eth1 up, and the VLAN on it again (Nm.create_bridges
    # configures a VLAN's tagged PIF with its own keys).
    ups = state_of(fresh_lab, "pifs", eth1)["bring_ups"]
    s.xenapi.PIF.add_to_other_config(eth1, "ethtool-gro", "off")
    s.xenapi.PIF.add_to_other_config(eth1, "ethtool-sgo", "off")  # not a key: ignored
    assert state_of(fresh_lab, "pifs", eth1)["applied"] == {"tso": False}
    s.xenapi.PIF.plug(eth1)  # already attached: re-applies
    assert state_of(fresh_lab, "pifs", eth1)["applied"] == {"tso": False, "gro": False}
    assert state_of(fresh_lab, "pifs", eth1)["bring_ups"] == ups + 1


def test_pif_plug_rules(fresh_lab):
    s = fresh_lab.session()
    pifs = s.xenapi.PIF.get_all_records()
    mgmt = next(r for r, p in pifs.items() if p["management"])
    slave = next(r for r, p in pifs.items() if p["device"] == "eth2")
    bond = next(r for r, p in pifs.items() if p["device"] == "bond0")
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.PIF.unplug(mgmt)
    assert err.value.details == ["PIF_IS_MANAGEMENT_INTERFACE", mgmt]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.PIF.plug(slave)
    assert err.value.details == ["CANNOT_PLUG_BOND_SLAVE", slave]
    s.xenapi.PIF.add_to_other_config(slave, "ethtool-tx", "off")
    s.xenapi.PIF.plug(bond)  # brings the slaves up too
    assert state_of(fresh_lab, "pifs", slave)["applied"] == {"tx": False}
    s.xenapi.PIF.unplug(bond)  # no running VIF on the bond network
    assert s.xenapi.PIF.get_currently_attached(bond) is False


def test_network_keys_reach_the_bridge_when_a_pif_is_plugged(fresh_lab):
    s = fresh_lab.session()
    nets = s.xenapi.network.get_all_records()
    bond_net = next(r for r, n in nets.items() if n["bridge"] == "xapi1")
    bridge = next(b for b in fresh_lab.state()["bridges"] if b["ref"] == bond_net)
    assert bridge["applied"] == {"gro": False}  # seeded network other_config, applied at boot
    eth1_net = next(r for r, n in nets.items() if n["bridge"] == "xenbr1")
    s.xenapi.network.add_to_other_config(eth1_net, "ethtool-tx", "off")
    bridge = next(b for b in fresh_lab.state()["bridges"] if b["ref"] == eth1_net)
    assert bridge["applied"] == {}
    pif = next(p for p in s.xenapi.network.get_PIFs(eth1_net))
    s.xenapi.PIF.plug(pif)
    bridge = next(b for b in fresh_lab.state()["bridges"] if b["ref"] == eth1_net)
    assert bridge["applied"] == {"tx": False} and bridge["device"] == "xenbr1"
