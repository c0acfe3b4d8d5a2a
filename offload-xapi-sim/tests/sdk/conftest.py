"""Starts `cargo xtask xapi-sim` processes for the SDK fidelity tests.

The simulator binary comes from $XAPI_SIM_BIN (the xtask binary; the
`pytest_xapi` stage of `cargo xtask test` sets it), else `cargo run -p xtask`.
"""

import json
import urllib.request

import pytest
import XenAPI

from simproc import LAB, PASSWORD, REPO, USER, SimProcess  # noqa: F401 (re-exported to the tests)


class Sim(SimProcess):
    """One simulator process; `stop()` returns its stdout (call counts)."""

    def __init__(self, *args, socket=False):
        super().__init__(*args, socket=socket)

    def state(self):
        with urllib.request.urlopen(self.url.replace("https://", "http://") + "/sim/state") as r:
            return json.load(r)

    def session(self, **kwargs):
        s = XenAPI.Session(self.url, **kwargs)
        s.xenapi.login_with_password(USER, PASSWORD, "1.0", "pytest")
        return s


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
