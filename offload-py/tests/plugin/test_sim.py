"""The plugin called the way a pool admin calls it: the official XenAPI SDK ->
`host.call_plugin` on the XAPI simulator (offload-xapi-sim) -> the plugin
installed as the RPM installs it under a temporary root, run by its own #!
line with the PATH-only environment xapi gives (the simulator's own
environment, here with a wrong $OFFLOAD_LIB and $PYTHONPATH, never reaches it).

The simulator is the xtask binary's `xapi-sim` command, from $XAPI_SIM_BIN
(set by `cargo xtask test plugin`)."""

import json
import os
import subprocess
import sys

import pytest
import XenAPI

from conftest import ROOT, Dom0, load_plugin_module, workspace_version

# The one simulator-process helper of the workspace's Python suites.
sys.path.insert(0, os.path.join(ROOT, "offload-xapi-sim", "tests", "sdk"))
from simproc import PASSWORD, USER, SimProcess  # noqa: E402


class Simulator(SimProcess):
    """`xapi-sim` on 127.0.0.1; `netns` runs it (and so the plugins it starts)
    inside that namespace, where only clients run in the same namespace reach it."""

    def __init__(self, dom0, env, netns=None):
        super(Simulator, self).__init__(
            "--hosts", "1", "--vms", "1", "--plugin-dir", dom0.plugin_dir,
            "--plugin-path", dom0.path, env=env, netns=netns, prefix="plgsim",
            start_timeout=60)

    def run_in_netns(self, argv, **kwargs):
        """Runs a client where the simulator listens."""
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns] + list(argv)
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


def start_simulator(liboffload, tmp_path, netns=None):
    if not os.environ.get("XAPI_SIM_BIN"):
        pytest.skip("SKIP: $XAPI_SIM_BIN not set (run `cargo xtask test plugin`)")
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("SKIP: no /usr/bin/python3 for dom0's python3")
    dom0 = Dom0(tmp_path / "root", liboffload)
    # A python3 without the pyo3 module: the ctypes backend.
    dom0.python("python3", "/usr/bin/python3")
    env = dict(os.environ, OFFLOAD_LIB="/nonexistent/liboffload.so",
               PYTHONPATH="/nonexistent", OFFLOAD_PLUGIN_BACKEND="java")
    return Simulator(dom0, env, netns=netns)


@pytest.fixture
def sdk(liboffload, tmp_path):
    """(session, host ref) of a simulated one-host pool whose plugin directory
    holds the offload plugin."""
    sim = start_simulator(liboffload, tmp_path)
    try:
        session = XenAPI.Session(sim.url)
        session.xenapi.login_with_password(USER, PASSWORD, "1.0", "offload-plugin-tests")
        yield session, session.xenapi.host.get_all()[0]
        session.xenapi.session.logout()
    finally:
        sim.stop()


@pytest.fixture
def lab_sim(liboffload, tmp_path, lab):
    """A simulator whose plugins run inside the lab namespace (so `apply`
    reaches only vif7.0 and plgpeer0); its clients run there too."""
    sim = start_simulator(liboffload, tmp_path, netns=lab.netns)
    try:
        yield sim
    finally:
        sim.stop()


def test_report_through_host_call_plugin(sdk):
    session, host = sdk
    result = session.xenapi.host.call_plugin(host, "offload", "report", {})
    report = json.loads(result)
    assert report["schema"] == "offload.plugin.report/1"
    assert report["backend"] == "ctypes"
    assert report["plugin_version"] == workspace_version()
    assert report["library_version"] == workspace_version()


def test_failures_reach_the_caller_as_xapi_errors(sdk):
    session, host = sdk
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.host.call_plugin(host, "offload", "get_features", {"ifname": "../x"})
    assert err.value.details[:2] == ["OFFLOAD_INVALID_ARGUMENT", "ifname"]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.host.call_plugin(host, "offload", "apply", {"preset": "fast"})
    assert err.value.details[:2] == ["OFFLOAD_INVALID_ARGUMENT", "preset"]
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.host.call_plugin(host, "offload", "format_disk", {})
    assert err.value.details == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "format_disk"]


SDK_CALL = """
import json, sys, XenAPI
url, function, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
session = XenAPI.Session(url)
session.xenapi.login_with_password("%s", "%s", "1.0", "offload-plugin-tests")
try:
    host = session.xenapi.host.get_all()[0]
    sys.stdout.write(session.xenapi.host.call_plugin(host, "offload", function, args))
finally:
    session.xenapi.session.logout()
""" % (USER, PASSWORD)


