"""Checksums and per-packet verdicts (offload-core through the module); no root needed.

Frames are built here with a pure-Python RFC 1071 sum, so the module is checked
against an independent computation.
"""

import struct

import pytest

import offload


def rfc1071(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def finish(total: int) -> int:
    return (~total) & 0xFFFF


def ipv4_tcp(payload=b"hello", tcp_checksum="correct", src=(10, 0, 0, 1), dst=(10, 0, 0, 2)):
    """An Ethernet/IPv4/TCP frame whose TCP checksum is correct, wrong, or
    the folded pseudo-header sum Linux leaves for the NIC (offload pending)."""
    tcp_len = 20 + len(payload)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, 1, 0, 64, 6, 0, bytes(src), bytes(dst)))
    ip[10:12] = struct.pack("!H", finish(rfc1071(bytes(ip))))
    tcp = bytearray(struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload)
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, tcp_len)
    if tcp_checksum == "offload":
        value = rfc1071(pseudo)  # not complemented: what CHECKSUM_PARTIAL leaves
    else:
        value = finish(rfc1071(pseudo + bytes(tcp)))
        if tcp_checksum == "wrong":
            value ^= 0x5A5A
    tcp[16:18] = struct.pack("!H", value)
    ether = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return ether + bytes(ip) + bytes(tcp)


def udp_zero_checksum():
    frame = bytearray(ipv4_tcp())
    frame[14 + 9] = 17  # protocol UDP
    ip = frame[14:34]
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", finish(rfc1071(bytes(ip))))
    frame[14:34] = ip
    frame[34 + 4 : 34 + 6] = struct.pack("!H", len(frame) - 34)
    frame[34 + 6 : 34 + 8] = b"\0\0"
    return bytes(frame)


def test_checksum_matches_rfc1071():
    for data in (b"", b"\x45", b"\x45\x00\x00\x54", bytes(range(256)) * 3):
        assert offload.checksum_sum(data) == (rfc1071(data) if data else 0)
        assert offload.checksum(data) == finish(rfc1071(data) if data else 0)
    header = bytearray(ipv4_tcp()[14:34])
    assert offload.checksum_verify(bytes(header))
    header[8] ^= 1
    assert not offload.checksum_verify(bytes(header))


def test_correct_frame():
    seen = offload.classify(ipv4_tcp())
    assert seen.ip_version == 4
    assert (seen.src, seen.dst, seen.src_port, seen.dst_port) == ("10.0.0.1", "10.0.0.2", 40000, 80)
    assert seen.ip_header.kind == "correct"
    assert seen.protocol == "tcp4"
    assert seen.transport.kind == "correct"
    assert seen.transport.found is None and seen.transport.reason is None


def test_incorrect_frame_reports_found_and_expected():
    good = offload.classify(ipv4_tcp()).transport
    frame = ipv4_tcp(tcp_checksum="wrong")
    bad = offload.classify(frame).transport
    assert bad.kind == "incorrect"
    assert bad.found == struct.unpack("!H", frame[34 + 16 : 34 + 18])[0]
    assert bad.expected == struct.unpack("!H", ipv4_tcp()[34 + 16 : 34 + 18])[0]
    assert bad != good


def test_offload_pending_is_not_corruption():
    v = offload.classify(ipv4_tcp(tcp_checksum="offload")).transport
    assert v.kind == "offload_pending"
    assert v.expected == struct.unpack("!H", ipv4_tcp()[34 + 16 : 34 + 18])[0]


def test_udp_zero_checksum_is_not_verified():
    v = offload.classify(udp_zero_checksum()).transport
    assert (v.kind, v.reason) == ("not_verified", "udp_zero_checksum")


def test_raw_ip_link_type():
    seen = offload.classify(ipv4_tcp()[14:], offload.LINKTYPE_RAW)
    assert seen.transport.kind == "correct"


def test_undecodable_frames_raise_packet_error():
    with pytest.raises(offload.PacketError) as info:
        offload.classify(b"\x01\x02")
    assert info.value.reason == "truncated_link_header"
    assert isinstance(info.value, ValueError) and isinstance(info.value, offload.OffloadError)
    arp = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28)
    with pytest.raises(offload.PacketError, match="not IP"):
        offload.classify(arp)
    with pytest.raises(offload.PacketError):
        offload.classify(ipv4_tcp(), 9999)


