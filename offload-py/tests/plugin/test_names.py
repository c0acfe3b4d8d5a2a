"""Interface names that are not ASCII, on every dom0 Python, started as xapi
starts the plugin (argv only, PATH only, from an install under a temporary
root) inside a namespace holding real interfaces of those names.

A name is the kernel's bytes. One is UTF-8 (e-acute, 0), one is not UTF-8
at all (n, 0xff, 0): the caller names the first as text, xapi hands it
over as UTF-8 bytes in argv[1], and the plugin gives both back in the
library's escaped form (offload-ethtool's IfName: \\xNN)."""

import json
import subprocess
import sys

import pytest

from conftest import Dom0, parse_ethtool_k, pyenv_python, response_of

UTF8_NAME = u"\u00e90"  # é0
UTF8_BYTES = b"\xc3\xa90"
ODD_BYTES = b"n\xff0"  # not UTF-8: only a listing can name it


def python_for(which):
    """(interpreter, backend the plugin must pick) for each dom0 Python."""
    if which == "3.9+ module":
        probe = subprocess.run([sys.executable, "-c", "import offload; offload.features_json"],
                               capture_output=True)
        if probe.returncode != 0:
            pytest.skip("SKIP: the pyo3 module `offload` is not importable by %s" % sys.executable)
        return sys.executable, "pyo3"
    return pyenv_python(which), "ctypes"


@pytest.fixture(params=["2.7.18", "3.6.15", "3.9.18", "3.9+ module"])
def named_lab(request, lab, liboffload, tmp_path):
    """(dom0, lab, backend): the lab namespace also holds a veth pair named
    é0 and n\\xff0; dom0's python3 (python2 for 2.7) is the interpreter under test."""
    exe, backend = python_for(request.param)
    lab.ip("link", "add", UTF8_BYTES, "type", "veth", "peer", "name", ODD_BYTES)
    host = Dom0(tmp_path / "root", liboffload)
    host.python("python2" if request.param.startswith("2.") else "python3", exe)
    return host, lab, backend


def ethtool_k(lab, raw_name):
    out = subprocess.run(
        [b"ip", b"netns", b"exec", lab.netns.encode(), b"ethtool", b"-k", raw_name],
        check=True, capture_output=True,
    ).stdout
    return parse_ethtool_k(out.decode("utf-8", "surrogateescape"))


def ok_value(proc):
    params = response_of(proc)
    assert params["Status"] == "Success", params
    return json.loads(params["Value"])


def error_of(proc):
    params = response_of(proc)
    assert params["Status"] == "Failure", params
    return params["ErrorDescription"]


def test_a_utf8_name_is_read_and_changed(named_lab):
    host, lab, backend = named_lab
    entry = ok_value(host.run_as_xapi("get_features", {"ifname": UTF8_NAME}, netns=lab.netns))
    assert (entry["ifname"], entry["kind"]) == ("\\xc3\\xa90", "nic")
    live = ethtool_k(lab, UTF8_BYTES)
    for feature in entry["features"]:
        if feature["name"] in live:
            assert live[feature["name"]][0] == feature["active"], feature

    result = ok_value(host.run_as_xapi(
        "apply", {"settings": "tx=off", "ifname": UTF8_NAME}, netns=lab.netns))
    assert result["backend"] == backend
    (applied,) = result["interfaces"]
    assert (applied["ifname"], applied["status"]) == ("\\xc3\\xa90", "changed"), applied
    assert ethtool_k(lab, UTF8_BYTES)["tx-checksum-ip-generic"][0] is False
    assert ethtool_k(lab, ODD_BYTES)["tx-checksum-ip-generic"][0] is True


def test_listed_names_are_changed_whatever_their_bytes(named_lab):
    host, lab, backend = named_lab
    report = ok_value(host.run_as_xapi("report", {}, netns=lab.netns))
    assert report["backend"] == backend
    listed = [e["ifname"] for e in report["interfaces"]]
    assert "\\xc3\\xa90" in listed and "n\\xff0" in listed, listed
    assert all("error" not in e for e in report["interfaces"]), report["interfaces"]

    result = ok_value(host.run_as_xapi(
        "apply", {"settings": "tx=off", "targets": "nics"}, netns=lab.netns))
    status = dict((e["ifname"], e["status"]) for e in result["interfaces"])
    assert status["\\xc3\\xa90"] == "changed" and status["n\\xff0"] == "changed", status
    for raw in (UTF8_BYTES, ODD_BYTES):
        assert ethtool_k(lab, raw)["tx-checksum-ip-generic"][0] is False, raw


def test_names_the_kernel_refuses_or_lacks(named_lab):
    host, lab, _ = named_lab
    # à is C3 A0, and the kernel's isspace() counts 0xA0 (dev_valid_name).
    error = error_of(host.run_as_xapi("get_features", {"ifname": u"\u00e00"}, netns=lab.netns))
    assert error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "ifname"], error
    # 15 bytes at most: eight é are 16.
    error = error_of(host.run_as_xapi("get_features", {"ifname": u"\u00e9" * 8}, netns=lab.netns))
    assert error[:2] == ["OFFLOAD_INVALID_ARGUMENT", "ifname"], error
    error = error_of(host.run_as_xapi("get_features", {"ifname": u"\u00fc0"}, netns=lab.netns))
    assert error == ["OFFLOAD_NO_SUCH_INTERFACE", "\\xc3\\xbc0"], error
