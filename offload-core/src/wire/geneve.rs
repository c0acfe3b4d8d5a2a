//! Geneve header (RFC 8926): version, options length, flags, protocol type
//! (an EtherType, 0x6558 for Ethernet), VNI, then the options. IANA's port is
//! [`PORT`].

use super::{check_len, get_u16, get_u32, set_u16, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const VER_OPT_LEN: usize = 0;
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: Field = 2..4;
    pub const VNI_RESERVED: Field = 4..8;
}

/// Bytes of the header without options.
pub const HEADER_LEN: usize = field::VNI_RESERVED.end;

/// The IANA-assigned UDP destination port.
pub const PORT: u16 = 6081;

view!(
    /// A view of a Geneve header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the header with its options.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)?;
        check_len(self.buffer.as_ref(), self.header_len())
    }

    /// The version (0).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPT_LEN] >> 6
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + usize::from(self.buffer.as_ref()[field::VER_OPT_LEN] & 0x3f) * 4
    }

    /// The O (control packet) and C (critical options) flags byte.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The protocol of the payload (an EtherType).
    pub fn protocol(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::PROTOCOL)
    }

    /// The virtual network identifier.
    pub fn vni(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VNI_RESERVED) >> 8
    }
}

impl<'a> Header<&'a [u8]> {
    /// The bytes after the header and its options.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets version 0, the options length in bytes (a multiple of 4), no flags,
    /// the protocol and the VNI; the options are zeroed.
    pub fn set_header(&mut self, options_len: usize, protocol: u16, vni: u32) {
        let b = self.buffer.as_mut();
        b[field::VER_OPT_LEN] = (options_len / 4) as u8 & 0x3f;
        b[field::FLAGS] = 0;
        set_u16(b, field::PROTOCOL, protocol);
        set_u32(b, field::VNI_RESERVED, vni << 8);
        b[HEADER_LEN..HEADER_LEN + options_len].fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_set_the_length() {
        let mut bytes = [0u8; 16];
        Header::new_unchecked(&mut bytes[..]).set_header(8, 0x6558, 0xabcdef);
        let h = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (h.header_len(), h.protocol(), h.vni(), h.version()),
            (16, 0x6558, 0xabcdef, 0)
        );
        assert_eq!(Header::new_checked(&bytes[..12]), Err(Truncated));
    }
}
