"""One operation, three front-ends, one answer: `offloadctl` (Rust), liboffload
(C, through ctypes) and the module (Python) all translate offload-ethtool's
engine, so a disable plan and a restore report must be the same JSON from each.
Runs on veth pairs in a namespace this module creates (`fe<pid>`) and always
removes; needs root. offloadctl and liboffload.so come from $OFFLOADCTL and
$OFFLOAD_LIB (the pytest_py stage sets both), else target/debug.
"""

import ctypes
import json
import os
import pathlib
import subprocess

import pytest

import offload
from netns_lab import run, veth_namespace

REPO = pathlib.Path(__file__).resolve().parents[2]
# A host-side veth pair and one named like a dom0 netback device (a guest backend).
HOST, PEER, VIF, VIF_PEER = "feth0", "feth1", "vif9.0", "fepeer0"


def built(variable, default):
    path = os.environ.get(variable) or str(REPO / "target" / "debug" / default)
    if not os.path.isfile(path):
        pytest.fail("%s not found at %s (cargo build -p offload-cli -p offload-capi)" % (default, path))
    return path


@pytest.fixture(scope="module")
def ns():
    with veth_namespace("fe", [(HOST, PEER), (VIF, VIF_PEER)]) as name:
        yield name


class Liboffload(object):
    """The few liboffload entry points this test calls."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        p, u32, size_t = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t
        lib.offload_disable.argtypes = [
            ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), size_t, ctypes.c_char_p,
            ctypes.c_bool, ctypes.POINTER(p), ctypes.POINTER(ctypes.c_int)]
        lib.offload_disable.restype = u32
        lib.offload_disable_report_json.argtypes = [p, ctypes.c_char_p, size_t, ctypes.POINTER(size_t)]
        lib.offload_disable_report_json.restype = u32
        lib.offload_disable_report_free.argtypes = [p]
        lib.offload_snapshot_restore.argtypes = [
            ctypes.c_char_p, ctypes.c_bool, ctypes.POINTER(p), ctypes.POINTER(ctypes.c_int)]
        lib.offload_snapshot_restore.restype = u32
        lib.offload_restore_report_json.argtypes = [p, ctypes.c_char_p, size_t, ctypes.POINTER(size_t)]
        lib.offload_restore_report_json.restype = u32
        lib.offload_restore_report_free.argtypes = [p]
        self.lib = lib

    def _json(self, to_json, free, handle):
        need = ctypes.c_size_t(0)
        to_json(handle, None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value + 1)
        assert to_json(handle, buf, len(buf), ctypes.byref(need)) == 0
        free(handle)
        return json.loads(buf.value.decode())

    def disable_plan(self, netns):
        handle, err = ctypes.c_void_p(), ctypes.c_int(0)
        code = self.lib.offload_disable(netns.encode(), None, 0, None, True,
                                        ctypes.byref(handle), ctypes.byref(err))
        assert code == 0, (code, err.value)
        return self._json(self.lib.offload_disable_report_json,
                          self.lib.offload_disable_report_free, handle)

    def restore(self, path):
        handle, err = ctypes.c_void_p(), ctypes.c_int(0)
        code = self.lib.offload_snapshot_restore(str(path).encode(), False,
                                                 ctypes.byref(handle), ctypes.byref(err))
        assert code == 0, (code, err.value)
        return self._json(self.lib.offload_restore_report_json,
                          self.lib.offload_restore_report_free, handle)


def cli(*args):
    proc = subprocess.run([built("OFFLOADCTL", "offloadctl")] + list(args),
                          capture_output=True, text=True)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    return proc.stdout


def states(ns):
    return dict((i, run("ip", "netns", "exec", ns, "ethtool", "-k", i))
                for i in (HOST, PEER, VIF, VIF_PEER))


def test_disable_plan_is_one_answer(ns):
    before = states(ns)
    rust = json.loads(cli("disable", "--dry-run", "--json", "--netns", ns))
    c = Liboffload(built("OFFLOAD_LIB", "liboffload.so")).disable_plan(ns)
    python = offload.disable(dry_run=True, netns=ns)
    assert rust == c == python
    by_name = dict((o["ifname"], o) for o in rust["interfaces"])
    assert sorted(by_name) == sorted([HOST, PEER, VIF, VIF_PEER])  # all but lo
    assert by_name[VIF]["kind"] == "xenvif" and by_name[HOST]["kind"] == "veth"
    for o in rust["interfaces"]:
        assert o["status"] == "planned" and "tx-checksum-ip-generic" in o["changed"], o
    assert states(ns) == before  # a plan changes nothing


def test_restore_report_is_one_answer(ns, tmp_path):
    original = states(ns)
    reports = []
    for n, restore in enumerate((
        lambda path: Liboffload(built("OFFLOAD_LIB", "liboffload.so")).restore(path),
        lambda path: offload.restore(offload.Snapshot.load(str(path))),
        lambda path: json.loads(cli("restore", "--json", str(path))),
    )):
        path = tmp_path / ("before-%d.json" % n)
        cli("disable", "--netns", ns, "--save", str(path))
        assert states(ns) != original
        reports.append(restore(path))
        assert states(ns) == original, n
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["schema"] == "offload.restore/2"
    assert all(o["status"] == "changed" for o in reports[0]["interfaces"]), reports[0]
