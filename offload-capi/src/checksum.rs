//! Internet checksums over caller buffers and per-packet checksum verdicts
//! (offload-core's `checksum` and `verdict::classify`).

use std::net::IpAddr;

use offload_core::checksum;
use offload_core::verdict::{classify, Checksum, ChecksumHint, Class, Observation, Verdict};

use crate::error::{of_decode, offload_result};
use crate::ffi::{self, Out, OutArray};
use crate::panic;

/// Which checksum a verdict is about.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum offload_checksum_kind {
    /// No checksum of this kind in the packet.
    None = 0,
    /// The IPv4 header checksum.
    Ipv4Header = 1,
    /// TCP over IPv4.
    Tcp4 = 2,
    /// UDP over IPv4.
    Udp4 = 3,
    /// ICMP (over IPv4).
    Icmp4 = 4,
    /// TCP over IPv6.
    Tcp6 = 5,
    /// UDP over IPv6.
    Udp6 = 6,
    /// ICMPv6.
    Icmp6 = 7,
}

impl From<Checksum> for offload_checksum_kind {
    fn from(c: Checksum) -> Self {
        match c {
            Checksum::Ipv4Header => offload_checksum_kind::Ipv4Header,
            Checksum::Tcp4 => offload_checksum_kind::Tcp4,
            Checksum::Udp4 => offload_checksum_kind::Udp4,
            Checksum::Icmp4 => offload_checksum_kind::Icmp4,
            Checksum::Tcp6 => offload_checksum_kind::Tcp6,
            Checksum::Udp6 => offload_checksum_kind::Udp6,
            Checksum::Icmp6 => offload_checksum_kind::Icmp6,
        }
    }
}

/// What a checksum field says about its packet.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum offload_verdict_class {
    /// No such checksum in the packet (e.g. the IPv4 header verdict of IPv6).
    None = 0,
    /// The checksum verifies.
    Correct = 1,
    /// The checksum is wrong: corruption (or a broken offload).
    Incorrect = 2,
    /// The field holds the pseudo-header sum Linux leaves for the NIC (TX
    /// checksum offload, seen at the capture point): not corruption.
    OffloadPending = 3,
    /// Not verified: an IP fragment.
    NotVerifiedFragment = 4,
    /// Not verified: the capture cut the packet short.
    NotVerifiedTruncated = 5,
    /// Not verified: UDP over IPv4 with checksum 0 (none computed).
    NotVerifiedUdpZeroChecksum = 6,
    /// Not verified: a protocol whose checksum is not checked.
    NotVerifiedUnsupported = 7,
}

fn class_of(v: Verdict) -> (offload_verdict_class, u16, u16) {
    let class = match v.class() {
        Class::Correct => offload_verdict_class::Correct,
        Class::Incorrect => offload_verdict_class::Incorrect,
        Class::OffloadPending => offload_verdict_class::OffloadPending,
        Class::NotVerifiedFragment => offload_verdict_class::NotVerifiedFragment,
        Class::NotVerifiedTruncated => offload_verdict_class::NotVerifiedTruncated,
        Class::NotVerifiedUdpZero => offload_verdict_class::NotVerifiedUdpZeroChecksum,
        Class::NotVerifiedUnsupported => offload_verdict_class::NotVerifiedUnsupported,
    };
    let (found, expected) = match v {
        Verdict::Incorrect { found, expected } | Verdict::OffloadPending { found, expected } => {
            (found, expected)
        }
        _ => (0, 0),
    };
    (class, found, expected)
}

/// The verdicts of one frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct offload_verdict {
    /// `OFFLOAD_RESULT_OK`, or why the frame could not be decoded (11xx); in
    /// the batch call each frame has its own.
    pub result: offload_result,
    /// The IPv4 header checksum verdict (`NONE` for IPv6).
    pub ip_header: offload_verdict_class,
    /// The transport checksum's kind (`NONE` when there is none we check).
    pub transport_kind: offload_checksum_kind,
    /// The transport checksum verdict.
    pub transport: offload_verdict_class,
    /// For `INCORRECT` / `OFFLOAD_PENDING`: the IPv4 header field's value.
    pub ip_header_found: u16,
    /// For `INCORRECT` / `OFFLOAD_PENDING`: the value it should hold.
    pub ip_header_expected: u16,
    /// For `INCORRECT` / `OFFLOAD_PENDING`: the transport field's value.
    pub transport_found: u16,
    /// For `INCORRECT` / `OFFLOAD_PENDING`: the value tcpdump prints after `->`.
    pub transport_expected: u16,
    /// 4 or 6 when the addresses below are known, else 0.
    pub ip_version: u8,
    /// Whether `src_port` / `dst_port` are set (TCP and UDP).
    pub has_ports: bool,
    /// Source port (host byte order).
    pub src_port: u16,
    /// Destination port (host byte order).
    pub dst_port: u16,
    /// Source address in network byte order (IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    /// Destination address in network byte order (IPv4 in the first 4 bytes).
    pub dst: [u8; 16],
    /// Always zero: makes the size (64 bytes) explicit, with no padding, so
    /// verdicts compare with memcmp.
    pub reserved: [u8; 2],
}

