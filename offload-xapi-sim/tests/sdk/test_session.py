"""Logins, logouts, dispatch errors and transports, seen through the official SDK."""

import hashlib
import http.client
import json
import ssl
import urllib.parse
import xmlrpc.client

import pytest
import XenAPI

from conftest import PASSWORD, USER, Sim


def test_login_then_logout_then_call_is_fault_401(lab):
    s = XenAPI.Session(lab.url)
    s.xenapi.login_with_password(USER, PASSWORD, "1.0", "pytest")
    assert s._session.startswith("OpaqueRef:")
    assert len(s.xenapi.VM.get_all()) == 7
    s.xenapi.logout()
    with pytest.raises(xmlrpc.client.Fault) as err:
        s.xenapi.VM.get_all()
    assert err.value.faultCode == 401


def test_wrong_password_is_authentication_failed(lab):
    s = XenAPI.Session(lab.url)
    with pytest.raises(XenAPI.Failure) as err:
        s.xenapi.login_with_password(USER, "wrong")
    assert err.value.details == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]


def test_slave_local_login_logs_out_with_local_logout(lab):
    s = XenAPI.Session(lab.url)
    s.slave_local_login_with_password(USER, PASSWORD)
    assert s.xenapi.pool.get_all()
    before = lab.state()["calls"].get("session.local_logout", 0)
    s.xenapi.logout()
    assert lab.state()["calls"]["session.local_logout"] == before + 1


def test_api_version_property(session):
    assert session.API_version == "2.21"


def test_session_this_host_is_the_master(session):
    pool = session.xenapi.pool.get_all()[0]
    master = session.xenapi.pool.get_master(pool)
    assert session.xenapi.session.get_this_host(session._session) == master


def raw(lab):
    return xmlrpc.client.ServerProxy(lab.url + "/")


def test_parameter_count_is_checked_before_the_session(lab):
    # Status/Failure envelopes come back as plain dicts through xmlrpc.client.
    r = raw(lab).VM.get_record("OpaqueRef:bogus")
    assert r == {
        "Status": "Failure",
        "ErrorDescription": ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "1", "0"],
    }
    r = raw(lab).VM.get_record("OpaqueRef:bogus", "OpaqueRef:x")
    assert r["ErrorDescription"] == ["SESSION_INVALID", "OpaqueRef:bogus"]
    r = raw(lab).session.login_with_password("root")
    assert r["ErrorDescription"] == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "session.login_with_password",
        "2",
        "1",
    ]


def test_unknown_method(session, lab):
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.VM.frobnicate(session.xenapi.VM.get_all()[0])
    assert err.value.details == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]
    r = raw(lab).VM.frobnicate("OpaqueRef:bogus")
    assert r["ErrorDescription"] == ["SESSION_INVALID", "OpaqueRef:bogus"]
    r = raw(lab).VM.frobnicate()
    assert r["ErrorDescription"] == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]


def test_list_methods_is_not_wrapped(lab):
    methods = raw(lab).system.listMethods()
    assert isinstance(methods, list)
    for m in ["VM.get_all_records", "VIF.add_to_other_config", "event.from", "PIF.plug", "host.call_plugin"]:
        assert m in methods


def test_rpc2_path_and_underscore_aliases(session, lab):
    # XenAPI.Session(url) without a path posts to /RPC2; the lab url has none.
    assert urllib.parse.urlparse(lab.url).path == ""
    assert sorted(session.xenapi.VM_get_all()) == sorted(session.xenapi.VM.get_all())


def test_session_invalid_mid_run_is_retried_by_the_sdk():
    # Sessions are forgotten when the 3rd call arrives: the SDK logs in again
    # with the same parameters and retries.
    sim = Sim("--vms", "3", "--fault", "invalidate-after=3")
    try:
        s = sim.session()  # call 1
        assert len(s.xenapi.VM.get_all()) == 4  # call 2
        assert len(s.xenapi.VM.get_all()) == 4  # call 3 fails, 4 = login, 5 = retry
        calls = sim.state()["calls"]
        assert calls["session.login_with_password"] == 2
        assert calls["VM.get_all"] == 3
    finally:
        sim.stop()


def test_dropped_connection_is_retried_by_xmlrpc_client():
    sim = Sim("--vms", "2", "--fault", "drop=2")
    try:
        s = sim.session()
        assert len(s.xenapi.VM.get_all()) == 3  # request 2 dropped, xmlrpc.client resends
        assert sim.state()["calls"]["VM.get_all"] == 1
    finally:
        sim.stop()


def test_unix_socket_is_preauthenticated_root(lab):
    s = XenAPI.Session("http://" + lab.socket.replace("/", "_"), transport=XenAPI.UDSTransport())
    s.xenapi.login_with_password("root", "any password works here")
    assert len(s.xenapi.host.get_all()) == 1
    s.xenapi.logout()


