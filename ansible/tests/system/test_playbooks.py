# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""playbooks/seed_rollout.yml against two simulated pools on loopback.

Each pool is a `cargo xtask xapi-sim` process with the lab pool; what the
playbook wrote is read back through the official XenAPI SDK. Run by
`cargo xtask test ansible`, which stages the collection and sets
$ANSIBLE_COLLECTIONS_PATH, $OFFLOADCTL and $XAPI_SIM_BIN.
"""

from __future__ import (absolute_import, division, print_function)

import pathlib
import socket
import sys

import pytest
import XenAPI

HERE = pathlib.Path(__file__).resolve().parent
COLLECTION = HERE.parents[1]
REPO = COLLECTION.parent
sys.path.insert(0, str(REPO / "offload-xapi-sim" / "tests" / "sdk"))
sys.path.insert(0, str(HERE))
from simproc import LAB, PASSWORD, USER, SimProcess  # noqa: E402

from playbook_run import Run  # noqa: E402

PLAYBOOK = COLLECTION / "playbooks" / "seed_rollout.yml"
SEED_KEYS = {"ethtool-%s" % k: "off" for k in ("rx", "tx", "sg", "tso", "ufo", "gso")}


@pytest.fixture(scope="module")
def pools():
    sims = [SimProcess("--pool", str(LAB), prefix="ansible-pool"), SimProcess("--pool", str(LAB), prefix="ansible-pool")]
    yield sims
    for sim in sims:
        sim.stop()


@pytest.fixture
def fresh_pools():
    sims = [SimProcess("--pool", str(LAB), prefix="ansible-pool"), SimProcess("--pool", str(LAB), prefix="ansible-pool")]
    yield sims
    for sim in sims:
        sim.stop()


def keys_of(sim):
    """Every PIF's and VIF's other_config, read through the official SDK."""
    session = XenAPI.Session(sim.url)
    session.xenapi.login_with_password(USER, PASSWORD, "1.0", "offload-ansible-test")
    try:
        pifs = session.xenapi.PIF.get_all_records()
        vifs = session.xenapi.VIF.get_all_records()
        return {
            "pif": {r["uuid"]: dict(r["other_config"]) for r in pifs.values()},
            "vif": {r["uuid"]: dict(r["other_config"]) for r in vifs.values()},
        }
    finally:
        session.xenapi.session.logout()


def closed_port_url():
    """A loopback URL where nothing listens: a pool that is down."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


def inventory(tmp_path, pools, canary):
    """An inventory file: pools is {name: (url, password)}."""
    lines = ["all:", "  children:", "    pools:", "      hosts:"]
    for name, (url, password) in pools.items():
        lines += ["        %s:" % name, "          offload_url: %s" % url,
                  "          offload_password: %s" % password]
    lines += ["    canary:", "      hosts:"]
    lines += ["        %s:" % name for name in canary]
    if not canary:
        lines[-1] = "      hosts: {}"
    path = tmp_path / "inventory.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_mode_and_diff_write_nothing_then_apply_converges_and_is_idempotent(tmp_path, pools):
    a, b = pools
    inv = inventory(tmp_path, {"pool-a": (a.url, PASSWORD), "pool-b": (b.url, PASSWORD)}, ["pool-a"])
    before = [keys_of(a), keys_of(b)]

    # Check mode with diff: every pool reports changes, each changed PIF and
    # VIF shows its keys before and after, and nothing is written.
    undo = tmp_path / "undo"
    undo.mkdir()
    check = Run(tmp_path, PLAYBOOK, inv, "--check", "--diff", offload_undo_dir=str(undo))
    assert check.rc == 0, check.stderr
    for pool in ("pool-a", "pool-b"):
        assert check.stats[pool]["changed"] == 2, check.stats
        assert check.stats[pool]["failures"] == 0, check.stats
    pifs = check.results("PIFs")
    for pool in ("pool-a", "pool-b"):
        result = pifs[pool]
        planned = [o for o in result["objects"] if o["status"] == "would-change"]
        assert planned and len(result["diff"]) == len(planned)
        eth0 = next(d for d in result["diff"] if "lab-host-1/eth0 " in d["before_header"])
        assert eth0["before"] == {} and eth0["after"] == SEED_KEYS
        # eth1 had ethtool-tso=off already: the plan leaves it out.
        eth1 = next(d for d in result["diff"] if "lab-host-1/eth1 " in d["before_header"])
        assert "ethtool-tso" not in eth1["after"] and eth1["after"]["ethtool-rx"] == "off"
    assert [keys_of(a), keys_of(b)] == before, "check mode wrote to a pool"
    assert not list(undo.iterdir()), "check mode wrote an undo file"

    # The real run writes the seed keys; the verify tasks in the play pass.
    first = Run(tmp_path, PLAYBOOK, inv, "--diff", offload_undo_dir=str(undo))
    assert first.rc == 0, first.stderr
    for pool, sim in (("pool-a", a), ("pool-b", b)):
        assert first.stats[pool]["changed"] == 2 and first.stats[pool]["failures"] == 0, first.stats
        pifs = first.results("PIFs")[pool]
        changed = [o["uuid"] for o in pifs["objects"] if o["status"] == "changed"]
        stored = keys_of(sim)["pif"]
        for uuid in changed:
            for key, value in SEED_KEYS.items():
                assert stored[uuid][key] == value, (uuid, stored[uuid])
        verified = first.results("Verify PIFs and VIFs")[pool]
        assert all(r["rc"] == 0 and not r["differing"] for r in verified["results"]), verified

    saved = sorted(p.name for p in undo.iterdir())
    assert saved == ["pool-a-pifs.json", "pool-a-vifs.json", "pool-b-pifs.json", "pool-b-vifs.json"], saved
    kept = {p.name: p.read_bytes() for p in undo.iterdir()}

    # A second run changes nothing, and the undo files keep the first state.
    second = Run(tmp_path, PLAYBOOK, inv, offload_undo_dir=str(undo))
    assert second.rc == 0, second.stderr
    for pool in ("pool-a", "pool-b"):
        assert second.stats[pool]["changed"] == 0 and second.stats[pool]["failures"] == 0, second.stats
    assert {p.name: p.read_bytes() for p in undo.iterdir()} == kept
    print("TIMING first=%.1fs second=%.1fs check=%.1fs changed(first)=%s changed(second)=%s" % (
        first.seconds, second.seconds, check.seconds,
        {p: first.stats[p]["changed"] for p in first.stats},
        {p: second.stats[p]["changed"] for p in second.stats}))


