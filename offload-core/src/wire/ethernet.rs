//! Ethernet II frame header (IEEE 802.3 with an EtherType): destination and
//! source MAC, EtherType; VLAN tags that follow are [`super::vlan`] views.

use super::{check_len, get_u16, set_u16, Truncated};

mod field {
    use crate::wire::Field;

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
}

/// Bytes before the payload of an untagged frame.
pub const HEADER_LEN: usize = field::ETHERTYPE.end;

view!(
    /// A view of an Ethernet II frame.
    Frame
);

impl<T: AsRef<[u8]>> Frame<T> {
    /// Fails when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// The destination MAC address.
    pub fn destination(&self) -> [u8; 6] {
        let mut mac = [0; 6];
        mac.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        mac
    }

    /// The source MAC address.
    pub fn source(&self) -> [u8; 6] {
        let mut mac = [0; 6];
        mac.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        mac
    }

    /// The EtherType (a VLAN TPID when the frame is tagged).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }
}

impl<'a> Frame<&'a [u8]> {
    /// The bytes after the header (VLAN tags included).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC address.
    pub fn set_destination(&mut self, mac: [u8; 6]) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&mac);
    }

    /// Sets the source MAC address.
    pub fn set_source(&mut self, mac: [u8; 6]) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&mac);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, value);
    }

    /// The bytes after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut bytes = [0u8; 20];
        let mut frame = Frame::new_checked(&mut bytes[..]).unwrap();
        frame.set_destination([1, 2, 3, 4, 5, 6]);
        frame.set_source([7, 8, 9, 10, 11, 12]);
        frame.set_ethertype(0x86dd);
        frame.payload_mut()[0] = 0x60;
        assert_eq!(
            bytes[..15],
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x86, 0xdd, 0x60]
        );
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.ethertype(), 0x86dd);
        assert_eq!(frame.source(), [7, 8, 9, 10, 11, 12]);
        assert_eq!(frame.payload().len(), 6);
        assert_eq!(Frame::new_checked(&bytes[..13]), Err(Truncated));
    }
}
