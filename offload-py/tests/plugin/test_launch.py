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

import pytest

from conftest import Dom0, pyenv_python, response_of


def dom0(tmp_path, python3_has, python2_has):
    """A dom0 without liboffload whose python3 is 3.6.15 and python2 2.7.18."""
    host = Dom0(tmp_path / "root")
    host.python("python3", pyenv_python("3.6.15"), python3_has)
    host.python("python2", pyenv_python("2.7.18"), python2_has)
    return host


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
    host = dom0(tmp_path, python3_has, python2_has)
    # No liboffload anywhere: the plugin answers a well-formed failure, exit 0.
    params = response_of(host.run_as_xapi("report", {}))
    assert params["Status"] == "Failure", params
    assert params["ErrorDescription"][0] == "OFFLOAD_LIBRARY_MISSING", params
    assert host.ran() == [expected, host.plugin]


def test_without_any_xenapiplugin_the_import_error_is_the_failure(tmp_path):
    host = dom0(tmp_path, False, False)
    proc = host.run_as_xapi("report", {})
    # xapi turns this into XENAPI_PLUGIN_FAILURE ["non-zero exit", stdout, stderr].
    assert proc.returncode != 0
    assert b"XenAPIPlugin" in proc.stderr, proc.stderr
    assert host.ran() == ["python3", host.plugin]
