//! Linux cooked capture headers (`tcpdump -i any`): SLL (v1, 16 bytes) and
//! SLL2 (v2, 20 bytes). Only the protocol (an EtherType) matters here.

use super::{check_len, get_u16, set_u16, Truncated};

mod field {
    use crate::wire::Field;

    /// SLL v1: packet type, ARPHRD type, address length, 8 address bytes, protocol.
    pub const V1_PROTOCOL: Field = 14..16;
    pub const V1_LEN: usize = 16;
    /// SLL v2: protocol first, then reserved, interface index, ARPHRD, type, address.
    pub const V2_PROTOCOL: Field = 0..2;
    pub const V2_LEN: usize = 20;
}

/// Bytes of an SLL v1 header.
pub const V1_HEADER_LEN: usize = field::V1_LEN;
/// Bytes of an SLL v2 header.
pub const V2_HEADER_LEN: usize = field::V2_LEN;

view!(
    /// A view of a Linux cooked v1 header.
    Sll
);

view!(
    /// A view of a Linux cooked v2 header.
    Sll2
);

impl<T: AsRef<[u8]>> Sll<T> {
    /// Fails when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), V1_HEADER_LEN)
    }

    /// The protocol (EtherType) of the payload.
    #[inline]
    pub fn protocol(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::V1_PROTOCOL)
    }
}

impl<'a> Sll<&'a [u8]> {
    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[V1_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Sll<T> {
    /// Sets the protocol (EtherType) of the payload.
    pub fn set_protocol(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::V1_PROTOCOL, value);
    }
}

impl<T: AsRef<[u8]>> Sll2<T> {
    /// Fails when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), V2_HEADER_LEN)
    }

    /// The protocol (EtherType) of the payload.
    #[inline]
    pub fn protocol(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::V2_PROTOCOL)
    }
}

impl<'a> Sll2<&'a [u8]> {
    /// The bytes after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[V2_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Sll2<T> {
    /// Sets the protocol (EtherType) of the payload.
    pub fn set_protocol(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::V2_PROTOCOL, value);
    }
}
