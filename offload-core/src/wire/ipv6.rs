//! IPv6 fixed header (RFC 8200 §3). Extension headers that follow are
//! [`super::ipv6_ext`], [`super::ipv6_fragment`] and [`super::ipv6_routing`] views.

use core::net::Ipv6Addr;

use super::{check_len, get_u16, get_u32, set_u16, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SOURCE: Field = 8..24;
    pub const DESTINATION: Field = 24..40;
}

/// Bytes of the fixed header.
pub const HEADER_LEN: usize = field::DESTINATION.end;

view!(
    /// A view of an IPv6 packet.
    Packet
);

fn address(bytes: &[u8]) -> [u8; 16] {
    let mut a = [0; 16];
    a.copy_from_slice(bytes);
    a
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Fails when the buffer is shorter than the fixed header.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// The version nibble (6 for IPv6).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The traffic class.
    pub fn traffic_class(&self) -> u8 {
        (get_u32(self.buffer.as_ref(), field::VER_TC_FLOW) >> 20) as u8
    }

    /// The flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// The payload length field (extension headers included).
    #[inline]
    pub fn payload_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The first next-header value.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address as bytes.
    #[inline]
    pub fn src_bytes(&self) -> [u8; 16] {
        address(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The destination address as bytes.
    #[inline]
    pub fn dst_bytes(&self) -> [u8; 16] {
        address(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src_bytes())
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst_bytes())
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The source address bytes, borrowed.
    #[inline]
    pub fn src_slice(&self) -> &'a [u8] {
        &self.buffer[field::SOURCE]
    }

    /// The destination address bytes, borrowed.
    #[inline]
    pub fn dst_slice(&self) -> &'a [u8] {
        &self.buffer[field::DESTINATION]
    }

    /// Everything after the fixed header that the payload length declares, cut
    /// to what was captured.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(self.buffer.len());
        &self.buffer[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 6, the traffic class and the flow label.
    pub fn set_version_class_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let value = (6 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        set_u32(self.buffer.as_mut(), field::VER_TC_FLOW, value);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    /// Sets the first next-header value.
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.octets());
    }

    /// The bytes after the fixed header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut bytes = [0u8; 48];
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        p.set_version_class_flow(0xb8, 0x12345);
        p.set_payload_len(8);
        p.set_next_header(17);
        p.set_hop_limit(64);
        p.set_src_addr("fd00::1".parse().unwrap());
        p.set_dst_addr("fd00::2".parse().unwrap());
        let p = Packet::new_checked(&bytes[..44]).unwrap();
        assert_eq!(
            (p.version(), p.traffic_class(), p.flow_label()),
            (6, 0xb8, 0x12345)
        );
        assert_eq!(
            (p.payload_len(), p.next_header(), p.hop_limit()),
            (8, 17, 64)
        );
        assert_eq!(p.dst_addr(), "fd00::2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload().len(), 4, "cut to the capture");
        assert_eq!(Packet::new_checked(&bytes[..39]), Err(Truncated));
    }
}
