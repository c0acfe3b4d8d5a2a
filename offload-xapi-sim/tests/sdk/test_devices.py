"""What the simulated host runs, seen through the official XenAPI SDK: a PIF
plug runs `ethtool -K` only for the keys present (xapi's
Nm.determine_ethtool_settings, networkd's Interface.set_ethtool_offload),
so removing a key switches nothing back on; gro comes from PIF.properties.
The device state is read as `offloadctl xapi restore` reads it, through
host.call_plugin("offload", "get_features") (answered from the simulated
devices with --modelled-offload-plugin)."""

import json

import pytest
import XenAPI

from conftest import LAB, Sim


@pytest.fixture
def devices_lab():
    sim = Sim("--pool", str(LAB), "--modelled-offload-plugin")
    yield sim
    sim.stop()


def features(session, host, ifname):
    answer = session.xenapi.host.call_plugin(host, "offload", "get_features", {"ifname": ifname})
    entry = json.loads(answer)
    return {f["name"]: f["active"] for f in entry["features"]}


def test_a_removed_key_leaves_the_nic_as_the_last_plug_made_it(devices_lab):
    s = devices_lab.session()
    host = s.xenapi.host.get_all()[0]
    pif = next(p for p, r in s.xenapi.PIF.get_all_records().items() if r["device"] == "eth0"
               and r["VLAN"] == "-1")
    assert s.xenapi.PIF.get_properties(pif) == {"gro": "on"}
    assert features(s, host, "eth0")["tx-checksum-ip-generic"] is True

    s.xenapi.PIF.add_to_other_config(pif, "ethtool-tx", "off")
    s.xenapi.PIF.add_to_other_config(pif, "ethtool-gro", "off")
    s.xenapi.PIF.plug(pif)
    now = features(s, host, "eth0")
    assert now["tx-checksum-ip-generic"] is False
    assert now["rx-gro"] is False

    s.xenapi.PIF.remove_from_other_config(pif, "ethtool-tx")
    s.xenapi.PIF.remove_from_other_config(pif, "ethtool-gro")
    s.xenapi.PIF.plug(pif)
    now = features(s, host, "eth0")
    assert now["tx-checksum-ip-generic"] is False, "no key: ethtool -K leaves tx alone"
    assert now["rx-gro"] is True, "no key: gro from PIF.properties"
    assert now["rx-lro"] is False


def test_an_unknown_device_is_the_plugins_error(devices_lab):
    s = devices_lab.session()
    host = s.xenapi.host.get_all()[0]
    with pytest.raises(XenAPI.Failure) as e:
        s.xenapi.host.call_plugin(host, "offload", "get_features", {"ifname": "eth9"})
    assert e.value.details == ["OFFLOAD_NO_SUCH_INTERFACE", "eth9"]
