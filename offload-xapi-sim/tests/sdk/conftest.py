"""Starts `cargo xtask xapi-sim` processes for the SDK fidelity tests.

The simulator binary comes from $XAPI_SIM_BIN (the xtask binary; the
`pytest_xapi` stage of `cargo xtask test` sets it), else `cargo run -p xtask`.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
import XenAPI

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
LAB = REPO / "offload-xapi-sim" / "pools" / "lab.json"
USER = "root"
PASSWORD = "secret"


def _command():
    exe = os.environ.get("XAPI_SIM_BIN")
    if exe:
        return [os.path.abspath(exe), "xapi-sim"]
    return ["cargo", "run", "-q", "-p", "xtask", "--", "xapi-sim"]


def _socket_dir():
    # XenAPI's UDSTransport turns "_" in the host part into "/", so the path
    # must not contain "_" itself.
    while True:
        path = tempfile.mkdtemp(prefix="xapisim", dir="/tmp")
        if "_" not in path:
            return path
        shutil.rmtree(path)


class Sim:
    """One simulator process; `stop()` returns its stdout (call counts)."""

    def __init__(self, *args, socket=False):
        self.dir = _socket_dir()
        ready = os.path.join(self.dir, "ready")
        self.socket = os.path.join(self.dir, "xapi") if socket else None
        cmd = _command() + ["--listen", "127.0.0.1:0", "--ready-file", ready, "--exit-on-stdin-eof"]
        cmd += ["--user", USER, "--password", PASSWORD]
        if self.socket:
            cmd += ["--socket", self.socket]
        cmd += list(args)
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 300
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError("simulator exited: %r" % self.lines)
            if time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        with open(ready) as f:
            self.url = f.read().strip()
        # stdout lines printed before the ready file was written
        while not any(l.startswith("listening on") for l in self.lines):
            time.sleep(0.01)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def line_value(self, prefix):
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        return None

    def state(self):
        with urllib.request.urlopen(self.url.replace("https://", "http://") + "/sim/state") as r:
            return json.load(r)

    def session(self, **kwargs):
        s = XenAPI.Session(self.url, **kwargs)
        s.xenapi.login_with_password(USER, PASSWORD, "1.0", "pytest")
        return s

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.lines


@pytest.fixture(scope="module")
def lab():
    """The lab pool (pools/lab.json), shared read-mostly by one test module."""
    sim = Sim("--pool", str(LAB), socket=True)
    yield sim
    sim.stop()


@pytest.fixture
def fresh_lab():
    """A lab pool of its own, for tests that change power states or plug things."""
    sim = Sim("--pool", str(LAB))
    yield sim
    sim.stop()


@pytest.fixture
def session(lab):
    s = lab.session()
    yield s
    try:
        s.xenapi.logout()
    except Exception:
        pass


def by_name(records, name):
    return next((r, v) for r, v in records.items() if v["name_label"] == name)
