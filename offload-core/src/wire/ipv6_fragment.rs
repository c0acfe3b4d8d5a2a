//! IPv6 fragment header (RFC 8200 §4.5): next header, offset in 8-octet units,
//! more-fragments flag, identification.

use super::{check_len, get_u16, get_u32, set_u16, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const NEXT_HEADER: usize = 0;
    pub const OFFSET_FLAGS: Field = 2..4;
    pub const IDENT: Field = 4..8;
}

/// Bytes of a fragment header.
pub const HEADER_LEN: usize = field::IDENT.end;

view!(
    /// A view of an IPv6 fragment header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the header.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// What follows this header.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The fragment offset in bytes.
    #[inline]
    pub fn offset(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::OFFSET_FLAGS) & !0x7
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_fragments(&self) -> bool {
        get_u16(self.buffer.as_ref(), field::OFFSET_FLAGS) & 1 != 0
    }

    /// The identification.
    pub fn ident(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::IDENT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets what follows this header.
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets the offset (in bytes, a multiple of 8) and the more-fragments flag.
    pub fn set_offset(&mut self, offset: u16, more_fragments: bool) {
        let value = (offset & !0x7) | u16::from(more_fragments);
        set_u16(self.buffer.as_mut(), field::OFFSET_FLAGS, value);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, value: u32) {
        set_u32(self.buffer.as_mut(), field::IDENT, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_flag() {
        let mut bytes = [0u8; 8];
        let mut h = Header::new_checked(&mut bytes[..]).unwrap();
        h.set_next_header(6);
        h.set_offset(512, true);
        h.set_ident(7);
        assert_eq!(bytes, [6, 0, 0x02, 0x01, 0, 0, 0, 7]);
        let h = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (h.next_header(), h.offset(), h.more_fragments(), h.ident()),
            (6, 512, true, 7)
        );
    }
}
