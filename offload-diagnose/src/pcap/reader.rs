//! The streaming reader: picks the format from the magic number, then hands out
//! records one at a time ([`CaptureReader::next_record`]) or whole batches
//! ([`CaptureReader::next_batch`]).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;

use flate2::read::MultiGzDecoder;
use std::path::{Path, PathBuf};

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapError, PcapNGReader};

use super::chunks::ClassicChunks;
use super::classic::Classic;
use super::classic::RecordFormat;
use super::problem::{describe, Problem};
use crate::error::{Error, Result};
use offload_core::verdict::linktype::is_supported;

/// Read buffer: large enough that refills are rare, small enough to stay in L2.
pub(super) const BUFFER_LEN: usize = 256 * 1024;

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileFormat {
    /// Classic libpcap format.
    Pcap {
        /// Big-endian header and records.
        big_endian: bool,
        /// Nanosecond timestamps (magic 0xa1b23c4d).
        nanosecond: bool,
    },
    /// pcapng (section, interface and packet blocks).
    PcapNg,
}

/// One interface of a capture file (classic pcap files have exactly one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interface {
    /// The link-layer header type of its packets.
    pub link_type: u16,
    /// The snapshot length it was captured with (0: unlimited).
    pub snaplen: u32,
    /// Its name (`if_name` option), if the file says.
    pub name: Option<String>,
    /// Timestamp units per second (10^6 unless `if_tsresol` says otherwise).
    pub(super) resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub(super) offset_secs: i64,
}

/// Packet bytes per batch for [`CaptureReader::next_batch`] (pcapng).
const BATCH_BYTES: usize = 256 << 10;

/// One packet of a batch: where its bytes lie in the batch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchEntry {
    /// The link-layer header type of the packet.
    pub link_type: u16,
    /// The length on the wire.
    pub orig_len: u32,
    /// First byte in the batch buffer.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// One captured packet, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Index of the interface in the current pcapng section (0 for classic pcap).
    pub interface: u32,
    /// The link-layer header type of `data`.
    pub link_type: u16,
    /// Seconds since the Unix epoch.
    pub ts_sec: i64,
    /// Nanoseconds within the second.
    pub ts_nsec: u32,
    /// The length of the packet on the wire (may exceed `data.len()` after snaplen).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

impl Record<'_> {
    /// The capture time as (seconds since the Unix epoch, nanoseconds), or `None`
    /// when the file's timestamp and offset do not fit (they saturated): tcpdump
    /// then prints that it could not convert the time, and so do we.
    pub fn time(&self) -> Option<(i64, u32)> {
        (self.ts_sec != i64::MAX && self.ts_sec != i64::MIN).then_some((self.ts_sec, self.ts_nsec))
    }
}

pub(super) enum Inner<R: Read> {
    Classic(Classic<R>),
    Ng(PcapNGReader<R>),
}

/// A streaming reader over a pcap or pcapng file.
pub struct CaptureReader<R: Read> {
    /// A prefix was read to pick the parser; it is chained back in front.
    pub(super) inner: Inner<io::Chain<io::Cursor<Vec<u8>>, Source<R>>>,
    pub(super) format: FileFormat,
    pub(super) interfaces: Vec<Interface>,
    /// Bytes of the block handed out last, consumed at the next call.
    pub(super) pending: usize,
    pub(super) records: u64,
    pub(super) capacity: usize,
    pub(super) path: PathBuf,
    /// Byte order of the current pcapng section (from its header's magic).
    pub(super) ng_big_endian: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file; the error names the file. `-` is standard input
    /// (`tcpdump -w - | offloadctl check -`).
    pub fn open(path: &Path) -> Result<Self> {
        let io_error = |source| Error::CaptureFileIo {
            path: path.to_path_buf(),
            source,
        };
        let file = if path == Path::new(STDIN_PATH) {
            let stdin = io::stdin().as_fd().try_clone_to_owned().map_err(io_error)?;
            File::from(stdin)
        } else {
            File::open(path).map_err(io_error)?
        };
        Self::new(file, path)
    }
}

impl CaptureReader<File> {
    /// The same file read by several threads at once ([`ClassicChunks`]), when it
    /// is an uncompressed classic pcap regular file not yet read past its header;
    /// otherwise the reader back, for reading in turn.
    pub fn into_chunks(self) -> std::result::Result<ClassicChunks, Box<Self>> {
        let Inner::Classic(walker) = &self.inner else {
            return Err(Box::new(self));
        };
        let regular = match walker.source.get_ref().1 {
            Source::Plain(file) => file.metadata().is_ok_and(|m| m.is_file()),
            Source::Gzip(_) => false,
        };
        if !regular || self.path == Path::new(STDIN_PATH) || self.records > 0 {
            return Err(Box::new(self));
        }
        let link_type = self.interfaces[0].link_type;
        let Inner::Classic(walker) = self.inner else {
            unreachable!("checked above")
        };
        let Source::Plain(file) = walker.source.into_inner().1 else {
            unreachable!("checked above")
        };
        Ok(ClassicChunks::new(
            file,
            self.path,
            walker.consumed,
            walker.format,
            link_type,
        ))
    }
}

