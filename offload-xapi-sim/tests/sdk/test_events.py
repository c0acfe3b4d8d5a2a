"""event.from through the SDK's `event_from` spelling."""

import re
import threading
import time

import pytest
import XenAPI

TOKEN = re.compile(r"^\d{20},\d{20}$")


def test_empty_token_gives_an_add_per_object(session):
    result = session.xenapi.event_from(["vif"], "", 0.0)
    assert TOKEN.match(result["token"])
    events = result["events"]
    assert {e["operation"] for e in events} == {"add"}
    assert {e["class"] for e in events} == {"vif"}
    assert sorted(e["ref"] for e in events) == sorted(session.xenapi.VIF.get_all())
    assert all(e["snapshot"]["uuid"] for e in events)
    counts = result["valid_ref_counts"]
    assert counts["vif"] == 7 and counts["vm"] == 7 and isinstance(counts["pif"], int)


def test_token_round_trip_and_mod_events(fresh_lab):
    s = fresh_lab.session()
    token = s.xenapi.event_from(["*"], "", 0.0)["token"]
    started = time.monotonic()
    quiet = s.xenapi.event_from(["vif", "pif"], token, 0.3)
    assert quiet["events"] == [] and quiet["token"] == token
    assert time.monotonic() - started >= 0.25  # the timeout is honoured
    vif = s.xenapi.VIF.get_all()[0]
    s.xenapi.VIF.add_to_other_config(vif, "ethtool-tso", "off")
    result = s.xenapi.event_from(["VIF"], token, 5.0)  # class names are case-insensitive
    [event] = result["events"]
    assert (event["class"], event["operation"], event["ref"]) == ("vif", "mod", vif)
    assert event["snapshot"]["other_config"]["ethtool-tso"] == "off"
    assert result["token"] > token
    assert s.xenapi.event_from(["vif"], result["token"], 0.0)["events"] == []


def test_object_subscription_and_wakeup(fresh_lab):
    s = fresh_lab.session()
    vifs = s.xenapi.VIF.get_all()
    token = s.xenapi.event_from(["vif"], "", 0.0)["token"]
    writer = fresh_lab.session()

    def touch():
        time.sleep(0.2)
        writer.xenapi.VIF.add_to_other_config(vifs[1], "k", "v")
        writer.xenapi.VIF.add_to_other_config(vifs[0], "k", "v")

    thread = threading.Thread(target=touch)
    thread.start()
    started = time.monotonic()
    result = s.xenapi.event_from(["vif/" + vifs[0]], token, 10.0)
    thread.join()
    assert time.monotonic() - started < 5
    assert [e["ref"] for e in result["events"]] == [vifs[0]]


def test_bad_token_and_subscription(session):
    with pytest.raises(XenAPI.Failure) as err:
        session.xenapi.event_from(["vif"], "not-a-token", 0.0)
    assert err.value.details == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "not-a-token"]



def test_unknown_classes_select_nothing(session):
    # Xapi_event.Subscription.of_string takes any name; one that names no
    # table selects no events (table_matches) instead of failing.
    result = session.xenapi.event_from(["nonsense", "no/such/thing"], "", 0.0)
    assert result["events"] == [] and TOKEN.match(result["token"])
    mixed = session.xenapi.event_from(["nonsense", "vif"], "", 0.0)
    assert {e["class"] for e in mixed["events"]} == {"vif"}


def test_a_negative_timeout_waits_like_no_timeout(fresh_lab):
    # Xapi_event.from: Clock.Timer.s_to_span gives None for a negative
    # number, and None means 24 hours: the call waits for an event.
    s = fresh_lab.session()
    vif = s.xenapi.VIF.get_all()[0]
    token = s.xenapi.event_from(["vif"], "", 0.0)["token"]
    writer = fresh_lab.session()

    def touch():
        time.sleep(0.5)
        writer.xenapi.VIF.add_to_other_config(vif, "negative-timeout", "woken")

    thread = threading.Thread(target=touch)
    thread.start()
    started = time.monotonic()
    result = s.xenapi.event_from(["vif"], token, -1.0)
    thread.join()
    assert time.monotonic() - started >= 0.4
    assert [e["ref"] for e in result["events"]] == [vif]
