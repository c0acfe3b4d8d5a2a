//! Typed, zero-copy views over packet bytes: one header per module, each a thin
//! wrapper around any `AsRef<[u8]>` buffer whose field positions live in a
//! private `field` module of byte ranges. `new_checked` checks once that every
//! accessor is in bounds; setters need an `AsMut<[u8]>` buffer, so tests and
//! packet generators write packets through the same views the verdicts read.
//!
//! Accessors return the wire value (big-endian words as numbers); nothing here
//! decides what a value means for a checksum verdict: that is [`crate::verdict`].

/// Declares a view type over `T: AsRef<[u8]>` with the constructors every view
/// shares; the module supplies `check_len` and the accessors.
macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` without checking it; accessors may then panic.
            #[inline]
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps `buffer` after `check_len`: no accessor can then panic.
            #[inline]
            pub fn new_checked(buffer: T) -> Result<Self, $crate::wire::Truncated> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// The underlying buffer.
            #[inline]
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }
    };
}

pub mod ah;
pub mod ethernet;
pub mod geneve;
pub mod gre;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6_ext;
pub mod ipv6_fragment;
pub mod ipv6_routing;
pub mod loopback;
pub mod sll;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

/// A buffer too short for the header it was given to, or a length field that
/// contradicts the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl core::fmt::Display for Truncated {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("buffer too short for the header")
    }
}

impl core::error::Error for Truncated {}

/// Ethernet type values (IEEE 802 EtherTypes) the views and verdicts know.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// ARP (named in error messages only).
    pub const ARP: u16 = 0x0806;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// The pre-standard QinQ outer tag some switches still send.
    pub const QINQ_OLD: u16 = 0x9100;
    /// Transparent Ethernet bridging (an Ethernet frame inside GRE or Geneve).
    pub const TEB: u16 = 0x6558;
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), shared by
/// IPv4's protocol field and IPv6's next-header chain.
pub mod ip_protocol {
    /// IPv6 hop-by-hop options (extension header).
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4 in IP (IPIP, RFC 2003).
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 in IP (6in4, RFC 4213).
    pub const IPV6: u8 = 41;
    /// IPv6 routing header (extension header).
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header (extension header).
    pub const FRAGMENT: u8 = 44;
    /// GRE (RFC 2784).
    pub const GRE: u8 = 47;
    /// IPsec Authentication Header (RFC 4302).
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 destination options (extension header).
    pub const DST_OPTS: u8 = 60;
}

/// Byte ranges of header fields.
pub(crate) type Field = core::ops::Range<usize>;

/// The big-endian 16-bit word at `field` (two bytes long).
#[inline(always)]
pub(crate) fn get_u16(data: &[u8], field: Field) -> u16 {
    u16::from_be_bytes([data[field.start], data[field.start + 1]])
}

/// The big-endian 32-bit word at `field` (four bytes long).
#[inline(always)]
pub(crate) fn get_u32(data: &[u8], field: Field) -> u32 {
    let at = field.start;
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes `value` big-endian into `field` (two bytes long).
#[inline(always)]
pub(crate) fn set_u16(data: &mut [u8], field: Field, value: u16) {
    data[field].copy_from_slice(&value.to_be_bytes());
}

/// Writes `value` big-endian into `field` (four bytes long).
#[inline(always)]
pub(crate) fn set_u32(data: &mut [u8], field: Field, value: u32) {
    data[field].copy_from_slice(&value.to_be_bytes());
}

/// Fails unless `buffer` holds at least `len` bytes.
#[inline(always)]
pub(crate) fn check_len(buffer: &[u8], len: usize) -> Result<(), Truncated> {
    if buffer.len() < len {
        Err(Truncated)
    } else {
        Ok(())
    }
}

/// Stores in the 16-bit `field` of `segment` the checksum over the whole
/// segment plus `pseudo_sum` (a folded pseudo-header sum; 0 for none).
pub(crate) fn fill_checksum(segment: &mut [u8], field: Field, pseudo_sum: u16) {
    set_u16(segment, field.clone(), 0);
    let sum = crate::checksum::combine(&[pseudo_sum, crate::checksum::data(segment)]);
    set_u16(segment, field, crate::checksum::finish(sum));
}
