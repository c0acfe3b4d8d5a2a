"""Capture-file checks through the module, compared with `offloadctl check --json`
on the same generated pcap. No root needed.

offloadctl comes from $OFFLOADCTL (the pytest_py stage sets it), else
target/debug/offloadctl.
"""

import json
import os
import pathlib
import struct
import subprocess

import pytest

import offload
from test_verdicts import ipv4_tcp, udp_zero_checksum

REPO = pathlib.Path(__file__).resolve().parents[2]


def offloadctl():
    path = os.environ.get("OFFLOADCTL") or str(REPO / "target" / "debug" / "offloadctl")
    if not os.access(path, os.X_OK):
        pytest.skip("needs offloadctl (set OFFLOADCTL or run `cargo build -p offload-cli`)")
    return path


def write_pcap(path, frames, link_type=1, tail=b""):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link_type))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)))
            f.write(frame)
        f.write(tail)


FRAMES = (
    [ipv4_tcp() for _ in range(5)]
    + [ipv4_tcp(tcp_checksum="wrong", src=(10, 0, 0, 9)) for _ in range(2)]
    + [ipv4_tcp(tcp_checksum="offload")]
    + [udp_zero_checksum()]
    + [b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28)]  # ARP: undecoded
)


def cli_summary(path):
    run = subprocess.run([offloadctl(), "check", "--json", str(path)], capture_output=True, text=True)
    assert run.returncode in (0, 1, 2), run.stderr
    return json.loads(run.stdout), run.returncode


def test_counts_match_offloadctl(tmp_path):
    path = tmp_path / "mixed.pcap"
    write_pcap(path, FRAMES)
    ours = offload.check_file(path)
    assert ours["schema"] == "offload.diagnosis/1"
    assert (ours["packets"], ours["incorrect"], ours["offload_pending"], ours["undecoded"]) == (10, 2, 1, 1)
    assert ours["corruption"] is True
    assert ours["top_hosts"][0]["host"] in ("10.0.0.9", "10.0.0.2")
    theirs, code = cli_summary(path)
    assert code == 1  # corruption seen
    assert ours == theirs
    assert json.loads(offload.check_file_json(str(path))) == theirs


def test_offload_pending_alone_is_not_corruption(tmp_path):
    path = tmp_path / "pending.pcap"
    write_pcap(path, [ipv4_tcp(tcp_checksum="offload")] * 3 + [ipv4_tcp()])
    ours = offload.check_file(str(path))
    assert (ours["offload_pending"], ours["incorrect"], ours["corruption"]) == (3, 0, False)
    theirs, code = cli_summary(path)
    assert code == 0
    assert ours == theirs


def test_damage_after_packets_is_reported_in_errors(tmp_path):
    path = tmp_path / "damaged.pcap"
    write_pcap(path, FRAMES[:3], tail=struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30) + b"x")
    ours = offload.check_file(path)
    assert ours["packets"] == 3
    assert ours["errors"], ours
    theirs, code = cli_summary(path)
    assert code == 2
    assert {k: v for k, v in ours.items() if k != "errors"} == {k: v for k, v in theirs.items() if k != "errors"}


def test_unreadable_files_raise_capture_error(tmp_path):
    with pytest.raises(offload.CaptureError) as info:
        offload.check_file(tmp_path / "missing.pcap")
    assert info.value.errno == 2
    assert info.value.filename == str(tmp_path / "missing.pcap")
    assert isinstance(info.value, OSError)
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file at all")
    with pytest.raises(offload.CaptureError):
        offload.check_file(junk)
    with pytest.raises(offload.CaptureError):
        offload.check_file_json(str(junk))