def test_apply_through_host_call_plugin_in_a_lab(lab_sim, lab):
    args = {"preset": "seed", "targets": "vifs"}
    proc = lab_sim.run_in_netns(
        [sys.executable, "-c", SDK_CALL, lab_sim.url, "apply", json.dumps(args)]
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [(e["ifname"], e["status"]) for e in result["interfaces"]] == [(lab.VIF, "changed")]
    features = lab.ethtool_k(lab.VIF)
    assert features["tx-checksum-ip-generic"][0] is False
    assert features["rx-checksum"][0] is False
    assert lab.ethtool_k(lab.PEER)["tx-checksum-ip-generic"][0] is True


def test_a_non_ascii_name_through_host_call_plugin(lab_sim, lab):
    # The SDK sends é0 as UTF-8, the simulator writes it into argv[1] as
    # xapi does, and the plugin reaches the interface of those bytes.
    lab.ip("link", "add", b"\xc3\xa90", "type", "veth", "peer", "name", "plgpeer1")
    args = {"settings": "tx=off", "ifname": u"\u00e90"}
    proc = lab_sim.run_in_netns(
        [sys.executable, "-c", SDK_CALL, lab_sim.url, "apply", json.dumps(args)]
    )
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)["interfaces"]
    assert (entry["ifname"], entry["status"]) == ("\\xc3\\xa90", "changed"), entry


def find_offloadctl():
    if os.environ.get("OFFLOADCTL_BIN"):
        return os.environ["OFFLOADCTL_BIN"]
    exe = os.environ.get("XAPI_SIM_BIN")
    if exe:  # the xtask binary sits beside offloadctl when the workspace was built
        beside = os.path.join(os.path.dirname(os.path.abspath(exe)), "offloadctl")
        if os.path.isfile(beside):
            return beside
    return None


def test_offloadctl_host_apply_all_hosts_in_a_lab(lab_sim, lab):
    offloadctl = find_offloadctl()
    if offloadctl is None:
        pytest.skip("SKIP: no offloadctl binary beside $XAPI_SIM_BIN (or $OFFLOADCTL_BIN)")
    proc = lab_sim.run_in_netns(
        [offloadctl, "xapi", "--url", lab_sim.url, "host", "apply", "--all-hosts",
         "--preset", "tx-only", "--targets", "vifs", "--json"],
        env=dict(os.environ, OFFLOAD_XAPI_PASSWORD=PASSWORD),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    (host,) = out["hosts"]
    assert host["ok"] is True
    (entry,) = host["result"]["interfaces"]
    assert (entry["ifname"], entry["settings"], entry["status"]) == (lab.VIF, "tx off", "changed")
    features = lab.ethtool_k(lab.VIF)
    assert features["tx-checksum-ip-generic"][0] is False
    assert features["rx-checksum"][0] is True


def test_plugin_presets_match_offload_xapi_policies(liboffload, tmp_path):
    # The plugin's presets are generated from offload-core's table (`cargo
    # xtask codegen`); this pins them to what offload_xapi::policy::Policy::preset
    # writes, through the pyo3 module's dry runs: the VIF keys are exactly the
    # vifs words, and every PIF key is among the nics words (the seed switches
    # gro and lro off live too, but writes only six keys).
    try:
        import offload
    except ImportError as e:
        pytest.skip("SKIP: pyo3 module `offload` not importable here (%s)" % e)
    sim = start_simulator(liboffload, tmp_path)
    try:
        xapi = offload.XapiSession(sim.url, USER, PASSWORD)
        plugin = load_plugin_module()
        assert sorted(plugin.PRESETS) == ["seed", "tx-only"]
        for preset, words in plugin.PRESETS.items():
            for target, dry_run in (("nics", xapi.pif_apply), ("vifs", xapi.vif_apply)):
                objects = dry_run(preset, dry_run=True)["objects"]
                assert objects, (preset, target)
                pairs = words[target].split()
                live = set(zip(pairs[::2], pairs[1::2]))
                for obj in objects:
                    written = set(
                        (change["key"][len("ethtool-"):], change["to"]) for change in obj["changes"]
                    )
                    if target == "vifs":
                        assert written == live, (preset, target, obj["label"])
                    else:
                        assert written <= live, (preset, target, obj["label"])
        xapi.logout()
    finally:
        sim.stop()
