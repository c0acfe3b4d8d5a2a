//! ICMP (RFC 792) and ICMPv6 (RFC 4443) share the first four bytes: type, code,
//! checksum. ICMPv6's checksum covers a pseudo-header, ICMP's does not.

use super::{check_len, get_u16, set_u16, Truncated};

mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// Echo messages: identifier and sequence number.
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ: Field = 6..8;
}

/// Bytes of the header of echo messages (and of the fixed part of most).
pub const HEADER_LEN: usize = field::ECHO_SEQ.end;

/// ICMP echo request.
pub const ECHO_REQUEST_V4: u8 = 8;
/// ICMPv6 echo request.
pub const ECHO_REQUEST_V6: u8 = 128;

view!(
    /// A view of an ICMP or ICMPv6 message.
    Message
);

impl<T: AsRef<[u8]>> Message<T> {
    /// Fails when the buffer is shorter than type, code and checksum.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), field::CHECKSUM.end)
    }

    /// The message type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Message<T> {
    /// Sets type and code.
    pub fn set_type_code(&mut self, msg_type: u8, code: u8) {
        let b = self.buffer.as_mut();
        b[field::TYPE] = msg_type;
        b[field::CODE] = code;
    }

    /// Sets an echo message's identifier and sequence number (needs 8 bytes).
    pub fn set_echo(&mut self, ident: u16, seq: u16) {
        set_u16(self.buffer.as_mut(), field::ECHO_IDENT, ident);
        set_u16(self.buffer.as_mut(), field::ECHO_SEQ, seq);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Computes the checksum over the whole buffer plus `pseudo_sum` (0 for
    /// ICMP over IPv4) and stores it.
    pub fn fill_checksum(&mut self, pseudo_sum: u16) {
        super::fill_checksum(self.buffer.as_mut(), field::CHECKSUM, pseudo_sum);
    }
}