/// The 24-byte file header of classic pcap, read in the byte order its magic
/// number gave (all four magic numbers in both orders, as libpcap reads them:
/// `pcap-parser` does not take a byte-swapped "modified" header).
struct ClassicHeader {
    nanosecond: bool,
    /// Kuznetzov's "modified" format: 24-byte record headers.
    modified: bool,
    thiszone: i32,
    snaplen: u32,
    link_type: u16,
}

impl ClassicHeader {
    /// `None`: shorter than a header.
    fn parse(bytes: &[u8], big_endian: bool) -> Option<Self> {
        let word = |at: usize| -> Option<u32> {
            let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        };
        let magic = word(0)?;
        let network = word(20)?;
        Some(ClassicHeader {
            nanosecond: magic == 0xa1b2_3c4d,
            modified: magic == 0xa1b2_cd34,
            thiszone: word(8)? as i32,
            snaplen: word(16)?,
            // The upper 16 bits hold the FCS length and flags (LINKTYPE_* is 16 bits).
            link_type: network as u16,
        })
    }
}

/// The path that names standard input.
pub const STDIN_PATH: &str = "-";

/// The first bytes of a gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What the reader reads from: the file as it is, or decompressed.
pub enum Source<R: Read> {
    /// Not compressed.
    Plain(R),
    /// gzip (several members, as `cat a.gz b.gz` makes, are read in turn).
    Gzip(Box<MultiGzDecoder<io::Chain<io::Cursor<Vec<u8>>, R>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(r) => r.read(buf),
        }
    }
}

