//! IEEE 802.1Q / 802.1ad VLAN tag: the 4 bytes after a VLAN TPID, i.e. the tag
//! control information and the EtherType of what follows (another tag for QinQ).

use super::{check_len, ethertype, get_u16, set_u16, Truncated};

mod field {
    use crate::wire::Field;

    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
}

/// Bytes of one tag after its TPID.
pub const HEADER_LEN: usize = field::ETHERTYPE.end;

/// Whether an EtherType announces a VLAN tag (802.1Q, 802.1ad, pre-standard QinQ).
#[inline]
pub fn is_tag(ethertype: u16) -> bool {
    matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD
    )
}

view!(
    /// A view of one VLAN tag (starting after the TPID).
    Tag
);

impl<T: AsRef<[u8]>> Tag<T> {
    /// Fails when the buffer is shorter than a tag.
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// The VLAN id (low 12 bits of the TCI).
    pub fn vlan_id(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TCI) & 0x0fff
    }

    /// The priority code point (high 3 bits of the TCI).
    pub fn priority(&self) -> u8 {
        (get_u16(self.buffer.as_ref(), field::TCI) >> 13) as u8
    }

    /// The EtherType of what follows the tag.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }
}

impl<'a> Tag<&'a [u8]> {
    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Tag<T> {
    /// Sets the TCI from a priority and a VLAN id.
    pub fn set_tci(&mut self, priority: u8, vlan_id: u16) {
        let tci = (u16::from(priority & 7) << 13) | (vlan_id & 0x0fff);
        set_u16(self.buffer.as_mut(), field::TCI, tci);
    }

    /// Sets the EtherType of what follows.
    pub fn set_ethertype(&mut self, value: u16) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tci_and_ethertype() {
        let mut bytes = [0u8; 4];
        let mut tag = Tag::new_checked(&mut bytes[..]).unwrap();
        tag.set_tci(5, 0x123);
        tag.set_ethertype(ethertype::IPV4);
        let tag = Tag::new_checked(&bytes[..]).unwrap();
        assert_eq!((tag.priority(), tag.vlan_id()), (5, 0x123));
        assert_eq!(tag.ethertype(), 0x0800);
        assert!(is_tag(0x88a8) && is_tag(0x8100) && !is_tag(0x0800));
        assert_eq!(Tag::new_checked(&bytes[..3]), Err(Truncated));
    }
}
