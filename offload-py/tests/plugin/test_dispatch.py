"""The XAPI plugin contract (research/xapi.md §5) and argument validation.

Everything here that reaches the library with settings that could be valid
runs inside a namespace of its own (the `lab` fixture); calls that must fail on
their arguments before any change run in the test's namespace on purpose, so a
validation bug would show as a failed assertion, and never as a changed NIC
(the names they use do not exist there either)."""

import ast
import json
import os
import stat
import subprocess
import sys
import xmlrpc.client

import pytest

from conftest import PLUGIN, SESSION, call_plugin, plugin_env, workspace_version

BAD_IFNAMES = [
    "eth0; rm -rf /",
    "../x",
    "a" * 16,
    "",
    ".",
    "..",
    "eth 0",
    "eth0\t",
    "x/y",
    "eth0:1",
    "\u00e9" * 8,  # 16 bytes in UTF-8
    "eth0\n",
]


def failure_code(response):
    assert not response.ok, response
    return response.error[0]


def test_plugin_file_is_an_executable_script():
    mode = os.stat(PLUGIN).st_mode
    assert mode & stat.S_IXUSR, "the plugin must be executable (xapi runs it directly)"
    with open(PLUGIN) as f:
        assert f.readline().rstrip("\n") == "#!/bin/sh"


@pytest.mark.parametrize("name", ["python3", "python"])
def test_launcher_finds_python3_or_falls_back_to_python(name, tmp_path):
    # xapi runs the file by its #! line; with only `python` on PATH (XCP-ng 8.2
    # without python3) the launcher must still start the plugin.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, str(bin_dir / name))
    env = dict(os.environ, PATH=str(bin_dir), PYTHONPATH=os.pathsep.join(sys.path))
    request = xmlrpc.client.dumps(("OpaqueRef:s", {}), "no_such_function")
    proc = subprocess.run([PLUGIN, request], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (response,), _ = xmlrpc.client.loads(proc.stdout)
    assert response["ErrorDescription"] == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "no_such_function"], response


def test_vermin_python27_and_36():
    vermin = os.path.join(os.path.dirname(sys.executable), "vermin")
    if not os.path.isfile(vermin):
        pytest.skip("SKIP: vermin is not installed beside this Python (the venv has it)")
    # `-t=V-` = V or older: the plugin must not need anything newer than 2.7 / 3.6.
    proc = subprocess.run(
        [vermin, "-t=2.7-", "-t=3.6-", "--violations", "--no-tips", PLUGIN],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plugin_parses_with_python36_grammar():
    # Belt and braces beside vermin: the 3.6 grammar rejects newer syntax.
    with open(PLUGIN) as f:
        ast.parse(f.read(), PLUGIN, feature_version=(3, 6))


def test_plugin_never_runs_programs():
    with open(PLUGIN) as f:
        text = f.read()
    for forbidden in ("subprocess", "os.system", "os.popen", "os.exec", "os.spawn", "shell="):
        assert forbidden not in text, forbidden


def test_report_success_shape(plugin):
    response = plugin("report")
    assert response.ok, response
    assert isinstance(response.value, str)
    report = json.loads(response.value)
    assert report["schema"] == "offload.plugin.report/1"
    assert report["backend"] == "ctypes"
    assert report["plugin_version"] == workspace_version()
    assert report["library_version"] == workspace_version()
    assert report["python"] == "%d.%d.%d" % sys.version_info[:3]
    for entry in report["interfaces"]:
        assert entry["kind"] in ("nic", "vif")
        assert "features" in entry or "error" in entry


def test_unknown_function(plugin):
    response = plugin("reboot_host")
    assert response.error == ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", "reboot_host"]


def test_wrong_argv_count_is_refused(liboffload):
    # xapi always passes exactly one argument; anything else runs nothing.
    proc = subprocess.run(
        [sys.executable, PLUGIN],
        env=plugin_env("ctypes", liboffload),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""


@pytest.mark.parametrize("ifname", BAD_IFNAMES)
def test_bad_ifname_for_get_features(plugin, ifname):
    response = plugin("get_features", {"ifname": ifname})
    assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "ifname"], response
    # The echoed value is printable ASCII whatever came in.
    assert all(0x20 <= ord(c) < 0x7F for c in response.error[2]), response.error


@pytest.mark.parametrize("ifname", BAD_IFNAMES)
def test_bad_ifname_for_apply(plugin, ifname):
    response = plugin("apply", {"preset": "seed", "ifname": ifname})
    assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "ifname"], response


@pytest.mark.parametrize("ifname", ["$(reboot)", "`id`", "eth0;id", "nosuch%d" % os.getpid()])
def test_names_the_kernel_allows_but_that_do_not_exist(plugin, ifname):
    # Shell syntax is a legal device name; it is looked up, never run.
    response = plugin("get_features", {"ifname": ifname})
    assert response.error == ["OFFLOAD_NO_SUCH_INTERFACE", ifname]


def test_unknown_argument(plugin):
    response = plugin("get_features", {"interface": "lo"})
    assert failure_code(response) == "OFFLOAD_INVALID_ARGUMENT"
    assert response.error[1] == "interface"