/// Reads up to [`BUFFER_LEN`] bytes, fewer only at the end of the file.
fn read_prefix(source: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(BUFFER_LEN);
    source.take(BUFFER_LEN as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading `source`; `path` is only used in error messages. A
    /// gzip-compressed capture (`tcpdump -w - | gzip`) is decompressed on the fly.
    pub fn new(source: R, path: &Path) -> Result<Self> {
        let damaged = |offset: u64, problem: Problem| Error::CaptureFileDamaged {
            path: path.to_path_buf(),
            offset,
            records: 0,
            problem,
        };
        let io_error = |source| Error::CaptureFileIo {
            path: path.to_path_buf(),
            source,
        };
        // The parsers parse the file header from their first read, so hand them a
        // prefix long enough for any header (the magic number also picks the parser).
        let mut source = Source::Plain(source);
        let mut prefix = read_prefix(&mut source).map_err(io_error)?;
        if prefix.starts_with(&GZIP_MAGIC) {
            let Source::Plain(plain) = source else {
                unreachable!("a fresh source is plain")
            };
            let compressed = io::Cursor::new(prefix).chain(plain);
            source = Source::Gzip(Box::new(MultiGzDecoder::new(compressed)));
            prefix = read_prefix(&mut source).map_err(io_error)?;
        }
        let got = prefix.len();
        if got < 4 {
            return Err(damaged(got as u64, Problem::Empty));
        }
        let magic = [prefix[0], prefix[1], prefix[2], prefix[3]];
        let le = u32::from_le_bytes(magic);
        let format = match le {
            0xa1b2_c3d4 | 0xa1b2_cd34 => FileFormat::Pcap {
                big_endian: false,
                nanosecond: false,
            },
            0xa1b2_3c4d => FileFormat::Pcap {
                big_endian: false,
                nanosecond: true,
            },
            0xd4c3_b2a1 | 0x34cd_b2a1 => FileFormat::Pcap {
                big_endian: true,
                nanosecond: false,
            },
            0x4d3c_b2a1 => FileFormat::Pcap {
                big_endian: true,
                nanosecond: true,
            },
            0x0a0d_0d0a => FileFormat::PcapNg,
            _ => return Err(damaged(0, Problem::BadMagic(u32::from_be_bytes(magic)))),
        };
        // The first section's byte order, from its header's byte-order magic.
        let ng_big_endian = prefix.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d][..]);
        let chained = io::Cursor::new(prefix).chain(source);
        let header_error = |e: PcapError<&[u8]>| match e {
            PcapError::ReadError => Error::CaptureFileIo {
                path: path.to_path_buf(),
                source: io::Error::other("read failed"),
            },
            PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
                damaged(0, Problem::TruncatedFileHeader)
            }
            other => damaged(0, Problem::Malformed(describe(&other))),
        };
        let mut interfaces = Vec::new();
        let inner = match format {
            FileFormat::Pcap { big_endian, .. } => {
                let Some(header) =
                    ClassicHeader::parse(&chained.get_ref().0.get_ref()[..], big_endian)
                else {
                    return Err(damaged(0, Problem::TruncatedFileHeader));
                };
                if !is_supported(header.link_type) {
                    return Err(damaged(0, Problem::UnsupportedLinkType(header.link_type)));
                }
                interfaces.push(Interface {
                    link_type: header.link_type,
                    snaplen: header.snaplen,
                    name: None,
                    resolution: if header.nanosecond {
                        1_000_000_000
                    } else {
                        1_000_000
                    },
                    offset_secs: i64::from(header.thiszone),
                });
                let format = RecordFormat::new(big_endian, header.modified, header.nanosecond);
                let mut walker = Classic::new(chained, format);
                // The header was parsed from the prefix, so its 24 bytes are there.
                walker.fill(24).map_err(io_error)?;
                walker.consume(24);
                Inner::Classic(walker)
            }
            FileFormat::PcapNg => {
                Inner::Ng(PcapNGReader::new(BUFFER_LEN, chained).map_err(header_error)?)
            }
        };
        Ok(Self {
            inner,
            format,
            interfaces,
            pending: 0,
            records: 0,
            capacity: BUFFER_LEN,
            path: path.to_path_buf(),
            ng_big_endian,
        })
    }

    /// The container format.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The interfaces of the current section, in file order.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Packets handed out so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// File offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        match &self.inner {
            Inner::Classic(r) => r.consumed,
            Inner::Ng(r) => r.consumed() as u64,
        }
    }

    pub(super) fn damaged(&self, problem: Problem) -> Error {
        Error::CaptureFileDamaged {
            path: self.path.clone(),
            offset: self.offset(),
            records: self.records,
            problem,
        }
    }

    /// The next packet, or `None` at the clean end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        let pending = std::mem::take(&mut self.pending);
        match &mut self.inner {
            Inner::Classic(r) => r.consume(pending),
            Inner::Ng(r) => r.consume(pending),
        }
        let found = match self.inner {
            Inner::Classic(_) => self.advance_classic()?,
            Inner::Ng(_) => self.advance_ng()?,
        };
        let Some(found) = found else {
            return Ok(None);
        };
        self.pending = found.block_len;
        self.records += 1;
        let buffer = match &self.inner {
            Inner::Classic(r) => &r.buf[..r.end],
            Inner::Ng(r) => r.data(),
        };
        Ok(Some(Record {
            interface: found.interface,
            link_type: found.link_type,
            ts_sec: found.ts_sec,
            ts_nsec: found.ts_nsec,
            orig_len: found.orig_len,
            data: &buffer[found.data_start..found.data_start + found.data_len],
        }))
    }

    /// Fills `buf` and `entries` with the next packets (their previous contents are
    /// dropped); `entries` empty with `Ok` means the clean end of the file. On
    /// damage, the packets read before it are in `entries` and the error says
    /// where it is. Classic pcap files hand over whole read buffers without copying
    /// packets; pcapng packets are copied. Do not mix with [`Self::next_record`].
    pub fn next_batch(&mut self, buf: &mut Vec<u8>, entries: &mut Vec<BatchEntry>) -> Result<()> {
        entries.clear();
        if matches!(self.inner, Inner::Classic(_)) {
            return self.next_batch_classic(buf, entries);
        }
        buf.clear();
        while buf.len() < BATCH_BYTES {
            match self.next_record()? {
                Some(record) => {
                    let start = buf.len();
                    buf.extend_from_slice(record.data);
                    entries.push(BatchEntry {
                        link_type: record.link_type,
                        orig_len: record.orig_len,
                        start,
                        end: buf.len(),
                    });
                }
                None => break,
            }
        }
        Ok(())
    }

    pub(super) fn io_error(&self, source: io::Error) -> Error {
        Error::CaptureFileIo {
            path: self.path.clone(),
            source,
        }
    }
}

/// Where the next record lies in the reader's buffer, and what it is.
pub(super) struct Found {
    pub(super) block_len: usize,
    pub(super) interface: u32,
    pub(super) link_type: u16,
    pub(super) ts_sec: i64,
    pub(super) ts_nsec: u32,
    pub(super) orig_len: u32,
    pub(super) data_start: usize,
    pub(super) data_len: usize,
}
