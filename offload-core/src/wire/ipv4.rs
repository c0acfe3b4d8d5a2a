//! IPv4 header (RFC 791). [`Packet::new_checked`] guarantees the fixed 20 bytes;
//! options and payload are bounded by what was captured, so a snaplen-cut
//! packet still gives its addresses.

use core::net::Ipv4Addr;

use super::{check_len, get_u16, set_u16, Truncated};
use crate::checksum;

mod field {
    use crate::wire::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLAGS_FRAGMENT: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SOURCE: Field = 12..16;
    pub const DESTINATION: Field = 16..20;
    /// Both addresses: the address part of the pseudo-header.
    pub const ADDRESSES: Field = 12..20;
}

/// Bytes of a header without options.
pub const HEADER_LEN: usize = field::DESTINATION.end;

const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

view!(
    /// A view of an IPv4 packet.
    Packet
);

impl<T: AsRef<[u8]>> Packet<T> {
    /// Fails when the buffer is shorter than the fixed header.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// The version nibble (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length field (IHL) in 32-bit words; valid headers have >= 5.
    #[inline]
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }

    /// The header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// The DSCP and ECN byte.
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// The total length field (header and payload).
    #[inline]
    pub fn total_len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::IDENT)
    }

    /// The don't-fragment flag.
    pub fn dont_fragment(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLAGS_FRAGMENT) & DONT_FRAGMENT != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_fragments(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLAGS_FRAGMENT) & MORE_FRAGMENTS != 0
    }

    /// The fragment offset in bytes.
    #[inline]
    pub fn fragment_offset(&self) -> u16 {
        (get_u16(self.buffer.as_ref(), field::FLAGS_FRAGMENT) & OFFSET_MASK) << 3
    }

    /// Whether this packet is any fragment (first, middle or last).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::FLAGS_FRAGMENT) & (MORE_FRAGMENTS | OFFSET_MASK) != 0
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload ([`super::ip_protocol`]).
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SOURCE];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DESTINATION];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The folded sum of both addresses: the address part of the pseudo-header.
    #[inline]
    pub fn addresses_sum(&self) -> u16 {
        checksum::data(&self.buffer.as_ref()[field::ADDRESSES])
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The header with its options, when captured whole.
    #[inline]
    pub fn header(&self) -> Option<&'a [u8]> {
        self.buffer.get(..self.header_len())
    }

    /// The payload the total length declares, cut to what was captured (empty
    /// when the total length is shorter than the header).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let end = usize::from(self.total_len()).min(self.buffer.len());
        self.buffer.get(self.header_len()..end).unwrap_or(&[])
    }

    /// The payload length the header declares, if the total length covers the header.
    #[inline]
    pub fn payload_len(&self) -> Option<usize> {
        usize::from(self.total_len()).checked_sub(self.header_len())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4, 20..=60).
    pub fn set_header_len(&mut self, bytes: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((bytes / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP and ECN byte.
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::IDENT, value);
    }

    /// Sets the flags and the fragment offset (in bytes, a multiple of 8).
    pub fn set_fragment(&mut self, dont_fragment: bool, more_fragments: bool, offset: u16) {
        let mut value = (offset >> 3) & OFFSET_MASK;
        if dont_fragment {
            value |= DONT_FRAGMENT;
        }
        if more_fragments {
            value |= MORE_FRAGMENTS;
        }
        set_u16(self.buffer.as_mut(), field::FLAGS_FRAGMENT, value);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the protocol of the payload.
    pub fn set_protocol(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum over the header (options included) and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let value = checksum::finish(checksum::data(&self.buffer.as_ref()[..len]));
        self.set_checksum(value);
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        &mut self.buffer.as_mut()[len..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_header_that_verifies() {
        let mut bytes = [0u8; 28];
        let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
        p.set_header_len(20);
        p.set_total_len(28);
        p.set_ident(0x1c46);
        p.set_fragment(false, true, 1480);
        p.set_ttl(64);
        p.set_protocol(17);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst_addr(Ipv4Addr::new(192, 0, 2, 2));
        p.fill_checksum();
        assert_eq!(checksum::data(&bytes[..20]), 0xffff);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 28));
        assert!(p.more_fragments() && p.is_fragment() && !p.dont_fragment());
        assert_eq!(p.fragment_offset(), 1480);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.payload().len(), 8);
        assert_eq!(p.payload_len(), Some(8));
        assert_eq!(
            p.addresses_sum(),
            checksum::data(&[192, 0, 2, 1, 192, 0, 2, 2])
        );
    }

    #[test]
    fn lengths_are_bounded_by_the_capture() {
        let mut bytes = [0u8; 24];
        bytes[0] = 0x4f; // 60-byte header, only 24 captured
        bytes[3] = 200;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header(), None);
        assert!(p.payload().is_empty());
        assert_eq!(Packet::new_checked(&bytes[..19]), Err(Truncated));
    }
}