fn address_bytes(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

impl offload_verdict {
    fn failed(result: offload_result) -> offload_verdict {
        offload_verdict {
            result,
            ip_header: offload_verdict_class::None,
            transport_kind: offload_checksum_kind::None,
            transport: offload_verdict_class::None,
            ip_header_found: 0,
            ip_header_expected: 0,
            transport_found: 0,
            transport_expected: 0,
            ip_version: 0,
            has_ports: false,
            src_port: 0,
            dst_port: 0,
            src: [0; 16],
            dst: [0; 16],
            reserved: [0; 2],
        }
    }

    fn of(o: &Observation) -> offload_verdict {
        let mut v = offload_verdict::failed(offload_result::Ok);
        if let Some(ip) = o.ip_header {
            (v.ip_header, v.ip_header_found, v.ip_header_expected) = class_of(ip);
        }
        if let Some((kind, verdict)) = o.transport {
            v.transport_kind = kind.into();
            (v.transport, v.transport_found, v.transport_expected) = class_of(verdict);
        }
        if let Some(e) = o.endpoints {
            v.ip_version = if e.src.is_ipv4() { 4 } else { 6 };
            v.src = address_bytes(e.src);
            v.dst = address_bytes(e.dst);
            if let (Some(s), Some(d)) = (e.src_port, e.dst_port) {
                (v.has_ports, v.src_port, v.dst_port) = (true, s, d);
            }
        }
        v
    }
}

const _: () = assert!(std::mem::size_of::<offload_verdict>() == 64);

fn verdict_of(link_type: u16, frame: &[u8]) -> offload_verdict {
    match classify(link_type, frame, ChecksumHint::None) {
        Ok(o) => offload_verdict::of(&o),
        Err(e) => offload_verdict::failed(of_decode(e)),
    }
}

/// One frame of a batch: `len` bytes at `data` (`data` may be NULL when `len` is 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct offload_frame {
    /// The captured bytes, starting at the link-layer header.
    pub data: *const u8,
    /// How many bytes were captured.
    pub len: usize,
}

/// The Internet checksum (RFC 1071) of `len` bytes at `data`: the value to
/// store in a checksum field that was zero while summing. `data` may be NULL
/// when `len` is 0. Returns `OFFLOAD_RESULT_OK` and sets `*checksum_out`, or
/// `OFFLOAD_RESULT_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn offload_checksum(
    data: *const u8,
    len: usize,
    checksum_out: *mut u16,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(checksum_out)?;
        let bytes = ffi::slice_arg(data, len)?;
        out.write(checksum::finish(checksum::data(bytes)));
        Ok(())
    })
}

/// The folded one's-complement sum of `len` bytes at `data`, not complemented
/// (to combine with other sums, e.g. a pseudo-header). `data` may be NULL when
/// `len` is 0. Returns `OFFLOAD_RESULT_OK` and sets `*sum_out`, or
/// `OFFLOAD_RESULT_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn offload_checksum_sum(
    data: *const u8,
    len: usize,
    sum_out: *mut u16,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(sum_out)?;
        out.write(checksum::data(ffi::slice_arg(data, len)?));
        Ok(())
    })
}

/// Whether `len` bytes at `data`, checksum field included, verify (their sum
/// folds to 0xffff). Returns `OFFLOAD_RESULT_OK` and sets `*valid_out`, or
/// `OFFLOAD_RESULT_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn offload_checksum_verify(
    data: *const u8,
    len: usize,
    valid_out: *mut bool,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(valid_out)?;
        out.write(checksum::data(ffi::slice_arg(data, len)?) == 0xffff);
        Ok(())
    })
}

