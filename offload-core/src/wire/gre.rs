//! GRE header (RFC 2784 with the key and sequence number of RFC 2890): flags,
//! protocol (an EtherType), then the optional checksum, key and sequence fields.

use super::{check_len, get_u16, get_u32, set_u16, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const FLAGS_VERSION: Field = 0..2;
    pub const PROTOCOL: Field = 2..4;
    pub const OPTIONAL: usize = 4;
}

/// Bytes of a header without optional fields.
pub const HEADER_LEN: usize = field::OPTIONAL;

const CHECKSUM_PRESENT: u16 = 0x8000;
const KEY_PRESENT: u16 = 0x2000;
const SEQUENCE_PRESENT: u16 = 0x1000;

view!(
    /// A view of a GRE header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the header its flags announce.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)?;
        check_len(self.buffer.as_ref(), self.header_len())
    }

    fn flags(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::FLAGS_VERSION)
    }

    /// The version (0 for GRE; 1 is PPTP's enhanced GRE).
    pub fn version(&self) -> u8 {
        (self.flags() & 0x7) as u8
    }

    /// Whether the checksum field is present.
    pub fn has_checksum(&self) -> bool {
        self.flags() & CHECKSUM_PRESENT != 0
    }

    /// Whether the key field is present.
    pub fn has_key(&self) -> bool {
        self.flags() & KEY_PRESENT != 0
    }

    /// Whether the sequence number field is present.
    pub fn has_sequence(&self) -> bool {
        self.flags() & SEQUENCE_PRESENT != 0
    }

    /// The header length in bytes, optional fields included.
    pub fn header_len(&self) -> usize {
        HEADER_LEN
            + 4 * (usize::from(self.has_checksum())
                + usize::from(self.has_key())
                + usize::from(self.has_sequence()))
    }

    /// The protocol of the payload (an EtherType).
    pub fn protocol(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// The key, when present.
    pub fn key(&self) -> Option<u32> {
        let at = field::OPTIONAL + 4 * usize::from(self.has_checksum());
        self.has_key()
            .then(|| get_u32(self.buffer.as_ref(), at..at + 4))
    }
}

impl<'a> Header<&'a [u8]> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets version 0, which optional fields are present and the protocol;
    /// present fields are zeroed, then [`Self::set_key`] fills the key.
    pub fn set_header(&mut self, checksum: bool, key: Option<u32>, sequence: bool, protocol: u16) {
        let mut flags = 0;
        if checksum {
            flags |= CHECKSUM_PRESENT;
        }
        if key.is_some() {
            flags |= KEY_PRESENT;
        }
        if sequence {
            flags |= SEQUENCE_PRESENT;
        }
        set_u16(self.buffer.as_mut(), field::FLAGS_VERSION, flags);
        set_u16(self.buffer.as_mut(), field::PROTOCOL, protocol);
        let len = self.header_len();
        self.buffer.as_mut()[field::OPTIONAL..len].fill(0);
        if let Some(key) = key {
            self.set_key(key);
        }
    }

    /// Sets the key (the key flag must be set).
    pub fn set_key(&mut self, key: u32) {
        let at = field::OPTIONAL + 4 * usize::from(self.has_checksum());
        set_u32(self.buffer.as_mut(), at..at + 4, key);
    }

    /// Computes the GRE checksum (header and payload, no pseudo-header) when
    /// the checksum flag is set.
    pub fn fill_checksum(&mut self) {
        if self.has_checksum() {
            let at = field::OPTIONAL;
            super::fill_checksum(self.buffer.as_mut(), at..at + 2, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_set_the_length() {
        let mut bytes = [0u8; 16];
        let mut h = Header::new_unchecked(&mut bytes[..]);
        h.set_header(true, Some(0xdead_beef), true, 0x0800);
        let h = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (h.header_len(), h.protocol(), h.key()),
            (16, 0x0800, Some(0xdead_beef))
        );
        assert_eq!(Header::new_checked(&bytes[..15]), Err(Truncated));
        let mut plain = [0u8; 4];
        Header::new_unchecked(&mut plain[..]).set_header(false, None, false, 0x86dd);
        let h = Header::new_checked(&plain[..]).unwrap();
        assert_eq!((h.header_len(), h.key(), h.version()), (4, None, 0));
    }
}
