"""host.call_plugin runs an executable from the plugin directory (research §5)."""

import os
import stat
import sys
import textwrap

import pytest
import XenAPI

from conftest import Sim

PLUGIN = textwrap.dedent(
    """\
    #!{python}
    # A XenAPIPlugin-style plugin: argv[1] is a methodCall, stdout a methodResponse.
    import sys, xmlrpc.client
    params, fn = xmlrpc.client.loads(sys.argv[1])
    session, args = params
    if fn == "echo":
        out = {{"Status": "Success", "Value": session + " " + args.get("say", "")}}
    elif fn == "refuse":
        out = {{"Status": "Failure", "ErrorDescription": ["OFFLOAD_REFUSED", args.get("why", "")]}}
    elif fn == "crash":
        print("partial")
        sys.stderr.write("boom\\n")
        sys.exit(3)
    else:
        out = {{"Status": "Failure", "ErrorDescription": ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", fn]}}
    print(xmlrpc.client.dumps((out,), "", True))
    """
)


@pytest.fixture
def plugin_sim(tmp_path):
    path = tmp_path / "offload"
    path.write_text(PLUGIN.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    sim = Sim("--vms", "1", "--plugin-dir", str(tmp_path))
    yield sim
    sim.stop()


def test_call_plugin_contract(plugin_sim):
    s = plugin_sim.session()
    host = s.xenapi.host.get_all()[0]
    assert s.xenapi.host.call_plugin(host, "offload", "echo", {"say": "hi"}) == s._session + " hi"
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.host.call_plugin(host, "offload", "refuse", {"why": "mgmt"})
    assert err.value.details == ["OFFLOAD_REFUSED", "mgmt"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.host.call_plugin(host, "offload", "crash", {})
    assert err.value.details == ["XENAPI_PLUGIN_FAILURE", "non-zero exit", "partial\n", "boom\n"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.host.call_plugin(host, "missing", "echo", {})
    assert err.value.details == ["XENAPI_MISSING_PLUGIN", "missing"]
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.host.call_plugin("OpaqueRef:nope", "offload", "echo", {})
    assert err.value.details == ["HANDLE_INVALID", "host", "OpaqueRef:nope"]
