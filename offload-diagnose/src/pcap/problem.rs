//! What is wrong with a damaged capture file, in words a user can act on.

use pcap_parser::PcapError;

/// What is wrong with a damaged capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Shorter than a file header.
    Empty,
    /// The first four bytes are no pcap or pcapng magic number.
    BadMagic(u32),
    /// The file ends inside a record (or a pcapng block).
    Truncated,
    /// The file ends inside its file header (pcap) or first section header (pcapng).
    TruncatedFileHeader,
    /// A record or block declares a length no capture produces.
    AbsurdLength {
        /// The declared length.
        len: u32,
        /// The largest length we accept.
        limit: u32,
    },
    /// A packet block names an interface the section never described.
    UnknownInterface(u32),
    /// A link-layer header type we do not decode.
    UnsupportedLinkType(u16),
    /// Anything else the parser rejected.
    Malformed(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => write!(f, "file is empty or shorter than a capture file header"),
            Problem::BadMagic(magic) => write!(
                f,
                "not a pcap or pcapng file (magic number 0x{magic:08x})"
            ),
            Problem::Truncated => write!(f, "file is truncated (ends inside a record)"),
            Problem::TruncatedFileHeader => {
                write!(f, "file is truncated (ends inside the file header)")
            }
            Problem::AbsurdLength { len, limit } => write!(
                f,
                "record length {len} is larger than any capture produces (limit {limit})"
            ),
            Problem::UnknownInterface(id) => {
                write!(f, "packet refers to interface {id}, which was never described")
            }
            Problem::UnsupportedLinkType(lt) => write!(
                f,
                "link type {lt} is not supported (supported: Ethernet, Linux cooked SLL/SLL2, raw IPv4/IPv6, BSD loopback)"
            ),
            Problem::Malformed(what) => write!(f, "malformed data: {what}"),
        }
    }
}

pub(super) fn describe(error: &PcapError<&[u8]>) -> String {
    match error {
        PcapError::NomError(_, kind) => format!("parser rejected a block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("parser rejected a block ({kind:?})"),
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        other => other.to_string(),
    }
}
