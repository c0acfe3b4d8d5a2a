"""offload.XapiSession against the XAPI simulator (`cargo xtask xapi-sim`,
HTTPS on 127.0.0.1 with a fresh self-signed certificate).

The simulator binary comes from $XAPI_SIM_BIN (the pytest_py stage sets it to
the xtask binary), else `cargo run -p xtask`.
"""

import os
import pathlib
import subprocess
import sys

import pytest

import offload

REPO = pathlib.Path(__file__).resolve().parents[2]
# The one simulator-process helper of the workspace's Python suites.
sys.path.insert(0, str(REPO / "offload-xapi-sim" / "tests" / "sdk"))
from simproc import LAB, PASSWORD, USER, SimProcess  # noqa: E402


def Sim():
    return SimProcess("--tls", "--pool", str(LAB), prefix="pysim")


@pytest.fixture(scope="module")
def sim():
    s = Sim()
    yield s
    s.stop()


def connect(sim, **kwargs):
    return offload.XapiSession(sim.url, USER, PASSWORD, fingerprint=sim.fingerprint(), **kwargs)


def test_pif_apply_then_verify(sim):
    with connect(sim) as session:
        assert session.url.startswith("https://127.0.0.1:")
        before = session.verify("pif", "seed")
        assert before and not all(o["ok"] for o in before)
        dry = session.pif_apply("seed", dry_run=True)
        assert dry["dry_run"] is True
        assert {o["status"] for o in dry["objects"]} <= {"would-change", "unchanged", "no-effect"}
        assert not all(o["ok"] for o in session.verify("pif", "seed"))
        report = session.pif_apply("seed")
        assert report["class"] == "PIF"
        assert any(o["status"] == "changed" for o in report["objects"])
        checked = session.verify("pif", "seed")
        # lab.json's bond0, VLAN and tunnel PIFs: keys there change nothing under
        # openvswitch, so apply wrote their bond's slaves instead and verify says so.
        assert all(o["ok"] for o in checked if "effect" not in o)
        assert {o["label"] for o in checked if "effect" in o} == {
            "lab-host-1/bond0",
            "lab-host-1/eth1.100",
            "lab-host-1/tunnel0",
        }
        again = session.pif_apply("seed")
        assert {o["status"] for o in again["objects"]} == {"unchanged", "no-effect"}
        assert session.calls_made > 0


def test_vif_apply_with_settings_and_filters(sim):
    with connect(sim, json_rpc=True) as session:
        report = session.vif_apply(settings="tx=off", vm_names=["router"])
        assert report["class"] == "VIF"
        assert report["objects"], report
        checked = session.verify("vif", settings="tx=off", vm_names=["router"])
        assert checked and all(o["ok"] for o in checked)
        # A filter that matches nothing is refused before any write.
        with pytest.raises(offload.InvalidArgumentError, match="matches no VM"):
            session.vif_apply("seed", vm_names=["no-such-vm-*"])


def test_xapi_errors_keep_code_and_params(sim):
    with pytest.raises(offload.XapiError) as info:
        offload.XapiSession(sim.url, USER, "wrong", fingerprint=sim.fingerprint())
    assert info.value.code == "SESSION_AUTHENTICATION_FAILED"
    assert isinstance(info.value.params, tuple)
    assert not isinstance(info.value, OSError)


def test_pinned_fingerprint_mismatch_refuses_the_host(sim):
    with pytest.raises(offload.XapiError) as info:
        offload.XapiSession(sim.url, USER, PASSWORD, fingerprint="00" * 32)
    assert "fingerprint" in str(info.value)


def test_unreachable_host_is_a_transport_error():
    with pytest.raises(offload.XapiError) as info:
        offload.XapiSession("http://127.0.0.1:9", USER, PASSWORD, timeout=5)
    assert info.value.code == "TRANSPORT"
    assert info.value.errno == 111  # ECONNREFUSED


def test_bad_arguments_are_value_errors(sim):
    with pytest.raises(offload.InvalidArgumentError):
        offload.XapiSession(sim.url, USER, PASSWORD, fingerprint="not-hex")
    with pytest.raises(offload.InvalidArgumentError):
        offload.XapiSession(sim.url, USER, PASSWORD, fingerprint=sim.fingerprint(), insecure=True)
    with pytest.raises(offload.InvalidArgumentError):
        offload.XapiSession("gopher://x", USER, PASSWORD)
    with connect(sim) as session:
        with pytest.raises(offload.InvalidArgumentError):
            session.pif_apply("no-such-preset")
        with pytest.raises(offload.InvalidArgumentError, match="did you mean"):
            session.pif_apply(settings="sgo=off")
        with pytest.raises(offload.InvalidArgumentError):
            session.pif_apply("seed", settings="tx=off")
        with pytest.raises(offload.InvalidArgumentError):
            session.verify("vm", "seed")
        with pytest.raises(offload.InvalidArgumentError):
            session.verify("pif", "seed", vm_names=["x"])
        with pytest.raises(TypeError):
            session.pif_apply("seed", hosts="not-a-list")


