//! IPv6 routing header (RFC 8200 §4.4) and the address its types carry: type 0
//! (deprecated source route, a list of addresses), type 2 (Mobile IPv6 home
//! address, RFC 6275) and type 4 (segment routing header, RFC 8754, whose
//! segment list is stored last hop first).

use super::{check_len, Truncated};

mod field {
    use crate::wire::Field;

    pub const NEXT_HEADER: usize = 0;
    pub const LENGTH: usize = 1;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEGMENTS_LEFT: usize = 3;
    /// SRH only: index of the last element of the segment list.
    pub const LAST_ENTRY: usize = 4;
    pub const ADDRESSES: usize = 8;

    pub const fn address(index: usize) -> Field {
        ADDRESSES + index * 16..ADDRESSES + (index + 1) * 16
    }
}

/// Bytes before the first address.
pub const HEADER_LEN: usize = field::ADDRESSES;

/// Routing type 0, the deprecated source route (RFC 5095).
pub const TYPE_SOURCE_ROUTE: u8 = 0;
/// Routing type 2, Mobile IPv6 (RFC 6275).
pub const TYPE_MOBILE: u8 = 2;
/// Routing type 4, segment routing (RFC 8754).
pub const TYPE_SEGMENT_ROUTING: u8 = 4;

view!(
    /// A view of an IPv6 routing header.
    Header
);

impl<T: AsRef<[u8]>> Header<T> {
    /// Fails when the buffer is shorter than the part before the addresses.
    #[inline]
    pub fn check_len(&self) -> Result<(), Truncated> {
        check_len(self.buffer.as_ref(), HEADER_LEN)
    }

    /// What follows this header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The header length in bytes.
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * 8
    }

    /// The routing type.
    #[inline]
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[field::ROUTING_TYPE]
    }

    /// How many listed nodes are still to be visited.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEGMENTS_LEFT]
    }

    /// How many 16-byte addresses the header length leaves room for.
    pub fn address_count(&self) -> usize {
        (self.header_len() - HEADER_LEN) / 16
    }

    /// Address `index` of the list, if the header holds it and it was captured.
    pub fn address(&self, index: usize) -> Option<[u8; 16]> {
        if index >= self.address_count() {
            return None;
        }
        let bytes = self.buffer.as_ref().get(field::address(index))?;
        let mut a = [0; 16];
        a.copy_from_slice(bytes);
        Some(a)
    }

    /// The address of the final destination as the list carries it: the last
    /// address for types 0 and 2, segment list `[0]` for segment routing. None for
    /// other types or when the list is not all there.
    pub fn final_destination(&self) -> Option<[u8; 16]> {
        match self.routing_type() {
            TYPE_SOURCE_ROUTE | TYPE_MOBILE => self.address(self.address_count().checked_sub(1)?),
            TYPE_SEGMENT_ROUTING => self.address(0),
            _ => None,
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets what follows this header.
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Sets the routing type, the number of addresses (which sets the header
    /// length) and the segments left; for segment routing also the last entry.
    pub fn set_route(&mut self, routing_type: u8, addresses: usize, segments_left: u8) {
        let b = self.buffer.as_mut();
        b[field::LENGTH] = (addresses * 2) as u8;
        b[field::ROUTING_TYPE] = routing_type;
        b[field::SEGMENTS_LEFT] = segments_left;
        b[field::LAST_ENTRY] = if routing_type == TYPE_SEGMENT_ROUTING {
            addresses.saturating_sub(1) as u8
        } else {
            0
        };
    }

    /// Sets address `index` of the list.
    pub fn set_address(&mut self, index: usize, address: [u8; 16]) {
        self.buffer.as_mut()[field::address(index)].copy_from_slice(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_destination_per_type() {
        let mut bytes = [0u8; 8 + 3 * 16];
        let mut h = Header::new_checked(&mut bytes[..]).unwrap();
        h.set_next_header(6);
        for i in 0..3 {
            h.set_address(i, [i as u8 + 1; 16]);
        }
        for (kind, want) in [
            (0u8, Some([3; 16])),
            (2, Some([3; 16])),
            (4, Some([1; 16])),
            (3, None),
        ] {
            Header::new_unchecked(&mut bytes[..]).set_route(kind, 3, 1);
            let h = Header::new_checked(&bytes[..]).unwrap();
            assert_eq!((h.header_len(), h.segments_left()), (56, 1));
            assert_eq!(h.final_destination(), want, "type {kind}");
        }
        // A list cut by the capture gives no final destination rather than a wrong one.
        Header::new_unchecked(&mut bytes[..]).set_route(0, 3, 1);
        let cut = Header::new_checked(&bytes[..40]).unwrap();
        assert_eq!(cut.final_destination(), None);
    }
}