def test_a_wrong_password_and_a_pool_down_fail_alone(tmp_path, fresh_pools):
    a, b = fresh_pools
    down = closed_port_url()
    inv = inventory(tmp_path, {
        "pool-a": (a.url, "not-the-password"),
        "pool-b": (b.url, PASSWORD),
        "pool-down": (down, PASSWORD),
    }, [])
    untouched = keys_of(a)
    run = Run(tmp_path, PLAYBOOK, inv, offload_batch=3)
    assert run.rc == 2, run.stderr
    # The recap names the two that failed; the third converged.
    assert run.stats["pool-a"]["failures"] == 1, run.stats
    assert run.stats["pool-down"]["failures"] == 1, run.stats
    assert run.stats["pool-b"]["failures"] == 0 and run.stats["pool-b"]["changed"] == 2, run.stats
    pifs = run.results("PIFs")
    assert pifs["pool-a"]["reason"] == "auth" and pifs["pool-a"]["rc"] == 70, pifs["pool-a"]
    assert pifs["pool-down"]["reason"] == "unreachable" and pifs["pool-down"]["rc"] == 71, pifs["pool-down"]
    assert keys_of(a) == untouched
    stored = keys_of(b)["pif"]
    changed = [o["uuid"] for o in pifs["pool-b"]["objects"] if o["status"] == "changed"]
    assert changed and all(stored[u]["ethtool-rx"] == "off" for u in changed)
    verified = run.results("Verify PIFs and VIFs")["pool-b"]
    assert all(r["rc"] == 0 for r in verified["results"]), verified


def test_a_failed_canary_stops_the_rollout(tmp_path, fresh_pools):
    a, b = fresh_pools
    inv = inventory(tmp_path, {"pool-a": (a.url, "not-the-password"), "pool-b": (b.url, PASSWORD)}, ["pool-a"])
    untouched = keys_of(b)
    run = Run(tmp_path, PLAYBOOK, inv)
    assert run.rc != 0
    assert run.stats["pool-a"]["failures"] == 1, run.stats
    assert "pool-b" not in run.stats or run.stats["pool-b"]["changed"] == 0, run.stats
    assert keys_of(b) == untouched, "the rollout went on after the canary failed"


def networks_of(sim):
    session = XenAPI.Session(sim.url)
    session.xenapi.login_with_password(USER, PASSWORD, "1.0", "offload-ansible-test")
    try:
        return {r["name_label"]: dict(r["other_config"]) for r in session.xenapi.network.get_all_records().values()}
    finally:
        session.xenapi.session.logout()


def test_network_keys_apply_verify_clear(tmp_path):
    sim = SimProcess("--pool", str(LAB), prefix="ansible-pool")
    try:
        inv = inventory(tmp_path, {"pool-a": (sim.url, PASSWORD)}, [])
        before = networks_of(sim)
        run = Run(tmp_path, HERE / "network.yml", inv)
        assert run.rc == 0, (run.stats, run.stderr)

        def task(name):
            return run.results(name)["pool-a"]

        name = "Pool-wide network associated with eth1"
        check = task("Apply (check)")
        assert check["changed"] and check["diff"][0]["after"] == {"ethtool-gro": "off"}, check
        applied = task("Apply")
        assert applied["changed"] and [o["label"] for o in applied["objects"]] == [name + " (xenbr1)"], applied
        assert not task("Apply again")["changed"]
        assert task("Verify")["summary"] == {"match": 1, "differ": 0}
        cleared = task("Clear")
        assert cleared["changed"] and cleared["diff"][0]["before"] == {"ethtool-gro": "off"}
        assert cleared["diff"][0]["after"] == {}
        assert not task("Clear again")["changed"]
        # Read back: the check wrote nothing (the apply found it to do), the
        # clear left every network as it was.
        assert networks_of(sim) == before
    finally:
        sim.stop()
