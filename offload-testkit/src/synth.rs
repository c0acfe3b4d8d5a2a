//! Synthetic packets for tests and benchmarks: IPv4/IPv6 with TCP, UDP, ICMP or
//! ICMPv6, with a correct, offload-pending (pseudo-header sum only) or corrupted
//! transport checksum, optional VLAN tag, fragment bits and a bad IPv4 header
//! checksum. Checksums come from `offload_core::checksum`.

use offload_core::checksum;

/// What to put in the transport checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The right checksum.
    Correct,
    /// The folded pseudo-header sum, as Linux leaves it with TX checksum offload.
    OffloadPending,
    /// The right checksum with some bits flipped.
    Corrupt,
    /// Zero (for UDP over IPv4: "no checksum").
    Zero,
}

/// One packet to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// IPv6 instead of IPv4.
    pub v6: bool,
    /// 6 (TCP), 17 (UDP), 1 (ICMP) or 58 (ICMPv6); anything else gets an opaque payload.
    pub protocol: u8,
    /// Bytes after the transport header.
    pub payload: usize,
    /// Transport checksum contents.
    pub fill: Fill,
    /// Break the IPv4 header checksum.
    pub bad_ip_checksum: bool,
    /// An 802.1Q tag with this VLAN id.
    pub vlan: Option<u16>,
    /// IPv4 fragment: (more fragments, offset in 8-byte units); IPv6: adds a fragment header.
    pub fragment: Option<(bool, u16)>,
    /// Varies the addresses and ports (flow number).
    pub flow: u16,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            v6: false,
            protocol: 6,
            payload: 0,
            fill: Fill::Correct,
            bad_ip_checksum: false,
            vlan: None,
            fragment: None,
            flow: 0,
        }
    }
}

fn transport(spec: &Spec, src: &[u8], dst: &[u8]) -> Vec<u8> {
    let header = match spec.protocol {
        6 => 20,
        17 | 1 | 58 => 8,
        _ => 0,
    };
    let len = header + spec.payload;
    let mut seg = vec![0u8; len];
    for (i, b) in seg[header..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(spec.flow as u8);
    }
    let sport = 40000 + spec.flow;
    let field = match spec.protocol {
        6 => {
            seg[0..2].copy_from_slice(&sport.to_be_bytes());
            seg[2..4].copy_from_slice(&80u16.to_be_bytes());
            seg[4..8].copy_from_slice(&0x0102_0304u32.to_be_bytes());
            seg[12] = 5 << 4;
            seg[13] = 0x18; // PSH ACK
            seg[14..16].copy_from_slice(&64240u16.to_be_bytes());
            16
        }
        17 => {
            seg[0..2].copy_from_slice(&sport.to_be_bytes());
            seg[2..4].copy_from_slice(&5001u16.to_be_bytes());
            seg[4..6].copy_from_slice(&(len as u16).to_be_bytes());
            6
        }
        1 => {
            seg[0] = 8; // echo request
            seg[4..6].copy_from_slice(&spec.flow.to_be_bytes());
            2
        }
        58 => {
            seg[0] = 128; // echo request
            seg[4..6].copy_from_slice(&spec.flow.to_be_bytes());
            2
        }
        _ => return seg,
    };
    let pseudo = match (spec.protocol, spec.v6) {
        (1, _) => 0,
        (_, false) => checksum::pseudo_header_v4(
            src.try_into().expect("4 bytes"),
            dst.try_into().expect("4 bytes"),
            spec.protocol,
            len as u16,
        ),
        (_, true) => checksum::pseudo_header_v6(
            src.try_into().expect("16 bytes"),
            dst.try_into().expect("16 bytes"),
            spec.protocol,
            len as u32,
        ),
    };
    let correct = checksum::finish(checksum::combine(&[pseudo, checksum::data(&seg)]));
    let value = match spec.fill {
        Fill::Correct => correct,
        Fill::OffloadPending => pseudo,
        Fill::Corrupt => correct ^ 0x5a5a,
        Fill::Zero => 0,
    };
    seg[field..field + 2].copy_from_slice(&value.to_be_bytes());
    seg
}

/// The IP packet (no link header).
pub fn ip_packet(spec: &Spec) -> Vec<u8> {
    let f = spec.flow.to_be_bytes();
    if !spec.v6 {
        let src = [10, 0, f[0], f[1]];
        let dst = [10, 1, 0, 2];
        let seg = transport(spec, &src, &dst);
        let mut ip = vec![0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&spec.flow.to_be_bytes());
        let (mf, offset) = spec.fragment.unwrap_or((false, 0));
        let flags = if mf {
            0x2000
        } else if spec.fragment.is_none() {
            0x4000
        } else {
            0
        };
        ip[6..8].copy_from_slice(&(flags | offset).to_be_bytes());
        ip[8] = 64;
        ip[9] = spec.protocol;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let mut sum = checksum::finish(checksum::data(&ip));
        if spec.bad_ip_checksum {
            sum ^= 0x0101;
        }
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip.extend_from_slice(&seg);
        ip
    } else {
        let mut src = [0u8; 16];
        src[..2].copy_from_slice(&[0xfd, 0]);
        src[14..].copy_from_slice(&f);
        let mut dst = [0u8; 16];
        dst[..2].copy_from_slice(&[0xfd, 0]);
        dst[15] = 2;
        let seg = transport(spec, &src, &dst);
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[7] = 64;
        ip[8..24].copy_from_slice(&src);
        ip[24..40].copy_from_slice(&dst);
        let mut ext = Vec::new();
        if let Some((mf, offset)) = spec.fragment {
            ip[6] = 44;
            ext.extend_from_slice(&[spec.protocol, 0]);
            ext.extend_from_slice(&((offset << 3) | u16::from(mf)).to_be_bytes());
            ext.extend_from_slice(&u32::from(spec.flow).to_be_bytes());
        } else {
            ip[6] = spec.protocol;
        }
        ip[4..6].copy_from_slice(&((ext.len() + seg.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&ext);
        ip.extend_from_slice(&seg);
        ip
    }
}

/// The packet in an Ethernet frame (with the VLAN tag, if any).
pub fn ethernet_frame(spec: &Spec) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    if let Some(vid) = spec.vlan {
        frame.extend_from_slice(&[0x81, 0x00]);
        frame.extend_from_slice(&vid.to_be_bytes());
    }
    frame.extend_from_slice(if spec.v6 {
        &[0x86, 0xdd]
    } else {
        &[0x08, 0x00]
    });
    frame.extend_from_slice(&ip_packet(spec));
    frame
}
