//! BSD loopback header (LINKTYPE_NULL / LINKTYPE_LOOP): a 4-byte address family,
//! in the capturing host's byte order for NULL and big-endian for LOOP.

use super::{check_len, Truncated};

mod field {
    use crate::wire::Field;

    pub const FAMILY: Field = 0..4;
}

/// Bytes before the IP packet.
pub const HEADER_LEN: usize = field::FAMILY.end;

view!(
    /// A view of a BSD loopback header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// The address family, whichever byte order the writer used: families are
    /// small numbers, so a value above 0xffff was written in the other order.
    #[inline]
    pub fn family(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::FAMILY];
        let family = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if family > 0xffff {
            family.swap_bytes()
        } else {
            family
        }
    }

    /// The EtherType the family stands for: AF_INET is 2 everywhere, AF_INET6
    /// is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
    #[inline]
    pub fn ethertype(&self) -> Option<u16> {
        match self.family() {
            2 => Some(super::ethertype::IPV4),
            10 | 24 | 28 | 30 => Some(super::ethertype::IPV6),
            _ => None,
        }
    }
}

impl<'a> Header<&'a [u8]> {
    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Writes the address family little-endian (LINKTYPE_NULL as Linux and the
    /// BSDs on x86 write it) or big-endian (LINKTYPE_LOOP).
    pub fn set_family(&mut self, family: u32, big_endian: bool) {
        let bytes = if big_endian {
            family.to_be_bytes()
        } else {
            family.to_le_bytes()
        };
        self.buffer.as_mut()[field::FAMILY].copy_from_slice(&bytes);
    }
}
