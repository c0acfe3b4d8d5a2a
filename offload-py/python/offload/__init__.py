"""offload: NIC and VIF checksum offload tools for XenServer / XCP-ng.

The same engine as `offloadctl` and liboffload: offload features of interfaces
(read, change, disable, snapshot, restore; optionally in a network namespace),
capture-file and live-capture checksum summaries, per-packet checksum verdicts,
and XAPI PIF/VIF offload policies.

Everything lives in the native module `offload._offload`; this package only
re-exports it.

    import offload

    state = offload.read_features("eth0")            # what `ethtool -k eth0` shows
    print(state.render_ethtool_k())
    snap = offload.Snapshot.take(["eth0"])
    offload.apply_features("eth0", "tx off sg off")  # as `ethtool -K eth0 tx off sg off`
    offload.disable(dry_run=True)                     # the seed's eight features, every NIC
    offload.restore(snap)

    summary = offload.check_file("dump.pcap")        # as `offloadctl check --json`
    if summary["corruption"]:
        print(summary["conclusion"])
    batch = offload.classify_batch(frames)           # per-packet verdicts, GIL released

    with offload.XapiSession("https://pool-master", "root", password,
                             fingerprint="AB:CD:...") as xapi:
        xapi.pif_apply("seed")
        assert all(o["ok"] for o in xapi.verify("pif", "seed"))

Errors: `OffloadError` is the base; `EthtoolError` (also an `OSError`, with
`errno`, `ifname`, `op`), `NoSuchInterfaceError`, `CaptureError`,
`InvalidArgumentError` (a `ValueError`), `PacketError`, `XapiError` (`code`,
`params` as the host sent them). Wrong argument types raise `TypeError`.
"""

from offload._offload import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    SEED_FEATURES,
    Capture,
    CaptureError,
    Change,
    ChangeReport,
    EthtoolError,
    Feature,
    FeatureState,
    Interface,
    InvalidArgumentError,
    NoSuchInterfaceError,
    Observation,
    OffloadError,
    PacketError,
    Snapshot,
    Verdict,
    VerdictBatch,
    XapiError,
    XapiSession,
    __version__,
    apply_features,
    apply_json,
    capture,
    capture_json,
    check_file,
    check_file_json,
    checksum,
    checksum_sum,
    checksum_verify,
    classify,
    classify_batch,
    disable,
    doctor,
    doctor_compare,
    doctor_evidence,
    doctor_json,
    features_json,
    interfaces_json,
    list_interfaces,
    read_features,
    restore,
)

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "SEED_FEATURES",
    "Capture",
    "CaptureError",
    "Change",
    "ChangeReport",
    "EthtoolError",
    "Feature",
    "FeatureState",
    "Interface",
    "InvalidArgumentError",
    "NoSuchInterfaceError",
    "Observation",
    "OffloadError",
    "PacketError",
    "Snapshot",
    "Verdict",
    "VerdictBatch",
    "XapiError",
    "XapiSession",
    "__version__",
    "apply_features",
    "apply_json",
    "capture",
    "capture_json",
    "check_file",
    "check_file_json",
    "checksum",
    "checksum_sum",
    "checksum_verify",
    "classify",
    "classify_batch",
    "disable",
    "doctor",
    "doctor_compare",
    "doctor_evidence",
    "doctor_json",
    "features_json",
    "interfaces_json",
    "list_interfaces",
    "read_features",
    "restore",
]
