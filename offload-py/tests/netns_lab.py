"""The one private-namespace lab of the module's tests: veth pairs in a
network namespace the test module creates and always removes. Needs root and
`ip`/`ethtool`; skips (visibly) otherwise. The root namespace is never touched."""

import contextlib
import os
import shutil
import subprocess

import pytest


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@contextlib.contextmanager
def veth_namespace(prefix, pairs, up=False):
    """Yields the name of a fresh namespace `<prefix><pid>` holding the veth
    `pairs` ((a, b), ...); `up` also sets lo and every veth up."""
    if os.geteuid() != 0:
        pytest.skip("needs root (creates a network namespace and veth pairs)")
    for tool in ("ip", "ethtool"):
        if not shutil.which(tool):
            pytest.skip("needs %s" % tool)
    name = "%s%d" % (prefix, os.getpid())
    run("ip", "netns", "add", name)
    try:
        for a, b in pairs:
            run("ip", "-n", name, "link", "add", a, "type", "veth", "peer", "name", b)
        if up:
            for ifname in ["lo"] + [i for pair in pairs for i in pair]:
                run("ip", "-n", name, "link", "set", ifname, "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
