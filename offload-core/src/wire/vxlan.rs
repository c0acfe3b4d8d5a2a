//! VXLAN header (RFC 7348): flags with the VNI-valid bit, the 24-bit VNI; an
//! Ethernet frame follows. IANA's port is [`PORT`].

use super::{check_len, get_u32, set_u32, Truncated};

mod field {
    use crate::wire::Field;

    pub const FLAGS: usize = 0;
    pub const VNI_RESERVED: Field = 4..8;
}

/// Bytes of the header.
pub const HEADER_LEN: usize = field::VNI_RESERVED.end;

/// The IANA-assigned UDP destination port.
pub const PORT: u16 = 4789;

const VNI_VALID: u8 = 0x08;

view!(
    /// A view of a VXLAN header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// Whether the VNI-valid flag (I) is set.
    pub fn vni_valid(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & VNI_VALID != 0
    }

    /// The VXLAN network identifier.
    pub fn vni(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::VNI_RESERVED) >> 8
    }
}

impl<'a> Header<&'a [u8]> {
    /// The encapsulated Ethernet frame.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the I flag and the VNI; reserved bits are zeroed.
    pub fn set_vni(&mut self, vni: u32) {
        let b = self.buffer.as_mut();
        b[..field::VNI_RESERVED.start].copy_from_slice(&[VNI_VALID, 0, 0, 0]);
        set_u32(b, field::VNI_RESERVED, vni << 8);
    }
}