def test_logout_ends_the_session(sim):
    session = connect(sim)
    session.logout()
    with pytest.raises(offload.InvalidArgumentError, match="logged out"):
        session.verify("pif", "seed")
    session.logout()  # twice is harmless


# --- One answer from every front-end -------------------------------------
#
# The same policy and trust specification asked of Python (XapiSession), C
# (offload_xapi_verify_json through ctypes) and the CLI (offloadctl xapi pif
# verify): offload-xapi resolves it once, so the three must agree on refusing
# it and, when accepted, on every object's verdict.

import ctypes
import json

OFFLOAD_RESULT_OK = 0
OFFLOAD_RESULT_INVALID_ARGUMENT = 1005
CLI_USAGE = 64


def _liboffload():
    path = os.environ.get("OFFLOAD_LIB") or str(REPO / "target" / "debug" / "liboffload.so")
    if not os.path.isfile(path):
        pytest.skip("SKIP: liboffload.so not built (`cargo build -p offload-capi`; the pytest_py stage builds it)")
    lib = ctypes.CDLL(path)
    lib.offload_xapi_verify_json.restype = ctypes.c_uint32
    lib.offload_xapi_verify_json.argtypes = [ctypes.c_char_p] * 4 + [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_int),
    ]
    return lib


def _offloadctl():
    path = os.environ.get("OFFLOADCTL") or str(REPO / "target" / "debug" / "offloadctl")
    if not os.path.isfile(path):
        pytest.skip("SKIP: offloadctl not built (`cargo build -p offload-cli`)")
    return path


def _verdicts(objects):
    return sorted((o["uuid"], o["ok"]) for o in objects)


def ask_python(sim, spec):
    try:
        with offload.XapiSession(
            sim.url, USER, PASSWORD, fingerprint=spec.get("fingerprint"), insecure=spec.get("insecure", False)
        ) as session:
            return _verdicts(session.verify("pif", spec.get("preset"), settings=spec.get("settings")))
    except offload.InvalidArgumentError:
        return "refused"


def ask_c(sim, spec):
    lib = _liboffload()
    request = {"class": "pif"}
    for ours, theirs in [("preset", "preset"), ("settings", "set"), ("fingerprint", "fingerprint"), ("insecure", "insecure")]:
        if ours in spec:
            request[theirs] = spec[ours]
    buf = ctypes.create_string_buffer(1 << 20)
    n, err = ctypes.c_size_t(0), ctypes.c_int(0)
    result = lib.offload_xapi_verify_json(
        sim.url.encode(), USER.encode(), PASSWORD.encode(), json.dumps(request).encode(), buf, len(buf), n, err
    )
    if result == OFFLOAD_RESULT_INVALID_ARGUMENT:
        return "refused"
    assert result == OFFLOAD_RESULT_OK, result
    return _verdicts(json.loads(buf.value.decode()))


def ask_cli(sim, spec, tmp_path):
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    args = [_offloadctl(), "xapi", "--url", sim.url, "--password-file", str(password)]
    if "fingerprint" in spec:
        args += ["--fingerprint", spec["fingerprint"]]
    if spec.get("insecure"):
        args += ["--insecure"]
    args += ["pif", "verify", "--json"]
    if "preset" in spec:
        args += ["--preset", spec["preset"]]
    if "settings" in spec:
        args += ["--set", spec["settings"]]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if out.returncode == CLI_USAGE:
        return "refused"
    assert out.returncode in (0, 1), out.stderr
    return _verdicts(json.loads(out.stdout)["objects"])


@pytest.mark.parametrize(
    "spec",
    [
        {"pin": True},
        {"preset": "seed", "settings": "tx=off", "pin": True},
        {"preset": "seed", "insecure": True, "pin": True},
        {"preset": "seed", "pin": True},
        {"settings": "tx=off,sg=off", "pin": True},
        {"preset": "seed", "insecure": True},
    ],
    ids=["no-policy", "preset-and-settings", "pin-and-insecure", "preset", "settings", "insecure"],
)
def test_every_front_end_resolves_policy_and_trust_alike(sim, spec, tmp_path):
    spec = dict(spec)
    if spec.pop("pin", False):
        spec["fingerprint"] = sim.fingerprint()
    answers = {
        "python": ask_python(sim, spec),
        "c": ask_c(sim, spec),
        "cli": ask_cli(sim, spec, tmp_path),
    }
    assert answers["python"] == answers["c"] == answers["cli"], answers
    refused = not spec.get("preset") and not spec.get("settings")
    refused |= bool(spec.get("preset") and spec.get("settings"))
    refused |= bool(spec.get("fingerprint") and spec.get("insecure"))
    assert (answers["python"] == "refused") == refused, answers
