//! The shape every IPv6 extension header with a length field shares (RFC 8200
//! §4.2): next header, length in 8-octet units not counting the first 8. Used
//! to step over hop-by-hop options, destination options and routing headers.

use super::{check_len, ip_protocol, Truncated};

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const LENGTH: usize = 1;
}

/// The smallest extension header (and the size of a fragment header).
pub const MIN_HEADER_LEN: usize = 8;

/// Whether `next_header` names an extension header that [`Header`] can step over.
#[inline]
pub fn has_length_field(next_header: u8) -> bool {
    matches!(
        next_header,
        ip_protocol::HOP_BY_HOP | ip_protocol::ROUTING | ip_protocol::DST_OPTS
    )
}

view!(
    /// A view of an extension header with a length field.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the first two bytes.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), field::LENGTH + 1)
    }

    /// What follows this header.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The header length in bytes ((length field + 1) * 8).
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * 8
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets what follows this header.
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets the header length in bytes (a multiple of 8, at least 8).
    pub fn set_header_len(&mut self, bytes: usize) {
        self.buffer.as_mut()[field::LENGTH] = (bytes / 8).saturating_sub(1) as u8;
    }
}