def test_batch_matches_single_calls_and_marks_undecodable():
    frames = [ipv4_tcp(), ipv4_tcp(tcp_checksum="wrong"), b"", ipv4_tcp(tcp_checksum="offload"), udp_zero_checksum()]
    batch = offload.classify_batch(frames)
    assert len(batch) == len(frames)
    assert batch[2] is None
    for frame, seen in zip(frames, batch):
        if seen is not None:
            single = offload.classify(frame)
            assert seen.transport == single.transport
            assert seen.ip_header == single.ip_header
    assert [s.transport.kind for s in batch if s] == ["correct", "incorrect", "offload_pending", "not_verified"]
    # Any iterable of bytes works, and an empty batch is an empty list.
    assert len(offload.classify_batch(iter(frames))) == len(frames)
    assert len(offload.classify_batch([])) == 0 and list(offload.classify_batch([])) == []
    assert batch[-1].transport == batch[4].transport
    assert batch.to_list()[0].transport == batch[0].transport
    with pytest.raises(IndexError):
        batch[len(frames)]
    with pytest.raises(IndexError):
        batch[-len(frames) - 1]
    with pytest.raises(TypeError):
        batch["0"]


def test_batch_releases_no_reference_it_should_keep():
    frames = [ipv4_tcp() for _ in range(1000)]
    first = offload.classify_batch(frames)
    del frames
    assert all(o.transport.kind == "correct" for o in first)


def test_batches_from_many_threads_agree():
    from concurrent.futures import ThreadPoolExecutor

    frames = [ipv4_tcp(), ipv4_tcp(tcp_checksum="wrong"), ipv4_tcp(tcp_checksum="offload")] * 200

    def kinds(_):
        return [o.transport.kind for o in offload.classify_batch(frames)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(kinds, range(16)))
    assert all(r == results[0] for r in results)
    assert results[0][:3] == ["correct", "incorrect", "offload_pending"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: offload.checksum("text"),
        lambda: offload.checksum(None),
        lambda: offload.checksum(12),
        lambda: offload.classify("frame"),
        lambda: offload.classify(b"", "ethernet"),
        lambda: offload.classify_batch(None),
        lambda: offload.classify_batch([b"ok", "not bytes"]),
        lambda: offload.classify_batch([b"ok", None]),
        lambda: offload.classify_batch(5),
        lambda: offload.read_features(None),
        lambda: offload.read_features(3.5),
        lambda: offload.check_file(3),
        # A namespace that does not exist: nothing could change even if the type were accepted.
        lambda: offload.apply_features("lo", 5, netns="/nonexistent/ns"),
        lambda: offload.apply_features("lo", {"tx": "off"}, netns="/nonexistent/ns"),
        lambda: offload.disable("eth0", netns="/nonexistent/ns"),
        lambda: offload.XapiSession(None),
        lambda: offload.Capture(42),
    ],
)
def test_wrong_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


def test_link_type_out_of_range_is_an_error_not_a_crash():
    with pytest.raises((OverflowError, ValueError)):
        offload.classify(ipv4_tcp(), 1 << 20)
    with pytest.raises((OverflowError, ValueError)):
        offload.classify(ipv4_tcp(), -1)


def test_classes_cannot_be_built_from_python():
    for cls in (offload.Verdict, offload.Observation, offload.FeatureState, offload.Snapshot):
        with pytest.raises(TypeError):
            cls()


def test_exception_hierarchy():
    assert issubclass(offload.EthtoolError, offload.OffloadError)
    assert issubclass(offload.EthtoolError, OSError)
    assert issubclass(offload.NoSuchInterfaceError, offload.EthtoolError)
    assert issubclass(offload.CaptureError, offload.EthtoolError)
    assert issubclass(offload.InvalidArgumentError, ValueError)
    assert issubclass(offload.PacketError, offload.InvalidArgumentError)
    assert issubclass(offload.XapiError, offload.OffloadError)
    assert not issubclass(offload.XapiError, OSError)
    for name in offload.__all__:
        assert hasattr(offload, name), name
