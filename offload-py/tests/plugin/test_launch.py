"""The plugin started exactly as xapi starts it (Xapi_plugins.call_plugin,
ocaml/xapi/xapi_plugins.ml): run by its #! line with argv[1] = the XML-RPC
methodCall, no stdin, and an environment holding only PATH
(Forkhelpers' default). Its launcher must pick the first interpreter that
can `import XenAPIPlugin`, on real CPython 2.7.18 and 3.6.15 (pyenv).

The interpreters are reached through wrappers this test writes in a bin
directory of its own: each records that it ran the plugin and decides
whether XenAPIPlugin (the stand-in next to this file) is importable for it,
as a dom0 where only python2 has it does.
"""

import os
import stat
import subprocess
import xmlrpc.client

import pytest

from conftest import HERE, PLUGIN, SESSION


def pyenv_python(version):
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    exe = os.path.join(root, "versions", version, "bin", "python")
    if not os.path.isfile(exe):
        pytest.skip("SKIP: CPython %s is not installed (pyenv install %s)" % (version, version))
    return exe


def wrapper(bin_dir, name, exe, has_xenapiplugin, log):
    """bin_dir/name runs `exe`; XenAPIPlugin importable only if asked."""
    path = os.path.join(bin_dir, name)
    pythonpath = HERE if has_xenapiplugin else ""
    with open(path, "w") as f:
        f.write(
            "#!/bin/sh\n"
            'case "$1" in -c) ;; *) echo "%s $1" >> "%s" ;; esac\n'
            'PYTHONPATH="%s" exec "%s" "$@"\n' % (name, log, pythonpath, exe)
        )
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def dom0(tmp_path, python3_has, python2_has):
    """A bin directory with python3 (3.6.15) and python2 (2.7.18) wrappers,
    and the file where they record running the plugin."""
    bin_dir = str(tmp_path / "bin")
    os.mkdir(bin_dir)
    log = str(tmp_path / "ran")
    wrapper(bin_dir, "python3", pyenv_python("3.6.15"), python3_has, log)
    wrapper(bin_dir, "python2", pyenv_python("2.7.18"), python2_has, log)
    return bin_dir, log


def run_as_xapi(bin_dir, function, args):
    request = xmlrpc.client.dumps((SESSION, args), function)
    env = {"PATH": bin_dir + ":/usr/sbin:/sbin:/usr/bin:/bin"}
    proc = subprocess.run(
        [PLUGIN, request], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    return proc


@pytest.mark.parametrize(
    "python3_has,python2_has,expected",
    [
        (False, True, "python2"),  # XCP-ng 8.2: XenAPIPlugin for python2 only
        (True, True, "python3"),
        (True, False, "python3"),
    ],
)
def test_the_first_interpreter_that_imports_xenapiplugin_runs_the_plugin(
    tmp_path, python3_has, python2_has, expected
):
    bin_dir, log = dom0(tmp_path, python3_has, python2_has)
    # No liboffload anywhere: the plugin answers a well-formed failure, exit 0.
    proc = run_as_xapi(bin_dir, "report", {})
    assert proc.returncode == 0, proc
    (params,), method = xmlrpc.client.loads(proc.stdout.decode())
    assert method is None
    assert params["Status"] == "Failure", params
    assert params["ErrorDescription"][0] == "OFFLOAD_LIBRARY_MISSING", params
    with open(log) as f:
        ran = f.read().split()
    assert ran == [expected, PLUGIN], ran


def test_without_any_xenapiplugin_the_import_error_is_the_failure(tmp_path):
    bin_dir, log = dom0(tmp_path, False, False)
    proc = run_as_xapi(bin_dir, "report", {})
    # xapi turns this into XENAPI_PLUGIN_FAILURE ["non-zero exit", stdout, stderr].
    assert proc.returncode != 0
    assert b"XenAPIPlugin" in proc.stderr, proc.stderr
    with open(log) as f:
        assert f.read().split() == ["python3", PLUGIN]
