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
    (entry,) = result["interfaces"]  # plgpeer0 is on the host's side, not a guest backend
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
    # "all" is every interface but loopback (offload-ethtool's one rule).
    assert sorted((e["ifname"], e["kind"]) for e in entries) == [
        (lab.PEER, "nic"), (lab.VIF, "vif")]
    report = json.loads(plugin("report", {}, netns=lab.netns).value)
    by_name = dict((e["ifname"], e) for e in report["interfaces"])
    assert sorted(by_name) == [lab.PEER, lab.VIF]
    theirs = lab.ethtool_k(lab.VIF)
    ours = features_of(by_name[lab.VIF])
    for name, state in theirs.items():
        assert ours[name] == state, name


def test_nics_are_the_hosts_side_and_get_the_nic_words(plugin, lab):
    before_vif = lab.ethtool_k(lab.VIF)
    response = plugin("apply", {"preset": "seed", "targets": "nics"}, netns=lab.netns)
    assert response.ok, response
    result = json.loads(response.value)
    (entry,) = result["interfaces"]
    assert (entry["ifname"], entry["kind"]) == (lab.PEER, "nic")
    # The seed's ethtool -K line on the host's side: gro and lro too.
    assert entry["settings"].split()[::2] == ["rx", "tx", "sg", "tso", "ufo", "gso", "gro", "lro"]
    assert lab.ethtool_k(lab.PEER)["rx-gro"][0] is False
    assert lab.ethtool_k(lab.VIF) == before_vif


def test_interface_listing_is_the_librarys_rule(plugin, lab, liboffload):
    # The plugin lists nothing itself: both backends give offload-ethtool's answer.
    for backend in ("ctypes", "pyo3"):
        response = plugin("get_features", {}, backend=backend, netns=lab.netns)
        if not response.ok and (response.error or [""])[0] == "OFFLOAD_LIBRARY_MISSING":
            continue  # the pyo3 module is not importable on this Python
        assert response.ok, (backend, response)
        kinds = dict((e["ifname"], e["kind"]) for e in json.loads(response.value)["interfaces"])
        assert kinds == {lab.PEER: "nic", lab.VIF: "vif"}, backend


def test_ifname_rules_without_the_kernel():
    module = load_plugin_module()
    assert module.check_ifname("eth0") == b"eth0"
    assert module.check_ifname(u"\u00e90") == b"\xc3\xa90"  # bytes, as the kernel holds it
    # 0xA0 (in à) is a space to the kernel; 16 bytes in 8 characters.
    for bad in ("", "a" * 16, "a/b", "a b", "a:b", ".", "..", "a\x7f", u"\u00e00", u"\u00e9" * 8):
        with pytest.raises(Exception) as info:
            module.check_ifname(bad)
        assert info.value.code == "OFFLOAD_INVALID_ARGUMENT", bad


def test_names_read_back_from_the_librarys_escaped_form():
    module = load_plugin_module()
    for raw in (b"eth0", b"\xc3\xa90", b"n\xff0", b"a\\b", b"\\x41"):
        shown = module.name_shown(raw)
        assert module.name_from_library(shown) == raw, raw
    assert module.name_shown(b"a\\b\xff") == "a\\\\b\\xff"
    for bad in ("a\\", "a\\x4", "a\\xzz", "a\\q"):
        with pytest.raises(module.BackendError):
            module.name_from_library(bad)
