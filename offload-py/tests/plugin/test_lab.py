"""As root: `apply` and `get_features` inside a namespace of our own, checked
against `ethtool -k` run in the same namespace. The root namespace is only
read, to show it did not change."""

import json
import subprocess

import pytest

from conftest import load_plugin_module, parse_ethtool_k


def root_lo_features():
    out = subprocess.run(["ethtool", "-k", "lo"], capture_output=True, text=True, check=True)
    return parse_ethtool_k(out.stdout)


def features_of(entry):
    return {f["name"]: (f["active"], f["fixed"]) for f in entry["features"]}


def test_seed_preset_on_vifs_changes_only_the_vif(plugin, lab):
    before_root = root_lo_features()
    before_peer = lab.ethtool_k(lab.PEER)
    before_vif = lab.ethtool_k(lab.VIF)

    response = plugin("apply", {"preset": "seed", "targets": "vifs"}, netns=lab.netns)
    assert response.ok, response
    result = json.loads(response.value)
    assert result["policy"] == "seed"
    (entry,) = result["interfaces"]  # plgpeer0 is neither a NIC nor a VIF backend
    assert (entry["ifname"], entry["kind"], entry["status"]) == (lab.VIF, "vif", "changed")

    after_vif = lab.ethtool_k(lab.VIF)
    for name in ("tx-checksum-ip-generic", "tx-scatter-gather", "tx-tcp-segmentation",
                 "tx-generic-segmentation", "rx-checksum"):
        assert after_vif[name][0] is False, name
    # The report names exactly the features whose state moved.
    moved = {n for n in after_vif if after_vif[n][0] != before_vif[n][0]}
    reported = {c["feature"] for c in entry["changes"] if not c["refused"]}
    assert reported == moved
    for change in entry["changes"]:
        if not change["refused"]:
            assert after_vif[change["feature"]][0] == change["active"]

    assert lab.ethtool_k(lab.PEER) == before_peer
    assert root_lo_features() == before_root

    again = json.loads(plugin("apply", {"preset": "seed", "targets": "vifs"}, netns=lab.netns).value)
    assert again["interfaces"][0]["status"] == "unchanged"
    assert again["counts"] == {"unchanged": 1}


def test_tx_only_preset_sets_nothing_on_nics(plugin, lab):
    response = plugin("apply", {"preset": "tx-only", "ifname": lab.PEER}, netns=lab.netns)
    assert response.ok, response
    (entry,) = json.loads(response.value)["interfaces"]
    assert (entry["kind"], entry["status"]) == ("nic", "skipped")
    response = plugin("apply", {"preset": "tx-only", "ifname": lab.VIF}, netns=lab.netns)
    (entry,) = json.loads(response.value)["interfaces"]
    assert entry["status"] == "changed"
    features = lab.ethtool_k(lab.VIF)
    assert features["tx-checksum-ip-generic"][0] is False
    assert features["rx-checksum"][0] is True


def test_xapi_spellings_of_settings(plugin, lab):
    response = plugin(
        "apply", {"settings": "ethtool-sg=false, tso=off", "ifname": lab.PEER}, netns=lab.netns
    )
    assert response.ok, response
    features = lab.ethtool_k(lab.PEER)
    assert features["tx-scatter-gather"][0] is False
    assert features["tx-tcp-segmentation"][0] is False


def test_get_features_matches_ethtool(plugin, lab):
    lab.ip("link", "set", lab.PEER, "down")  # state should not matter
    plugin("apply", {"settings": "gro=on,tx=off", "ifname": lab.PEER}, netns=lab.netns)
    response = plugin("get_features", {"ifname": lab.PEER}, netns=lab.netns)
    assert response.ok, response
    ours = features_of(json.loads(response.value))
    theirs = lab.ethtool_k(lab.PEER)
    assert set(theirs) <= set(ours)
    for name, state in theirs.items():
        assert ours[name] == state, name


def test_get_features_and_report_list_the_lab(plugin, lab):
    response = plugin("get_features", {}, netns=lab.netns)
    assert response.ok, response
    entries = json.loads(response.value)["interfaces"]
    assert [e["ifname"] for e in entries] == [lab.VIF]
    assert entries[0]["kind"] == "vif"
    report = json.loads(plugin("report", {}, netns=lab.netns).value)
    assert [e["ifname"] for e in report["interfaces"]] == [lab.VIF]
    theirs = lab.ethtool_k(lab.VIF)
    ours = features_of(report["interfaces"][0])
    for name, state in theirs.items():
        assert ours[name] == state, name


def test_nics_target_is_empty_without_physical_devices(plugin, lab):
    response = plugin("apply", {"preset": "seed", "targets": "nics"}, netns=lab.netns)
    assert response.ok, response
    result = json.loads(response.value)
    assert result["interfaces"] == [] and result["counts"] == {}


def test_interface_listing_picks_nics_bond_slaves_and_vifs(tmp_path):
    # Bonding is not available here, so the listing is checked on a made-up
    # /sys/class/net with the same layout the kernel uses.
    net = tmp_path / "net"
    for name in ("eth0", "eth1", "eth2", "bond0", "xenbr0", "lo", "vif12.1", "vif3.0",
                 "vif3.10", "tap3.0", "eth0.100"):
        (net / name).mkdir(parents=True)
    for name in ("eth0", "eth1", "vif12.1", "vif3.0", "vif3.10"):
        (net / name / "device").mkdir()
    (net / "bond0" / "bonding").mkdir()
    (net / "bond0" / "bonding" / "slaves").write_text("eth5 eth6\n")
    module = load_plugin_module()
    assert module.list_interfaces("nics", str(net)) == ["eth0", "eth1", "eth5", "eth6"]
    assert module.list_interfaces("vifs", str(net)) == ["vif3.0", "vif3.10", "vif12.1"]
    assert module.list_interfaces("all", str(net)) == [
        "eth0", "eth1", "eth5", "eth6", "vif3.0", "vif3.10", "vif12.1"]


def test_ifname_rules_without_the_kernel(tmp_path):
    net = tmp_path / "net"
    (net / "eth0").mkdir(parents=True)
    module = load_plugin_module()
    assert module.check_ifname("eth0", str(net)) == "eth0"
    for bad in ("", "a" * 16, "a/b", "a b", "a:b", ".", "..", "a\x7f"):
        with pytest.raises(Exception) as info:
            module.check_ifname(bad, str(net))
        assert info.value.code == "OFFLOAD_INVALID_ARGUMENT", bad
    with pytest.raises(Exception) as info:
        module.check_ifname("eth1", str(net))
    assert info.value.code == "OFFLOAD_NO_SUCH_INTERFACE"
