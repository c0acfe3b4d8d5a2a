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
