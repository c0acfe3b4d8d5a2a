//! IPsec Authentication Header (RFC 4302 §2): next header, payload length in
//! 32-bit words minus 2, SPI, sequence number, ICV. It sits between IP (IPv4
//! protocol 51 or an IPv6 next header of 51) and the transport, which the
//! pseudo-header still describes: the transport checksum is verified behind it.

use super::{check_len, get_u32, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const SPI: Field = 4..8;
    pub const SEQUENCE: Field = 8..12;
}

/// Bytes before the ICV (the smallest header: a payload length field of 1).
pub const FIXED_LEN: usize = field::SEQUENCE.end;

view!(
    /// A view of an Authentication Header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the fixed part.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), FIXED_LEN)
    }

    /// What follows this header.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The whole header in bytes, ICV included: (payload length + 2) * 4.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::PAYLOAD_LEN]) + 2) * 4
    }

    /// The security parameters index.
    pub fn spi(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SPI)
    }

    /// The sequence number.
    pub fn sequence(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SEQUENCE)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the next header, the whole length in bytes (a multiple of 4, at
    /// least [`FIXED_LEN`]), the SPI and the sequence number.
    pub fn set_header(&mut self, next_header: u8, bytes: usize, spi: u32, sequence: u32) {
        let b = self.buffer.as_mut();
        b[field::NEXT_HEADER] = next_header;
        b[field::PAYLOAD_LEN] = (bytes / 4).saturating_sub(2) as u8;
        b[field::PAYLOAD_LEN + 1..field::SPI.start].fill(0);
        set_u32(b, field::SPI, spi);
        set_u32(b, field::SEQUENCE, sequence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_counts_words_minus_two() {
        let mut bytes = [0xeeu8; 24];
        let mut ah = Header::new_checked(&mut bytes[..]).unwrap();
        ah.set_header(6, 24, 0x1000, 7);
        assert_eq!(bytes[1], 4, "24 bytes = 6 words, minus 2");
        let ah = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!((ah.next_header(), ah.header_len()), (6, 24));
        assert_eq!((ah.spi(), ah.sequence()), (0x1000, 7));
        assert_eq!(Header::new_checked(&bytes[..11]), Err(Truncated));
    }
}