def test_report_takes_no_arguments(plugin):
    assert failure_code(plugin("report", {"ifname": "lo"})) == "OFFLOAD_INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "args, argument",
    [
        ({}, "settings/preset"),
        ({"settings": "tx=off", "preset": "seed"}, "settings/preset"),
        ({"preset": "fast"}, "preset"),
        ({"preset": "seed", "targets": "everything"}, "targets"),
        ({"settings": "tx"}, "settings"),
        ({"settings": "tx=off;reboot"}, "settings"),
        ({"settings": "tx=o n"}, "settings"),
        ({"settings": "tx=`id`"}, "settings"),
        ({"settings": ",,"}, "settings"),
        ({"settings": "../tx=off"}, "settings"),
    ],
)
def test_apply_argument_shapes(plugin, args, argument):
    args = dict(args, ifname="nosuch0")
    response = plugin("apply", args)
    assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", argument], response


def test_apply_unknown_feature_is_rejected_by_the_library(plugin, lab):
    for settings in ("bogus=off", "tx=maybe", "tx=off,warp=on"):
        response = plugin(
            "apply", {"settings": settings, "ifname": lab.VIF}, netns=lab.netns
        )
        assert response.error[:3] == ["OFFLOAD_INVALID_ARGUMENT", "settings", settings], response


def test_apply_fixed_feature_is_an_ethtool_error(plugin, lab):
    response = plugin(
        "apply", {"settings": "tx-checksum-ipv4=on", "ifname": lab.VIF}, netns=lab.netns
    )
    assert response.error[0] == "OFFLOAD_ETHTOOL_ERROR", response
    assert response.error[1] == lab.VIF
    int(response.error[2])  # errno, as a decimal string
    assert response.error[3]


@pytest.mark.parametrize(
    "path, reason",
    [
        ("relative.pcap", "must be absolute"),
        ("/", "not a regular file"),
        ("/dev/null", "not a regular file"),
        ("/nonexistent/%d.pcap" % os.getpid(), "No such file or directory"),
    ],
)
def test_check_capture_bad_paths(plugin, path, reason):
    response = plugin("check_capture", {"path": path})
    assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "path"], response
    assert response.error[3] == reason


def test_check_capture_path_or_live(plugin, capture_file):
    both = plugin("check_capture", {"path": capture_file, "ifname": "lo", "seconds": "1"})
    assert failure_code(both) == "OFFLOAD_INVALID_ARGUMENT"
    neither = plugin("check_capture", {"seconds": "1"})
    assert failure_code(neither) == "OFFLOAD_INVALID_ARGUMENT"
    for seconds in ("0", "61", "1.5", "-1", "1e3", "ten"):
        response = plugin("check_capture", {"ifname": "lo", "seconds": seconds})
        assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "seconds"], response


def test_check_capture_not_a_capture(plugin, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a capture file\n" * 10)
    response = plugin("check_capture", {"path": str(path)})
    assert response.error[0] == "OFFLOAD_CAPTURE_ERROR", response
    assert response.error[1] == str(path)


def test_live_capture_needs_the_pyo3_module(plugin):
    response = plugin("check_capture", {"ifname": "lo", "seconds": "1"})
    assert response.error[0] == "OFFLOAD_NOT_SUPPORTED", response


def test_library_missing(tmp_path):
    env = plugin_env("ctypes", str(tmp_path / "liboffload.so.0"))
    response = call_plugin("report", {}, env)
    assert response.error[0] == "OFFLOAD_LIBRARY_MISSING", response
    assert str(tmp_path) in response.error[2]


def test_library_that_is_not_a_library(tmp_path):
    bogus = tmp_path / "liboffload.so.0"
    bogus.write_bytes(b"not an ELF file")
    response = call_plugin("report", {}, plugin_env("ctypes", str(bogus)))
    assert response.error[0] == "OFFLOAD_LIBRARY_MISSING", response


def test_unknown_backend_choice(liboffload):
    response = call_plugin("report", {}, plugin_env("java", liboffload))
    assert response.error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "OFFLOAD_PLUGIN_BACKEND"]


def test_exceptions_outside_the_contract_become_plugin_failures(liboffload, tmp_path):
    # The plugin maps every error it knows to a Failure, so this drives the
    # stand-in dispatcher with a broken handler to pin the catch-all shape
    # xapi would pass on for an unexpected exception.
    script = tmp_path / "broken"
    script.write_text(
        "import XenAPIPlugin\n"
        "def boom(session, args):\n"
        "    raise KeyError('x')\n"
        "XenAPIPlugin.dispatch({'boom': boom})\n"
    )
    import xmlrpc.client

    proc = subprocess.run(
        [sys.executable, str(script), xmlrpc.client.dumps((SESSION, {}), "boom")],
        env=plugin_env("ctypes", liboffload),
        capture_output=True,
        text=True,
    )
    (params,), _ = xmlrpc.client.loads(proc.stdout)
    assert params["ErrorDescription"] == ["XENAPI_PLUGIN_FAILURE", "boom", "KeyError", "'x'"]
