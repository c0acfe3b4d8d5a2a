# -*- coding: utf-8 -*-
"""Test-only stand-in for dom0's XenAPIPlugin module (not shipped by the PyPI
XenAPI wheel), written from the contract in research/xapi.md §5:

* the plugin is run with exactly one argument, an XML-RPC methodCall whose
  method name is the function and whose params are [session_ref, args_map];
* the handler is called as handler(session, args) and returns a string;
* stdout gets a methodResponse of {Status: Success, Value: result}, or
  {Status: Failure, ErrorDescription: [code] + params} for a Failure,
  ['XENAPI_PLUGIN_FAILURE', fn, exception class, message] for any other
  exception and ['UNKNOWN_XENAPI_PLUGIN_FUNCTION', fn] for an unknown name.
"""

import sys

try:
    import xmlrpc.client as xmlrpc
except ImportError:  # Python 2
    import xmlrpclib as xmlrpc


class Failure(Exception):
    """An error the plugin reports to the API caller as [code] + params."""

    def __init__(self, code, params):
        Exception.__init__(self)
        if not isinstance(params, list):
            raise TypeError("params must be a list of strings")
        self.code = code
        self.params = params

    def __str__(self):
        return str([self.code] + self.params)


def _session(ref):
    """What xapi's helper hands the handler: a local session bound to `ref`
    when the XenAPI SDK is importable, else the bare session reference."""
    try:
        import XenAPI
    except ImportError:
        return ref
    session = XenAPI.xapi_local()
    session._session = ref
    return session


def _respond(value):
    sys.stdout.write(xmlrpc.dumps((value,), "", True))


def dispatch(functions):
    if len(sys.argv) != 2:
        sys.stderr.write("usage: %s <xml-rpc methodCall>\n" % sys.argv[0])
        sys.exit(1)
    params, name = xmlrpc.loads(sys.argv[1])
    if name not in functions:
        _respond({"Status": "Failure", "ErrorDescription": ["UNKNOWN_XENAPI_PLUGIN_FUNCTION", name]})
        return
    try:
        result = functions[name](_session(params[0]), params[1])
    except Failure as e:
        _respond({"Status": "Failure", "ErrorDescription": [e.code] + e.params})
    except Exception as e:
        _respond(
            {
                "Status": "Failure",
                "ErrorDescription": ["XENAPI_PLUGIN_FAILURE", name, e.__class__.__name__, str(e)],
            }
        )
    else:
        _respond({"Status": "Success", "Value": result})