/// Classifies one captured frame of pcap link type `linktype` (1 Ethernet,
/// 101 raw IP, 113/276 Linux cooked, 0/108 loopback, 228/229 raw IPv4/IPv6):
/// the IPv4 header and transport checksum verdicts, as `offloadctl check`
/// gives them. Returns `OFFLOAD_RESULT_OK` and fills `*out`; a frame that
/// cannot be decoded returns its 11xx code (e.g.
/// `OFFLOAD_RESULT_TRUNCATED_LINK_HEADER`) and leaves `*out` alone;
/// `OFFLOAD_RESULT_NULL_PARAMETER` for a NULL `out`, or NULL `frame` with `len` > 0.
#[no_mangle]
pub extern "C" fn offload_packet_verdict(
    linktype: u16,
    frame: *const u8,
    len: usize,
    out: *mut offload_verdict,
) -> offload_result {
    panic::guard_result(|| {
        let out = Out::new(out)?;
        let v = verdict_of(linktype, ffi::slice_arg(frame, len)?);
        if v.result != offload_result::Ok {
            return Err(v.result);
        }
        out.write(v);
        Ok(())
    })
}

/// Classifies `count` frames of one link type in one call: `verdicts_out[i]`
/// gets frame i's verdicts, with its own `result` (`OFFLOAD_RESULT_OK` or an
/// 11xx decode code). Returns `OFFLOAD_RESULT_OK` when every frame was looked
/// at; `OFFLOAD_RESULT_NULL_PARAMETER` (nothing written) when `frames` or
/// `verdicts_out` is NULL with `count` > 0 or a frame has NULL data with `len` > 0.
#[no_mangle]
pub extern "C" fn offload_packet_verdicts(
    linktype: u16,
    frames: *const offload_frame,
    count: usize,
    verdicts_out: *mut offload_verdict,
) -> offload_result {
    panic::guard_result(|| {
        let mut out = OutArray::new(verdicts_out, count)?;
        let frames = ffi::slice_arg(frames, count)?;
        // Check every frame first: outputs are written only on success.
        for f in frames {
            ffi::slice_arg(f.data, f.len)?;
        }
        for (i, f) in frames.iter().enumerate() {
            out.write(i, verdict_of(linktype, ffi::slice_arg(f.data, f.len)?));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_without_checksum_is_not_verified_and_the_header_is_correct() {
        let mut packet = [0u8; 28];
        packet[0] = 0x45;
        packet[3] = 28;
        packet[8] = 64;
        packet[9] = 17;
        packet[12..16].copy_from_slice(&[10, 0, 0, 1]);
        packet[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let mut sum = 0u16;
        assert_eq!(
            offload_checksum(packet.as_ptr(), 20, &mut sum),
            offload_result::Ok
        );
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
        packet[25] = 8;
        let mut v = offload_verdict::failed(offload_result::Panic);
        assert_eq!(
            offload_packet_verdict(101, packet.as_ptr(), packet.len(), &mut v),
            offload_result::Ok
        );
        assert_eq!(v.ip_header, offload_verdict_class::Correct);
        assert_eq!(v.transport_kind, offload_checksum_kind::Udp4);
        assert_eq!(
            v.transport,
            offload_verdict_class::NotVerifiedUdpZeroChecksum
        );
        assert_eq!((v.ip_version, &v.dst[..4]), (4, &[10, 0, 0, 2][..]));
        let mut valid = false;
        assert_eq!(
            offload_checksum_verify(packet.as_ptr(), 20, &mut valid),
            offload_result::Ok
        );
        assert!(valid);
    }

    #[test]
    fn a_short_frame_gets_its_decode_code_and_no_output() {
        let frame = [0u8; 6];
        let mut v = offload_verdict::failed(offload_result::Panic);
        assert_eq!(
            offload_packet_verdict(1, frame.as_ptr(), frame.len(), &mut v),
            offload_result::TruncatedLinkHeader
        );
        assert_eq!(v.result, offload_result::Panic);
        let frames = [offload_frame {
            data: frame.as_ptr(),
            len: 6,
        }];
        let mut out = [offload_verdict::failed(offload_result::Panic)];
        assert_eq!(
            offload_packet_verdicts(1, frames.as_ptr(), 1, out.as_mut_ptr()),
            offload_result::Ok
        );
        assert_eq!(out[0].result, offload_result::TruncatedLinkHeader);
    }
}
