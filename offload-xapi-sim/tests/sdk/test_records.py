"""Records of every class and their types as the SDK sees them; where-expressions."""

import xmlrpc.client

import pytest
import XenAPI

from conftest import by_name

CLASSES = ["pool", "host", "network", "PIF", "VM", "VIF"]


@pytest.mark.parametrize("cls", CLASSES)
def test_get_all_records_matches_get_all_and_get_record(session, cls):
    api = getattr(session.xenapi, cls)
    records = api.get_all_records()
    assert sorted(records) == sorted(api.get_all())
    for ref, record in records.items():
        assert ref.startswith("OpaqueRef:") and ref != "OpaqueRef:NULL"
        assert api.get_record(ref) == record
        assert api.get_by_uuid(record["uuid"]) == ref
        assert api.get_uuid(ref) == record["uuid"]
        assert api.get_other_config(ref) == record["other_config"]


def test_types_are_what_xapi_sends(session):
    pif = next(iter(session.xenapi.PIF.get_all_records().values()))
    assert pif["MTU"] == "1500"  # int64 travels untyped: a string for XML-RPC clients
    assert isinstance(pif["physical"], bool)
    assert isinstance(pif["bond_master_of"], list)
    assert isinstance(pif["properties"], dict) and pif["properties"]["gro"] == "on"
    vms = session.xenapi.VM.get_all_records()
    _, router = by_name(vms, "router")
    assert router["domid"] == "1" and router["power_state"] == "Running"
    _, snap = by_name(vms, "router-before-upgrade")
    assert isinstance(snap["snapshot_time"], xmlrpc.client.DateTime)
    assert snap["snapshot_time"].value == "20261125T05:00:00Z"
    assert snap["is_a_snapshot"] is True and snap["is_a_template"] is True
    assert vms[snap["snapshot_of"]]["name_label"] == "router"
    _, winbox = by_name(vms, "winbox")
    assert winbox["resident_on"] == "OpaqueRef:NULL" and winbox["domid"] == "-1"


def test_control_domain_and_host_links(session):
    host_ref, host = next(iter(session.xenapi.host.get_all_records().items()))
    dom0 = session.xenapi.VM.get_record(host["control_domain"])
    assert dom0["is_control_domain"] is True
    assert dom0["name_label"] == "Control domain on host: lab-host-1"
    assert dom0["resident_on"] == host_ref and dom0["domid"] == "0"
    assert host["API_version_major"] == "2" and host["API_version_minor"] == "21"
    assert sorted(host["PIFs"]) == sorted(session.xenapi.PIF.get_all())
    assert host_ref in [session.xenapi.pool.get_master(p) for p in session.xenapi.pool.get_all()]


def test_bond_and_vlan_pifs(session):
    pifs = session.xenapi.PIF.get_all_records()
    bond = next(p for p in pifs.values() if p["device"] == "bond0")
    slaves = [p for p in pifs.values() if p["bond_slave_of"] in bond["bond_master_of"]]
    assert sorted(p["device"] for p in slaves) == ["eth2", "eth3"]
    assert bond["physical"] is False and all(s["physical"] for s in slaves)
    vlan = next(p for p in pifs.values() if p["VLAN"] == "100")
    assert vlan["device"] == "eth1" and vlan["physical"] is False
    tagged = next(p for p in pifs.values() if p["device"] == "eth1" and p["VLAN"] == "-1")
    assert tagged["VLAN_slave_of"] == [vlan["VLAN_master_of"]]


def test_vif_and_network_links(session):
    vms = session.xenapi.VM.get_all_records()
    vifs = session.xenapi.VIF.get_all_records()
    for ref, vif in vifs.items():
        assert ref in vms[vif["VM"]]["VIFs"]
        assert ref in session.xenapi.network.get_VIFs(vif["network"])
    ref, router = by_name(vms, "router")
    devices = sorted(vifs[v]["device"] for v in router["VIFs"])
    assert devices == ["0", "1"]


def test_handle_and_uuid_errors(session):
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VM.get_record("OpaqueRef:nope")
    assert err.value.details == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VIF.get_other_config("OpaqueRef:NULL")
    assert err.value.details == ["HANDLE_INVALID", "VIF", "OpaqueRef:NULL"]
    vm = session.xenapi.VM.get_all()[0]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VIF.get_record(vm)  # a ref of another class
    assert err.value.details == ["HANDLE_INVALID", "VIF", vm]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.PIF.get_by_uuid("00000000-0000-0000-0000-000000000000")
    assert err.value.details == ["UUID_INVALID", "PIF", "00000000-0000-0000-0000-000000000000"]


def test_get_all_records_where_real_vms(session):
    expr = (
        'field "is_a_template"="false" and field "is_a_snapshot"="false" '
        'and field "is_control_domain"="false"'
    )
    found = session.xenapi.VM.get_all_records_where(expr)
    assert sorted(v["name_label"] for v in found.values()) == ["legacy-hvm", "paused-vm", "router", "winbox"]
    refs = session.xenapi.VM.get_all_where(expr)
    assert sorted(refs) == sorted(found)


def test_where_uses_database_columns_and_text(session):
    found = session.xenapi.VM.get_all_records_where('field "name__label" = "router"')
    assert [v["name_label"] for v in found.values()] == ["router"]
    assert session.xenapi.VM.get_by_name_label("router") == list(found)
    found = session.xenapi.PIF.get_all_records_where('not field "physical"="true" and field "VLAN"="-1"')
    assert sorted(p["device"] for p in found.values()) == ["bond0", "tunnel0"]
    found = session.xenapi.VM.get_all_records_where('field "power_state"="Running" or false')
    assert len(found) == 3  # dom0, router and legacy-hvm
    assert session.xenapi.VIF.get_all_records_where("false") == {}


def test_where_errors(session):
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VM.get_all_records_where('field "name_label" = "router"')
    assert err.value.details == ["INTERNAL_ERROR", "missing field", "name_label", ""]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VM.get_all_records_where('field "name__label" ==')
    assert err.value.details == ["INVALID_VALUE", 'field "name__label" ==', "Stdlib.Parsing.Parse_error"]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VM.get_all_records_where("name__label = router")
    assert err.value.details[0] == "INVALID_VALUE"