def test_pool_member_answers_host_is_slave_and_the_master_can_be_followed():
    # As in a pool, the member serves on the master's port at another address.
    sim = Sim("--vms", "1", "--slave-listen", "127.0.0.2:0")
    try:
        member_url = sim.line_value("member listening on")
        member = XenAPI.Session(member_url)
        with pytest.raises(XenAPI.Failure) as err:
            member.xenapi.login_with_password(USER, PASSWORD)
        code, master = err.value.details
        assert code == "HOST_IS_SLAVE"
        # The master's Host.address, no port: the client keeps its scheme and port.
        assert master == "127.0.0.1"
        port = member_url.rsplit(":", 1)[1]
        assert "http://%s:%s" % (master, port) == sim.url
        s = XenAPI.Session("http://%s:%s" % (master, port))
        s.xenapi.login_with_password(USER, PASSWORD)
        assert s.xenapi.VM.get_all()
        s.xenapi.logout()
    finally:
        sim.stop()


def session_is_valid(url, ref):
    """Asks with the raw session ref (the SDK would log in again by itself)."""
    answer = xmlrpc.client.ServerProxy(url).VM.get_all(ref)
    if answer["Status"] == "Success":
        return True
    assert answer["ErrorDescription"] == ["SESSION_INVALID", ref], answer
    return False


def test_each_originator_keeps_its_500_most_recent_sessions():
    # Db_gc_util.timeout_sessions (here on every call instead of every 30 s):
    # root's sessions are grouped by originator, 500 each
    # (max_sessions_per_originator); without an originator they share 400
    # (max_sessions); the least recently active beyond that are destroyed.
    sim = Sim("--vms", "1", "--session-gc-ms", "0")
    try:
        def login(*originator):
            s = XenAPI.Session(sim.url)
            s.xenapi.login_with_password(USER, PASSWORD, *originator)
            return s._session

        other = login("1.0", "other-tool")
        fleet = [login("1.0", "fleet") for _ in range(501)]
        anonymous = [login() for _ in range(401)]
        assert session_is_valid(sim.url, other)
        assert not session_is_valid(sim.url, fleet[0])
        assert all(session_is_valid(sim.url, ref) for ref in fleet[1:])
        assert not session_is_valid(sim.url, anonymous[0])
        assert all(session_is_valid(sim.url, ref) for ref in anonymous[1:])
        # A call keeps a session young: the oldest login survives when used.
        used = login("1.0", "busy")
        for _ in range(500):
            login("1.0", "busy")
            if _ == 250:
                assert session_is_valid(sim.url, used)
        assert session_is_valid(sim.url, used)
    finally:
        sim.stop()


def test_tls_with_a_pinned_self_signed_certificate():
    sim = Sim("--vms", "1", "--tls")
    try:
        assert sim.url.startswith("https://")
        host, port = urllib.parse.urlparse(sim.url).netloc.split(":")
        pem = ssl.get_server_certificate((host, int(port)))
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        printed = sim.line_value("fingerprint sha256")
        assert printed.replace(":", "") == digest
        with pytest.raises(Exception):
            XenAPI.Session(sim.url).xenapi.login_with_password(USER, PASSWORD)
        s = sim.session(ignore_ssl=True)
        assert s.xenapi.VM.get_all()
        s.xenapi.logout()
    finally:
        sim.stop()


def post(lab, path, body, content_type="text/xml"):
    netloc = urllib.parse.urlparse(lab.url).netloc
    conn = http.client.HTTPConnection(netloc)
    conn.request("POST", path, body, {"Content-Type": content_type})
    response = conn.getresponse()
    result = (response.status, response.getheader("content-type"), response.read().decode())
    conn.close()
    return result


def test_malformed_bodies_are_http_500_naming_the_parser(lab):
    status, ctype, body = post(lab, "/", "<methodCall><methodName>VM.get_all")
    assert (status, ctype) == (500, "text/html")
    assert "Xmlrpc.Parse_error" in body
    status, ctype, body = post(lab, "/jsonrpc", "[1, 2]", "application/json")
    assert (status, ctype) == (500, "text/html")
    assert "Jsonrpc.Malformed_method_request" in body
    # What the SDK sees: xmlrpc.client raises ProtocolError for the 500.
    with pytest.raises(xmlrpc.client.ProtocolError) as err:
        xmlrpc.client.Transport().request(
            urllib.parse.urlparse(lab.url).netloc, "/", b"<methodCall><methodName>x"
        )
    assert err.value.errcode == 500


def test_json_rpc_shares_sessions_with_xml_rpc(session, lab):
    call = {"jsonrpc": "2.0", "method": "VM.get_all", "params": [session._session], "id": 7}
    status, ctype, body = post(lab, "/jsonrpc", json.dumps(call), "application/json")
    doc = json.loads(body)
    assert (status, ctype) == (200, "application/json")
    assert doc["id"] == 7 and sorted(doc["result"]) == sorted(session.xenapi.VM.get_all())
    call = {"method": "PIF.get_all_records", "params": [session._session], "id": "a"}
    doc = json.loads(post(lab, "/jsonrpc", json.dumps(call), "application/json")[2])
    assert doc["error"] is None
    mtus = {r["MTU"] for r in doc["result"].values()}
    assert mtus == {1500}  # int64 is a JSON integer, not a string
    call = {"jsonrpc": "2.0", "method": "VM.get_all", "params": ["OpaqueRef:bogus"], "id": 1}
    doc = json.loads(post(lab, "/jsonrpc", json.dumps(call), "application/json")[2])
    assert doc["error"] == {"code": 1, "message": "SESSION_INVALID", "data": ["OpaqueRef:bogus"]}
