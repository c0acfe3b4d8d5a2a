"""The plugin called the way a pool admin calls it: the official XenAPI SDK ->
`host.call_plugin` on the XAPI simulator (offload-xapi feature `sim`) -> the
plugin file run by its own shebang (/usr/bin/python3) from a plugin directory.

The simulator is the xtask binary's `xapi-sim` command, from $XAPI_SIM_BIN
(set by `cargo xtask test plugin`)."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import XenAPI

from conftest import PLUGIN, ROOT, plugin_env, workspace_version

USER, PASSWORD = "root", "secret"


class Simulator(object):
    def __init__(self, plugin_dir, env):
        exe = os.environ.get("XAPI_SIM_BIN")
        self.dir = tempfile.mkdtemp(prefix="plgsim")
        ready = os.path.join(self.dir, "ready")
        argv = [exe, "xapi-sim", "--listen", "127.0.0.1:0", "--ready-file", ready,
                "--exit-on-stdin-eof", "--hosts", "1", "--vms", "1",
                "--user", USER, "--password", PASSWORD, "--plugin-dir", plugin_dir]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        with open(ready) as f:
            self.url = f.read().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def sdk(liboffload, tmp_path):
    """(session, host ref) of a simulated one-host pool whose plugin directory
    holds the offload plugin."""
    if not os.environ.get("XAPI_SIM_BIN"):
        pytest.skip("SKIP: $XAPI_SIM_BIN not set (run `cargo xtask test plugin`)")
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("SKIP: no /usr/bin/python3 for the plugin's shebang")
    plugins = tmp_path / "xapi.d-plugins"
    plugins.mkdir()
    os.symlink(PLUGIN, str(plugins / "offload"))
    sim = Simulator(str(plugins), plugin_env("ctypes", liboffload))
    try:
        session = XenAPI.Session(sim.url)
        session.xenapi.login_with_password(USER, PASSWORD, "1.0", "offload-plugin-tests")
        yield session, session.xenapi.host.get_all()[0]
        session.xenapi.session.logout()
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
