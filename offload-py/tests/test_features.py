"""Features, disable, snapshot/restore and live capture through the module, on a
veth pair inside a network namespace this module creates (`py<pid>`) and always
removes. Compared with `ip netns exec <ns> ethtool -k <if>`. Needs root; the
root namespace is never touched.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

import offload
from netns_lab import run, veth_namespace
from test_verdicts import ipv4_tcp

A, B = "pyveth0", "pyveth1"
LINE = re.compile(r"^\s*([A-Za-z0-9_-]+): (on|off)( \[fixed\])?", re.M)


@pytest.fixture(scope="module")
def ns():
    with veth_namespace("py", [(A, B)], up=True) as name:
        yield name


def ethtool_k(ns, ifname):
    return run("ip", "netns", "exec", ns, "ethtool", "-k", ifname)


def parsed(text):
    return {m.group(1): (m.group(2) == "on", bool(m.group(3))) for m in LINE.finditer(text)}


def test_features_match_ethtool(ns):
    for ifname in ("lo", A):
        state = offload.read_features(ifname, netns=ns)
        text = ethtool_k(ns, ifname)
        assert state.ifname == ifname
        assert state.render_ethtool_k() == text
        seen = parsed(text)
        assert len(state) == len(state.features()) > 20
        # ethtool prints a few kernel features under older names
        # (tx-vlan-hw-insert as tx-vlan-offload, ...): compare the rest by name.
        shown = [f for f in state.features() if f.name in seen]
        assert len(shown) >= len(state) - 10
        for feature in shown:
            assert (feature.active, feature.fixed) == seen[feature.name], feature
        assert state["tx-checksum-ip-generic"] == state.features()[state.names().index("tx-checksum-ip-generic")]
        assert "rx-checksum" in state and "no-such-feature" not in state
        with pytest.raises(KeyError):
            state["no-such-feature"]
        assert offload.FeatureState.read(ifname, ns).to_json() == state.to_json()
        assert json.loads(offload.features_json(ifname, ns)) == json.loads(state.to_json())


def test_apply_changes_what_ethtool_sees(ns):
    report = offload.apply_features(A, "tx off sg off", netns=ns)
    try:
        seen = parsed(ethtool_k(ns, A))
        assert seen["tx-checksumming"][0] is False
        assert seen["scatter-gather"][0] is False
        changed = {c.feature: c for c in report.changes()}
        assert changed["tx-checksum-ip-generic"].active is False
        assert not report.nothing_changed()
        assert report.before["tx-checksum-ip-generic"].active is True
        assert report.after["tx-checksum-ip-generic"].active is False
        assert "Actual changes:" in report.render_ethtool()
        assert json.loads(report.to_json())["ifname"] == A
    finally:
        back = offload.apply_features(A, {"tx": True, "sg": True}, netns=ns)
    assert parsed(ethtool_k(ns, A))["tx-checksumming"][0] is True
    assert back.after["tx-checksum-ip-generic"].active is True
    # Kernel names and the list form; the same request twice changes nothing.
    offload.apply_features(A, ["rx-gro-list", "off"], netns=ns)
    again = json.loads(offload.apply_json(A, "rx-gro-list off", ns))
    assert again == {"ifname": A, "status": "unchanged", "changes": []}


def test_disable_snapshot_restore(ns, tmp_path):
    original = {ifname: ethtool_k(ns, ifname) for ifname in (A, B)}
    snapshot = offload.Snapshot.take([A, B], netns=ns)
    assert snapshot.interfaces == [A, B] and snapshot.netns == ns
    snapshot.save(tmp_path / "before.json")
    loaded = offload.Snapshot.load(str(tmp_path / "before.json"))
    assert loaded.to_json() == snapshot.to_json()

    plan = offload.disable(dry_run=True, netns=ns)
    assert plan["schema"] == "offload.disable/2" and plan["dry_run"] is True
    plan = plan["interfaces"]
    assert {o["ifname"] for o in plan} == {A, B}  # every interface but lo
    assert all(o["status"] == "planned" and o["changed"] for o in plan)
    assert {i: ethtool_k(ns, i) for i in (A, B)} == original

    done = offload.disable([A, B], netns=ns)["interfaces"]
    assert all(o["status"] in ("changed", "partial") for o in done), done
    for ifname in (A, B):
        seen = parsed(ethtool_k(ns, ifname))
        for group in ("tx-checksumming", "scatter-gather", "generic-receive-offload"):
            assert seen[group][0] is False, (ifname, group)

    restored = offload.restore(loaded)["interfaces"]
    assert [r["ifname"] for r in restored] == [A, B]
    assert all(r["status"] == "changed" and r["refused"] == [] for r in restored), restored
    assert {i: ethtool_k(ns, i) for i in (A, B)} == original


def test_disable_selected_features_only(ns):
    try:
        out = offload.disable([A], features=["tso"], netns=ns)["interfaces"]
        assert "tx-tcp-segmentation" in out[0]["changed"]
        assert all("segmentation" in name for name in out[0]["changed"])
        seen = parsed(ethtool_k(ns, A))
        assert seen["tcp-segmentation-offload"][0] is False
        assert seen["tx-checksumming"][0] is True
    finally:
        offload.apply_features(A, "tso on", netns=ns)


def test_list_interfaces(ns):
    found = {i.name: i for i in offload.list_interfaces(ns)}
    assert set(found) == {"lo", A, B}
    assert found["lo"].kind == "loopback"
    assert found[A].kind == found[B].kind == "veth"
    assert found["lo"].ifindex == 1


def test_errors_carry_errno_interface_and_operation(ns):
    with pytest.raises(offload.NoSuchInterfaceError) as info:
        offload.read_features("nope0", netns=ns)
    assert (info.value.errno, info.value.ifname) == (19, "nope0")
    assert info.value.op
    with pytest.raises(offload.EthtoolError) as info:
        offload.read_features("lo", netns="py-no-such-ns-%d" % os.getpid())
    assert info.value.errno == 2 and info.value.op == "setns"
    for bad in ("nosuch off", "tx maybe", "tx", "", [], {}):
        with pytest.raises(offload.InvalidArgumentError):
            offload.apply_features(A, bad, netns=ns)
    with pytest.raises(offload.InvalidArgumentError):
        offload.read_features("x" * 16, netns=ns)
    with pytest.raises(offload.InvalidArgumentError):
        offload.disable([A], features=[], netns=ns)
    with pytest.raises(offload.InvalidArgumentError):
        offload.Snapshot.load("/nonexistent/snapshot.json")


def send_frames(ns, ifname, frames):
    """Sends raw frames out of `ifname` from a process inside `ns`."""
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
        "s.bind((sys.argv[1], 0))\n"
        "for h in sys.argv[2:]:\n"
        "    s.send(bytes.fromhex(h))\n"
    )
    run("ip", "netns", "exec", ns, sys.executable, "-c", code, ifname, *[f.hex() for f in frames])


def test_live_capture_counts_incorrect_checksums(ns):
    frames = [ipv4_tcp()] * 3 + [ipv4_tcp(tcp_checksum="wrong")] * 2 + [ipv4_tcp(tcp_checksum="offload")]
    with offload.Capture(B, netns=ns, seconds=20) as cap:
        send_frames(ns, A, frames)
        deadline = time.monotonic() + 10
        while cap.status()["incorrect"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not cap.is_finished()
        cap.stop()
        assert cap.wait(timeout=5)
        summary = cap.finish()
        with pytest.raises(offload.InvalidArgumentError):
            cap.finish()
    assert summary["source"] == {"kind": "capture", "files": [], "interfaces": [B], "netns": ns}
    assert summary["incorrect"] == 2
    assert summary["offload_pending"] == 1
    assert summary["corruption"] is True
    tcp = [p for p in summary["protocols"] if p["protocol"] == "tcp4"][0]
    assert tcp["correct"] == 3


def test_capture_function_and_json_stop_by_themselves(ns):
    started = time.monotonic()
    summary = offload.capture([B], 0.3, netns=ns)
    assert summary["source"]["interfaces"] == [B]
    assert json.loads(offload.capture_json(B, 0.2, ns))["source"]["kind"] == "capture"
    assert time.monotonic() - started < 10
    with pytest.raises(offload.NoSuchInterfaceError):
        offload.capture("nope0", 0.1, netns=ns)
    with pytest.raises(offload.InvalidArgumentError):
        offload.capture(B, -1.0, netns=ns)


def test_names_are_bytes_whether_given_as_bytes_or_str():
    # é0 is UTF-8, n\xff0 is not: as bytes, or as the str os.fsdecode gives
    # (surrogateescape), each reaches the interface of exactly those bytes;
    # names come back in the library's escaped form.
    utf8, odd = b"\xc3\xa90", b"n\xff0"
    with veth_namespace("offnm", [(os.fsdecode(utf8), os.fsdecode(odd))]) as ns:
        for raw, shown in ((utf8, "\\xc3\\xa90"), (odd, "n\\xff0")):
            for given in (raw, os.fsdecode(raw)):
                assert offload.read_features(given, netns=ns).ifname == shown
                assert json.loads(offload.features_json(given, ns))["ifname"] == shown
        offload.apply_features(os.fsdecode(odd), "tx off", netns=ns)
        out = subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-k", odd],
                             check=True, capture_output=True).stdout.decode("utf-8", "replace")
        assert parsed(out)["tx-checksumming"][0] is False
        assert parsed(ethtool_k(ns, os.fsdecode(utf8)))["tx-checksumming"][0] is True
        names = sorted(i.name for i in offload.list_interfaces(netns=ns) if i.name != "lo")
        assert names == ["\\xc3\\xa90", "n\\xff0"]
        with pytest.raises(TypeError):
            offload.read_features(7, netns=ns)
