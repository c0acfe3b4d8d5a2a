# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""host_offload and offload_facts on a veth pair in a network namespace this
test creates and removes (never an interface of the root namespace), read
back with ethtool -k in that namespace. Root only; skipped otherwise."""

from __future__ import (absolute_import, division, print_function)

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from playbook_run import Run  # noqa: E402

PLAYBOOK = HERE / "host_offload.yml"


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ethtool") or not shutil.which("ip"):
        why = "needs root, ip and ethtool (a private network namespace)"
        # As root the suite allows no skip (cargo xtask test sets this).
        if os.environ.get("OFFLOAD_TESTS_NEED_ROOT") == "1":
            pytest.fail(why)
        pytest.skip(why)
    name = "ofans%d" % os.getpid()
    subprocess.check_call(["ip", "netns", "add", name])
    try:
        subprocess.check_call(["ip", "-n", name, "link", "add", "ha", "type", "veth", "peer", "name", "hb"])
        yield name
    finally:
        subprocess.call(["ip", "netns", "del", name])


def ethtool_k(netns, ifname):
    return subprocess.check_output(["ip", "netns", "exec", netns, "ethtool", "-k", ifname],
                                   universal_newlines=True)


def test_disable_set_restore_are_idempotent_with_check_mode_and_diff(tmp_path, netns):
    snapshot = tmp_path / "before.json"
    run = Run(tmp_path, PLAYBOOK, "localhost,", netns=netns, snapshot=str(snapshot),
              offloadctl=os.environ["OFFLOADCTL"])
    assert run.rc == 0, (run.stats, run.stderr)

    def task(name):
        return run.results(name)["localhost"]

    def ethtool_after(step):
        """`ethtool -k` of ha and hb in the namespace right after a step."""
        text = task("ethtool after " + step)["stdout"]
        shown = {}
        for block in text.split("Features for ")[1:]:
            name, _, rest = block.partition(":\n")
            shown[name] = "Features for %s:\n%s" % (name, rest.rstrip("\n"))
        assert set(shown) == {"ha", "hb"}, text
        return shown

    original = ethtool_after("nothing")
    assert "tx-checksum-ip-generic: on" in original["ha"]

    # disable: the check plans and diffs, changes nothing, writes no snapshot;
    # the real one does what was planned; the second changes nothing.
    check = task("Disable (check)")
    assert check["changed"] and {o["status"] for o in check["interfaces"]} == {"planned"}, check
    ha = next(d for d in check["diff"] if d["before_header"] == "ha")
    assert ha["before"]["tx-checksum-ip-generic"] == "on" and ha["after"]["tx-checksum-ip-generic"] == "off"
    assert ethtool_after("Disable (check)") == original, "check mode changed features"
    assert not task("Snapshot after the check")["stat"]["exists"], "check mode wrote the snapshot"
    done = task("Disable")
    assert done["changed"]
    assert "tx-checksum-ip-generic: off" in ethtool_after("Disable")["ha"]
    planned = sorted(n for o in check["interfaces"] for n in o["changed"])
    assert sorted(n for o in done["interfaces"] for n in o["changed"]) == planned, "the disable differs from its plan"
    assert not task("Disable again")["changed"]
    disabled = ethtool_after("Disable")

    # set: TX checksumming and scatter-gather back on for ha only.
    assert task("Set (check)")["changed"]
    assert ethtool_after("Set (check)") == disabled, "check mode changed features"
    done = task("Set")
    assert done["changed"]
    now = ethtool_after("Set")
    assert "tx-checksum-ip-generic: on" in now["ha"] and "tx-scatter-gather: on" in now["ha"], now["ha"]
    assert now["hb"] == disabled["hb"]
    diff = done["diff"][0]
    assert diff["before"]["tx-checksum-ip-generic"] == "off" and diff["after"]["tx-checksum-ip-generic"] == "on"
    assert not task("Set again")["changed"]

    # restore: planned without changing, then the original state, then nothing to do.
    assert task("Restore (check)")["changed"]
    assert ethtool_after("Restore (check)") == now, "check mode changed features"
    assert task("Restore")["changed"]
    assert ethtool_after("Restore") == original
    assert not task("Restore again")["changed"]
    assert run.stats["localhost"]["failures"] == 0

    # show and facts read what ethtool -k reads.
    features = task("Show")["features"]["ha"]
    facts = task("Facts")["ansible_facts"]["offload_features"]
    assert {"ha", "hb"} <= set(facts)
    current = ethtool_k(netns, "ha").rstrip("\n")
    assert current == original["ha"]
    checked = 0
    for line in current.splitlines()[1:]:
        name, _, value = line.strip().partition(": ")
        if name in features:
            assert features[name] == facts["ha"][name] == value.startswith("on"), line
            checked += 1
    assert checked > 10
    print("TIMING host_offload playbook (11 module runs, 7 ethtool -k reads): %.1f s" % run.seconds)
