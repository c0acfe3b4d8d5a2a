"""Both backends on this machine's Python: the ctypes layer over the cdylib of
offload-capi, and the pyo3 module `offload` when it is importable."""

import json
import os
import shutil
import subprocess
import sys
import xmlrpc.client

import pytest

from conftest import (PLUGIN, Dom0, call_plugin, load_plugin_module, plugin_env, pyenv_python,
                      response_of, workspace_version)


def pyo3_module_missing():
    proc = subprocess.run(
        [sys.executable, "-c", "import offload"], capture_output=True, text=True
    )
    return proc.stderr.strip().splitlines()[-1] if proc.returncode else None


@pytest.fixture(params=["ctypes", "pyo3"])
def backend(request):
    if request.param == "pyo3":
        why = pyo3_module_missing()
        if why:
            pytest.skip("SKIP: pyo3 module `offload` not importable here (%s)" % why)
    return request.param


def test_report_names_the_backend(plugin, backend):
    response = plugin("report", backend=backend)
    assert response.ok, response
    report = json.loads(response.value)
    assert report["backend"] == backend
    assert report["library_version"] == workspace_version()


def test_get_features_of_loopback(plugin, backend):
    # Reading only; the root namespace's features are never changed.
    response = plugin("get_features", {"ifname": "lo"}, backend=backend)
    assert response.ok, response
    entry = json.loads(response.value)
    assert entry["ifname"] == "lo"
    assert entry["kind"] == "nic"
    names = {f["name"] for f in entry["features"]}
    assert "tx-checksum-ip-generic" in names
    for feature in entry["features"]:
        assert set(feature) == {"name", "active", "requested", "fixed"}


def test_check_capture_file(plugin, backend, capture_file):
    response = plugin("check_capture", {"path": capture_file}, backend=backend)
    assert response.ok, response
    summary = json.loads(response.value)
    assert summary["packets"] == 3
    assert summary["incorrect"] == 1
    assert summary["corruption"] is True
    assert summary["offload_pending"] == 0


def test_missing_interface(plugin, backend):
    response = plugin("get_features", {"ifname": "plgnosuch0"}, backend=backend)
    assert response.error == ["OFFLOAD_NO_SUCH_INTERFACE", "plgnosuch0"]


def test_apply_in_a_lab(plugin, backend, lab):
    response = plugin(
        "apply", {"settings": "tx=off", "ifname": lab.PEER}, backend=backend, netns=lab.netns
    )
    assert response.ok, response
    (entry,) = json.loads(response.value)["interfaces"]
    assert entry["status"] == "changed"
    assert lab.ethtool_k(lab.PEER)["tx-checksum-ip-generic"][0] is False


def test_live_capture_with_pyo3(plugin, lab):
    why = pyo3_module_missing()
    if why:
        pytest.skip("SKIP: pyo3 module `offload` not importable here (%s)" % why)
    response = plugin(
        "check_capture", {"ifname": lab.PEER, "seconds": "1"}, backend="pyo3", netns=lab.netns
    )
    assert response.ok, response
    summary = json.loads(response.value)
    assert summary["source"]["interfaces"] == [lab.PEER]
    assert summary["corruption"] is False


def test_doctor_in_a_lab(plugin, backend, lab):
    # The lab's veth pair, quiet: doctor reads both ends and finds nothing wrong.
    response = plugin("doctor", {"seconds": "1"}, backend=backend, netns=lab.netns)
    assert response.ok, response
    report = json.loads(response.value)
    assert report["schema"] == "offload.doctor/1"
    assert report["verdict"] == "nothing_wrong", report["summary"]
    (ns,) = report["evidence"]["namespaces"]
    assert sorted(d["name"] for d in ns["devices"]) == sorted([lab.VIF, lab.PEER])
    kinds = {d["name"]: d["kind"] for d in ns["devices"]}
    assert kinds[lab.VIF] == "xenvif"
    bad = plugin("doctor", {"seconds": "0"}, backend=backend, netns=lab.netns)
    assert bad.error[0] == "OFFLOAD_INVALID_ARGUMENT"


def test_library_next_to_the_plugin(liboffload, tmp_path):
    # Outside an install root, the plugin's own directory (no $OFFLOAD_LIB).
    shutil.copy(PLUGIN, str(tmp_path / "offload"))
    shutil.copy(liboffload, str(tmp_path / "liboffload.so.0"))
    env = plugin_env("ctypes")
    env.pop("OFFLOAD_LIB", None)
    response = call_plugin("report", {}, env, plugin_path=str(tmp_path / "offload"))
    assert response.ok, response
    assert json.loads(response.value)["library"] == str(tmp_path / "liboffload.so.0")


def test_library_of_the_plugins_own_install(liboffload, tmp_path):
    # Installed as the RPM installs (ROOT/etc/xapi.d/plugins/offload), the
    # plugin loads ROOT/usr/lib64/liboffload.so.0 with nothing in its
    # environment but PATH, as xapi runs it; a link to the plugin elsewhere
    # finds the same library.
    host = Dom0(tmp_path / "root", liboffload)
    host.python("python3", pyenv_python("3.6.15"))  # dom0's, without the pyo3 module
    report = response_of(host.run_as_xapi("report", {}))
    assert report["Status"] == "Success", report
    library = os.path.join(host.root, "usr", "lib64", "liboffload.so.0")
    assert json.loads(report["Value"])["library"] in (library, os.path.realpath(library))
    link = tmp_path / "elsewhere"
    os.symlink(host.plugin, str(link))
    proc = subprocess.run([str(link), xmlrpc.client.dumps(("s", {}), "report")],
                          env={"PATH": host.path}, capture_output=True, timeout=60)
    assert json.loads(response_of(proc)["Value"])["library"].startswith(host.root)


def test_ctypes_buffer_retry(liboffload):
    # A first buffer far too small: the layer must retry with the size the
    # library asks for (contract: *len_out + 1) and get the same text.
    module = load_plugin_module()
    backend = module.CtypesBackend(liboffload)
    whole = backend.features("lo")
    backend.FIRST_BUFFER = 8
    assert backend.features("lo") == whole
    # Messages come through the same two-step call (NULL buffer first).
    assert backend._message(1201) == "no such interface"


def test_library_errors_map_to_the_same_failures(plugin, backend, lab, tmp_path):
    unknown = plugin("apply", {"settings": "warp=off", "ifname": lab.VIF},
                     backend=backend, netns=lab.netns)
    assert unknown.error[:3] == ["OFFLOAD_INVALID_ARGUMENT", "settings", "warp=off"], unknown
    # A fixed feature asked by kernel name for another value: liboffload
    # refuses the request, the pyo3 module applies it and reports it refused.
    fixed = plugin("apply", {"settings": "tx-checksum-ipv4=on", "ifname": lab.VIF},
                   backend=backend, netns=lab.netns)
    if backend == "ctypes":
        assert fixed.error[:2] == ["OFFLOAD_ETHTOOL_ERROR", lab.VIF], fixed
    else:
        (entry,) = json.loads(fixed.value)["interfaces"]
        assert (entry["status"], entry["refused"]) == ("refused", ["tx-checksum-ipv4"])
    assert lab.ethtool_k(lab.VIF)["tx-checksum-ipv4"] == (False, True)
    not_pcap = tmp_path / "notes.txt"
    not_pcap.write_text("not a capture\n" * 10)
    capture = plugin("check_capture", {"path": str(not_pcap)}, backend=backend)
    assert capture.error[:2] == ["OFFLOAD_CAPTURE_ERROR", str(not_pcap)], capture
