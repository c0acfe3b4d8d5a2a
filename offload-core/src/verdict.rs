//! Per-packet checksum verdicts. A verdict is data, never an error: a packet whose
//! checksum is wrong is a perfectly good answer. Errors are for frames too short or
//! too inconsistent to parse.
//!
//! API contract shared by the capture, pcap, C and Python layers (implementation
//! in progress: see the `wire` views).

/// What one checksum field says about its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The checksum verifies.
    Correct,
    /// The checksum does not verify; `expected` is what tcpdump prints after `->`.
    Incorrect {
        /// The value in the checksum field.
        found: u16,
        /// The value the field should hold (tcpdump's `in_cksum_shouldbe`).
        expected: u16,
    },
    /// The field holds the folded pseudo-header sum that Linux leaves for the NIC
    /// with TX checksum offload (CHECKSUM_PARTIAL): not corruption.
    OffloadPending {
        /// The value in the checksum field.
        found: u16,
        /// The value the NIC would have written.
        expected: u16,
    },
    /// The checksum could not be verified.
    NotVerified(NotVerifiedReason),
}

/// Why a checksum was not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotVerifiedReason {
    /// An IP fragment: the L4 checksum covers data in other fragments.
    Fragment,
    /// The capture cut the packet short (snaplen) before the covered data ended.
    Truncated,
    /// UDP over IPv4 with checksum 0: the sender did not compute one.
    UdpZeroChecksum,
    /// A protocol whose checksum we do not verify.
    UnsupportedProtocol,
}

/// Which checksum a verdict is about: the counters and reports key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Checksum {
    /// The IPv4 header checksum.
    Ipv4Header,
    /// TCP over IPv4.
    Tcp4,
    /// UDP over IPv4.
    Udp4,
    /// ICMP (over IPv4).
    Icmp4,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv6.
    Udp6,
    /// ICMPv6.
    Icmp6,
}

impl Checksum {
    /// Every checksum kind, in report order.
    pub const ALL: [Checksum; 7] = [
        Checksum::Ipv4Header,
        Checksum::Tcp4,
        Checksum::Udp4,
        Checksum::Icmp4,
        Checksum::Tcp6,
        Checksum::Udp6,
        Checksum::Icmp6,
    ];
}

/// A verdict without its values: what the counters count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// [`Verdict::Correct`].
    Correct,
    /// [`Verdict::Incorrect`].
    Incorrect,
    /// [`Verdict::OffloadPending`].
    OffloadPending,
    /// [`Verdict::NotVerified`] because of a fragment.
    NotVerifiedFragment,
    /// [`Verdict::NotVerified`] because of snaplen truncation.
    NotVerifiedTruncated,
    /// [`Verdict::NotVerified`] because UDP over IPv4 carried no checksum.
    NotVerifiedUdpZero,
    /// [`Verdict::NotVerified`] for a protocol we do not verify.
    NotVerifiedUnsupported,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 7] = [
        Class::Correct,
        Class::Incorrect,
        Class::OffloadPending,
        Class::NotVerifiedFragment,
        Class::NotVerifiedTruncated,
        Class::NotVerifiedUdpZero,
        Class::NotVerifiedUnsupported,
    ];
}

impl Verdict {
    /// The verdict's class, for counting.
    pub fn class(&self) -> Class {
        match self {
            Verdict::Correct => Class::Correct,
            Verdict::Incorrect { .. } => Class::Incorrect,
            Verdict::OffloadPending { .. } => Class::OffloadPending,
            Verdict::NotVerified(NotVerifiedReason::Fragment) => Class::NotVerifiedFragment,
            Verdict::NotVerified(NotVerifiedReason::Truncated) => Class::NotVerifiedTruncated,
            Verdict::NotVerified(NotVerifiedReason::UdpZeroChecksum) => Class::NotVerifiedUdpZero,
            Verdict::NotVerified(NotVerifiedReason::UnsupportedProtocol) => {
                Class::NotVerifiedUnsupported
            }
        }
    }
}
