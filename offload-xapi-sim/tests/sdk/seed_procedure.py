#!/usr/bin/env python3
"""The seed's xe procedure re-enacted with the official XenAPI SDK, call by call.

Every `xe` invocation of the seed ("Improving performance by disabling TCP
Offloading") becomes its own session: login, the calls that xe makes for that
command, logout, one after another exactly as the shell loops run them:

  xe pif-list                                   PIF.get_all_records
  xe pif-param-set uuid=U other-config:K=off    PIF.get_by_uuid, PIF.get_other_config,
    (six per PIF)                               [remove_from_other_config if K exists],
                                                add_to_other_config  (how xe sets a map key)
  xe pif-param-list uuid=U | grep other-config  PIF.get_by_uuid, PIF.get_record
  xe vm-list                                    VM.get_all_records (xe hides templates)
  xe vm-list name-label=N                       VM.get_all_records_where
  xe vif-list vm-uuid=U                         VM.get_by_uuid, VIF.get_all_records_where
  xe vif-param-set uuid=U other-config:K=off    as for PIFs, six per VIF
  xe vif-param-list uuid=U | grep other-config  VIF.get_by_uuid, VIF.get_record
  (--restart) xe vm-reboot uuid=U               VM.get_by_uuid, VM.clean_reboot
                                                (hard_reboot when the guest lacks the feature)

Prints `calls=<n> seconds=<t>` on its last line (n counts every XML-RPC call,
logins and logouts included). Exit status 1 if the verification greps fail.
"""

import argparse
import sys
import time

import XenAPI

# The seed's order.
KEYS = ["ethtool-gso", "ethtool-ufo", "ethtool-tso", "ethtool-sg", "ethtool-tx", "ethtool-rx"]


class Xe:
    """One `xe` invocation per `with xe.invocation() as call:` block."""

    def __init__(self, url, user, password, insecure):
        self.url = url
        self.user = user
        self.password = password
        self.insecure = insecure
        self.calls = 0

    def invocation(self):
        return _Invocation(self)


class _Invocation:
    def __init__(self, xe):
        self.xe = xe
        self.session = None

    def __enter__(self):
        self.session = XenAPI.Session(self.xe.url, ignore_ssl=self.xe.insecure)
        self.session.xenapi.login_with_password(self.xe.user, self.xe.password, "1.0", "xe")
        self.xe.calls += 1
        return self

    def __call__(self, method, *args):
        target = self.session.xenapi
        for part in method.split("."):
            target = getattr(target, part)
        self.xe.calls += 1
        return target(*args)

    def __exit__(self, *exc):
        self.session.xenapi.logout()
        self.xe.calls += 1
        return False


def param_set(xe, cls, uuid, key, value):
    with xe.invocation() as call:
        ref = call(cls + ".get_by_uuid", uuid)
        if key in call(cls + ".get_other_config", ref):
            call(cls + ".remove_from_other_config", ref, key)
        call(cls + ".add_to_other_config", ref, key, value)


def param_list_other_config(xe, cls, uuid):
    with xe.invocation() as call:
        ref = call(cls + ".get_by_uuid", uuid)
        return call(cls + ".get_record", ref)["other_config"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", required=True)
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS")
    parser.add_argument("--restart", action="store_true", help="reboot every running VM at the end")
    args = parser.parse_args()

    xe = Xe(args.url, args.user, args.password, args.insecure)
    started = time.monotonic()
    failures = []

    # PIFs: xe pif-list | awk '/uuid/ {print $5}'
    with xe.invocation() as call:
        pif_uuids = [r["uuid"] for r in call("PIF.get_all_records").values()]
    for uuid in pif_uuids:
        for key in KEYS:
            param_set(xe, "PIF", uuid, key, "off")
    for uuid in pif_uuids:
        config = param_list_other_config(xe, "PIF", uuid)
        if any(config.get(k) != "off" for k in KEYS):
            failures.append("PIF " + uuid)

    # VMs: xe vm-list | awk '/name-label/' | grep -v "Control domain" | awk '{print $4}'
    with xe.invocation() as call:
        records = call("VM.get_all_records").values()
        names = [
            r["name_label"].split()[0]
            for r in records
            if not r["is_a_template"] and not r["name_label"].startswith("Control domain")
        ]
    running = []
    for name in names:
        # VMUUID=`xe vm-list name-label=${INSTANCEID} | awk '/uuid/ {print $5}'`
        with xe.invocation() as call:
            expr = 'field "name__label" = "%s" and field "is_a_template" = "false"' % name
            vms = call("VM.get_all_records_where", expr).values()
            vm_uuids = [v["uuid"] for v in vms]
            running += [v["uuid"] for v in vms if v["power_state"] == "Running"]
        for vm_uuid in vm_uuids:
            # xe vif-list vm-uuid=$VMUUID | awk '/uuid/ {print $5}'
            with xe.invocation() as call:
                vm_ref = call("VM.get_by_uuid", vm_uuid)
                vifs = call("VIF.get_all_records_where", 'field "VM" = "%s"' % vm_ref)
                vif_uuids = [v["uuid"] for v in vifs.values()]
            for vif_uuid in vif_uuids:
                for key in KEYS:
                    param_set(xe, "VIF", vif_uuid, key, "off")
                config = param_list_other_config(xe, "VIF", vif_uuid)
                if any(config.get(k) != "off" for k in KEYS):
                    failures.append("VIF " + vif_uuid)

    if args.restart:
        for vm_uuid in sorted(set(running)):
            with xe.invocation() as call:
                ref = call("VM.get_by_uuid", vm_uuid)
                try:
                    call("VM.clean_reboot", ref)
                except XenAPI.Failure as failure:
                    if failure.details[0] != "VM_LACKS_FEATURE":
                        raise
                    call("VM.hard_reboot", ref)

    seconds = time.monotonic() - started
    for failure in failures:
        print("not verified: " + failure, file=sys.stderr)
    print("pifs=%d vms=%d verified=%s" % (len(pif_uuids), len(names), "no" if failures else "yes"))
    print("calls=%d seconds=%.3f" % (xe.calls, seconds))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
