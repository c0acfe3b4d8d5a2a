//! Streaming pcap / pcapng reading (through `pcap-parser`) and pcapng writing.
//!
//! [`CaptureReader`] hands out one [`Record`] at a time, borrowed from a bounded
//! circular buffer, so a file of any size is read in constant memory. It reads
//! classic pcap in both byte orders with micro- or nanosecond timestamps, and pcapng
//! with several sections, several interfaces and a link type per interface.
//!
//! Damaged input is an [`Error`] that says where the damage is (byte offset and the
//! number of records read before it), so callers can still report what they read.
//!
//! [`PcapNgWriter`] writes what `offloadctl capture --write` saves, and
//! [`LegacyPcapWriter`] writes classic pcap (used to generate test and benchmark files).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{parse_pcap_header, PcapBlockOwned, PcapError, PcapNGReader};

use crate::error::{Error, Result};

/// Link-layer header types (the `LINKTYPE_*` values of pcap and pcapng) we
/// decode: offload-core's list, which its classifier walks.
pub use offload_core::verdict::linktype;
use offload_core::verdict::linktype::is_supported;

/// libpcap's largest accepted snapshot length (`MAXIMUM_SNAPLEN`): a classic pcap
/// record longer than this is damage, not a packet.
pub const MAX_RECORD_LEN: u32 = 262_144;

/// libpcap's largest pcapng block (`MAX_BLOCKSIZE`, 16 MiB).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Read buffer: large enough that refills are rare, small enough to stay in L2.
const BUFFER_LEN: usize = 256 * 1024;

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
    resolution: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// Packet bytes per batch for [`CaptureReader::next_batch`] (pcapng).
const BATCH_BYTES: usize = 1 << 20;

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

enum Inner<R: Read> {
    Classic(Classic<R>),
    Ng(PcapNGReader<R>),
}

/// A streaming reader over a pcap or pcapng file.
pub struct CaptureReader<R: Read> {
    /// A prefix was read to pick the parser; it is chained back in front.
    inner: Inner<io::Chain<io::Cursor<Vec<u8>>, R>>,
    format: FileFormat,
    interfaces: Vec<Interface>,
    /// Bytes of the block handed out last, consumed at the next call.
    pending: usize,
    records: u64,
    capacity: usize,
    path: PathBuf,
    /// Byte order of the current pcapng section (from its header's magic).
    ng_big_endian: bool,
}

impl CaptureReader<File> {
    /// Opens a capture file; the error names the file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::CaptureFileIo {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(file, path)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Starts reading `source`; `path` is only used in error messages.
    pub fn new(mut source: R, path: &Path) -> Result<Self> {
        let damaged = |offset: u64, problem: Problem| Error::CaptureFileDamaged {
            path: path.to_path_buf(),
            offset,
            records: 0,
            problem,
        };
        // The parsers parse the file header from their first read, so hand them a
        // prefix long enough for any header (the magic number also picks the parser).
        let mut prefix = vec![0u8; BUFFER_LEN];
        let mut got = 0;
        while got < prefix.len() {
            match source.read(&mut prefix[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::CaptureFileIo {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        prefix.truncate(got);
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
                damaged(0, Problem::Truncated)
            }
            other => damaged(0, Problem::Malformed(describe(&other))),
        };
        let mut interfaces = Vec::new();
        let inner = match format {
            FileFormat::Pcap { big_endian, .. } => {
                let header = match parse_pcap_header(&chained.get_ref().0.get_ref()[..]) {
                    Ok((_, header)) => header,
                    Err(pcap_parser::nom::Err::Incomplete(_)) => {
                        return Err(damaged(0, Problem::Truncated))
                    }
                    Err(pcap_parser::nom::Err::Error(e) | pcap_parser::nom::Err::Failure(e)) => {
                        return Err(header_error(e))
                    }
                };
                if !is_supported(header.network.0 as u16) {
                    return Err(damaged(
                        0,
                        Problem::UnsupportedLinkType(header.network.0 as u16),
                    ));
                }
                interfaces.push(Interface {
                    link_type: header.network.0 as u16,
                    snaplen: header.snaplen,
                    name: None,
                    resolution: if header.is_nanosecond_precision() {
                        1_000_000_000
                    } else {
                        1_000_000
                    },
                    offset_secs: i64::from(header.thiszone),
                });
                let mut walker = Classic::new(chained, big_endian, header.is_modified_format());
                // The header was parsed from the prefix, so its 24 bytes are there.
                walker.fill(24).map_err(|source| Error::CaptureFileIo {
                    path: path.to_path_buf(),
                    source,
                })?;
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

    fn damaged(&self, problem: Problem) -> Error {
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

    fn next_batch_classic(
        &mut self,
        buf: &mut Vec<u8>,
        entries: &mut Vec<BatchEntry>,
    ) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let link_type = self.interfaces[0].link_type;
        let Inner::Classic(walker) = &mut self.inner else {
            unreachable!("called for classic pcap only")
        };
        walker.consume(pending);
        let io_error = |source| Error::CaptureFileIo {
            path: self.path.clone(),
            source,
        };
        let header_len = walker.header_len;
        // Top the buffer up, then cut it into records.
        walker.fill_buffer().map_err(io_error)?;
        let mut problem = None;
        loop {
            let at = walker.start;
            if walker.end < at + header_len {
                if entries.is_empty() && !walker.fill(header_len).map_err(io_error)? {
                    if walker.end > walker.start {
                        problem = Some(Problem::Truncated);
                    }
                    break;
                }
                if walker.end < walker.start + header_len {
                    break;
                }
                continue;
            }
            let word = |off: usize| {
                let b = [
                    walker.buf[at + off],
                    walker.buf[at + off + 1],
                    walker.buf[at + off + 2],
                    walker.buf[at + off + 3],
                ];
                if walker.big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            let (caplen, orig_len) = (word(8), word(12));
            if caplen > MAX_RECORD_LEN {
                problem = Some(Problem::AbsurdLength {
                    len: caplen,
                    limit: MAX_RECORD_LEN,
                });
                break;
            }
            let record_len = header_len + caplen as usize;
            if walker.end < at + record_len {
                // A record larger than what is left: only worth growing/refilling
                // when this batch is still empty.
                if entries.is_empty() {
                    if !walker.fill(record_len).map_err(io_error)? {
                        problem = Some(Problem::Truncated);
                        break;
                    }
                    continue;
                }
                break;
            }
            entries.push(BatchEntry {
                link_type,
                orig_len,
                start: at + header_len,
                end: at + record_len,
            });
            walker.consume(record_len);
            self.records += 1;
        }
        // Hand the filled buffer to the caller; keep the partial record that follows.
        let leftover = walker.end - walker.start;
        let mut fresh = std::mem::take(buf);
        if fresh.len() < walker.buf.len() {
            fresh.resize(walker.buf.len(), 0);
        }
        fresh[..leftover].copy_from_slice(&walker.buf[walker.start..walker.end]);
        *buf = std::mem::replace(&mut walker.buf, fresh);
        walker.start = 0;
        walker.end = leftover;
        match problem {
            Some(p) => Err(self.damaged(p)),
            None => Ok(()),
        }
    }

    /// Moves to the next record of a classic pcap file.
    fn advance_classic(&mut self) -> Result<Option<Found>> {
        let Inner::Classic(walker) = &mut self.inner else {
            unreachable!("called for classic pcap only")
        };
        let header_len = walker.header_len;
        let io_error = |source| Error::CaptureFileIo {
            path: self.path.clone(),
            source,
        };
        if !walker.fill(header_len).map_err(io_error)? {
            if walker.end > walker.start {
                return Err(self.damaged(Problem::Truncated));
            }
            return Ok(None);
        }
        let h = &walker.buf[walker.start..walker.start + 16];
        let word = |at: usize| {
            let bytes = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            if walker.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (ts_sec, ts_frac, caplen, orig_len) = (word(0), word(4), word(8), word(12));
        if caplen > MAX_RECORD_LEN {
            return Err(self.damaged(Problem::AbsurdLength {
                len: caplen,
                limit: MAX_RECORD_LEN,
            }));
        }
        let block_len = header_len + caplen as usize;
        if !walker.fill(block_len).map_err(io_error)? {
            return Err(self.damaged(Problem::Truncated));
        }
        let iface = &self.interfaces[0];
        let ts_nsec = if iface.resolution == 1_000_000 {
            ts_frac.saturating_mul(1000)
        } else {
            ts_frac
        };
        Ok(Some(Found {
            block_len,
            interface: 0,
            link_type: iface.link_type,
            ts_sec: i64::from(ts_sec) + iface.offset_secs,
            ts_nsec,
            orig_len,
            data_start: walker.start + header_len,
            data_len: caplen as usize,
        }))
    }

    /// Moves to the next packet block of a pcapng file, tracking interfaces.
    fn advance_ng(&mut self) -> Result<Option<Found>> {
        let Inner::Ng(reader) = &mut self.inner else {
            unreachable!("called for pcapng only")
        };
        loop {
            let base = reader.data().as_ptr() as usize;
            // pcap-parser 0.17 subtracts the header size from a block's declared
            // length unchecked (found by the capture_reader fuzz target): refuse a
            // block shorter than the 12 bytes every pcapng block has, first.
            if !ng_block_len_plausible(reader.data(), &mut self.ng_big_endian) {
                return Err(self.damaged(Problem::Malformed(
                    "a pcapng block shorter than its own header".into(),
                )));
            }
            let next = reader.next();
            let step = match next {
                Ok((len, PcapBlockOwned::NG(block))) => match block {
                    Block::SectionHeader(_) => {
                        // Interface numbering restarts with every section.
                        self.interfaces.clear();
                        Step::Skip(len)
                    }
                    Block::InterfaceDescription(idb) if !is_supported(idb.linktype.0 as u16) => {
                        Step::Fail(Problem::UnsupportedLinkType(idb.linktype.0 as u16))
                    }
                    Block::InterfaceDescription(idb) => match idb.ts_resolution() {
                        Some(resolution) if resolution > 0 => {
                            self.interfaces.push(Interface {
                                link_type: idb.linktype.0 as u16,
                                snaplen: idb.snaplen,
                                name: idb.if_name().and_then(|n| n.ok()).map(str::to_owned),
                                resolution,
                                offset_secs: idb.ts_offset(),
                            });
                            Step::Skip(len)
                        }
                        _ => Step::Fail(Problem::Malformed(format!(
                            "interface {} has an invalid timestamp resolution",
                            self.interfaces.len()
                        ))),
                    },
                    Block::EnhancedPacket(epb) => match self.interfaces.get(epb.if_id as usize) {
                        None => Step::Fail(Problem::UnknownInterface(epb.if_id)),
                        Some(iface) => {
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let (ts_sec, ts_nsec) = split_timestamp(units, iface);
                            let data = epb.packet_data();
                            Step::Packet(Found {
                                block_len: len,
                                interface: epb.if_id,
                                link_type: iface.link_type,
                                ts_sec,
                                ts_nsec,
                                orig_len: epb.origlen,
                                data_start: data.as_ptr() as usize - base,
                                data_len: data.len(),
                            })
                        }
                    },
                    Block::SimplePacket(spb) => match self.interfaces.first() {
                        None => Step::Fail(Problem::UnknownInterface(0)),
                        Some(iface) => {
                            let data = spb.packet_data();
                            Step::Packet(Found {
                                block_len: len,
                                interface: 0,
                                link_type: iface.link_type,
                                ts_sec: 0,
                                ts_nsec: 0,
                                orig_len: spb.origlen,
                                data_start: data.as_ptr() as usize - base,
                                data_len: data.len(),
                            })
                        }
                    },
                    _ => Step::Skip(len),
                },
                Ok((len, _)) => Step::Skip(len),
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_) | PcapError::BufferTooSmall) => {
                    let declared = block_len_ng(reader.data());
                    match declared {
                        Some(len) if len > MAX_BLOCK_LEN => Step::Fail(Problem::AbsurdLength {
                            len,
                            limit: MAX_BLOCK_LEN,
                        }),
                        _ => Step::Refill(declared.map_or(0, |l| l as usize)),
                    }
                }
                Err(PcapError::UnexpectedEof) => Step::Fail(Problem::Truncated),
                Err(PcapError::ReadError) => Step::ReadError,
                Err(other) => Step::Fail(Problem::Malformed(describe(&other))),
            };
            match step {
                Step::Packet(found) => return Ok(Some(found)),
                Step::Skip(len) => reader.consume(len),
                Step::End => return Ok(None),
                Step::Refill(needed) => {
                    refill(reader, &mut self.capacity, needed).map_err(|source| {
                        Error::CaptureFileIo {
                            path: self.path.clone(),
                            source,
                        }
                    })?
                }
                Step::ReadError => return Err(self.io_error(io::Error::other("read failed"))),
                Step::Fail(problem) => return Err(self.damaged(problem)),
            }
        }
    }

    fn io_error(&self, source: io::Error) -> Error {
        Error::CaptureFileIo {
            path: self.path.clone(),
            source,
        }
    }
}

/// The classic pcap record walker: the format is a 16-byte header per record, so
/// walking it over one large buffer beats a general parser (about 2x here);
/// pcapng, with its many block types, goes through `pcap-parser`.
struct Classic<R: Read> {
    source: R,
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    start: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// File offset of `buf[start]`.
    consumed: u64,
    exhausted: bool,
    big_endian: bool,
    /// 16, or 24 for the "modified" (Kuznetzov) format.
    header_len: usize,
}

/// Classic pcap read buffer: big enough that read(2) calls are few.
const CLASSIC_BUFFER_LEN: usize = 1 << 20;

impl<R: Read> Classic<R> {
    fn new(source: R, big_endian: bool, modified: bool) -> Self {
        Classic {
            source,
            buf: vec![0; CLASSIC_BUFFER_LEN],
            start: 0,
            end: 0,
            consumed: 0,
            exhausted: false,
            big_endian,
            header_len: if modified { 24 } else { 16 },
        }
    }

    fn consume(&mut self, len: usize) {
        self.start += len;
        self.consumed += len as u64;
    }

    /// Reads until the buffer is full or the file ends (after moving the
    /// unconsumed bytes to the front).
    fn fill_buffer(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while !self.exhausted && self.end < self.buf.len() {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => self.exhausted = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Makes at least `need` bytes available from `start`; false at end of file.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        while self.end < self.start + need {
            if self.exhausted {
                return Ok(false);
            }
            if self.start + need > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if need > self.buf.len() {
                    self.buf.resize(need.next_power_of_two(), 0);
                }
            }
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => self.exhausted = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// What is wrong with a damaged capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Shorter than a file header.
    Empty,
    /// The first four bytes are no pcap or pcapng magic number.
    BadMagic(u32),
    /// The file ends inside a header or record.
    Truncated,
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

struct Found {
    block_len: usize,
    interface: u32,
    link_type: u16,
    ts_sec: i64,
    ts_nsec: u32,
    orig_len: u32,
    data_start: usize,
    data_len: usize,
}

enum Step {
    Packet(Found),
    Skip(usize),
    End,
    Refill(usize),
    ReadError,
    Fail(Problem),
}

fn describe(error: &PcapError<&[u8]>) -> String {
    match error {
        PcapError::NomError(_, kind) => format!("parser rejected a block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("parser rejected a block ({kind:?})"),
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        other => other.to_string(),
    }
}

/// Refills the reader, first growing its buffer when one block needs more room
/// than it has (`capacity` tracks the size, which the trait does not expose).
fn refill<P: PcapReaderIterator + ?Sized>(
    reader: &mut P,
    capacity: &mut usize,
    needed: usize,
) -> io::Result<()> {
    if needed + 64 > *capacity {
        let grown = (needed + 64).next_power_of_two();
        if reader.grow(grown) {
            *capacity = grown;
        }
    }
    reader.refill().map_err(|_| io::Error::other("read failed"))
}

/// The total length a pcapng block at the start of `data` declares (either byte
/// order: the smaller reading is the plausible one).
/// Whether the next pcapng block declares at least the 12 bytes of its type and
/// two length fields; tracks the section's byte order from each section header.
fn ng_block_len_plausible(data: &[u8], big_endian: &mut bool) -> bool {
    const SECTION_HEADER: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    if data.len() < 12 {
        return true; // the parser asks for more, or reports the truncation
    }
    if data[..4] == SECTION_HEADER {
        *big_endian = data[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
    }
    let raw = [data[4], data[5], data[6], data[7]];
    let len = if *big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    len >= 12
}

fn block_len_ng(data: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes).min(u32::from_be_bytes(bytes)))
}

fn split_timestamp(units: u64, iface: &Interface) -> (i64, u32) {
    let secs = units / iface.resolution;
    let frac = units % iface.resolution;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as u32;
    (secs as i64 + iface.offset_secs, nanos)
}

/// Writes a pcapng file: one section, interfaces added on the fly, nanosecond
/// timestamps, little-endian (what Linux tcpdump and tshark write on x86).
pub struct PcapNgWriter<W: Write> {
    out: W,
    interfaces: u32,
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes the section header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
        shb.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&shb)?;
        Ok(Self { out, interfaces: 0 })
    }

    /// Describes an interface; returns the id to pass to [`Self::write_packet`].
    pub fn add_interface(&mut self, name: &str, link_type: u16, snaplen: u32) -> io::Result<u32> {
        let mut options = Vec::new();
        push_option(&mut options, 2, name.as_bytes()); // if_name
        push_option(&mut options, 9, &[9]); // if_tsresol: nanoseconds
        options.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        let total = 20 + options.len() as u32;
        let mut idb = Vec::with_capacity(total as usize);
        idb.extend_from_slice(&1u32.to_le_bytes());
        idb.extend_from_slice(&total.to_le_bytes());
        idb.extend_from_slice(&link_type.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&snaplen.to_le_bytes());
        idb.extend_from_slice(&options);
        idb.extend_from_slice(&total.to_le_bytes());
        self.out.write_all(&idb)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one Enhanced Packet Block.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts_sec: i64,
        ts_nsec: u32,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let units = (ts_sec.max(0) as u64) * 1_000_000_000 + u64::from(ts_nsec);
        let padded = data.len().next_multiple_of(4);
        let total = (32 + padded) as u32;
        let mut header = [0u8; 28];
        header[0..4].copy_from_slice(&6u32.to_le_bytes());
        header[4..8].copy_from_slice(&total.to_le_bytes());
        header[8..12].copy_from_slice(&interface.to_le_bytes());
        header[12..16].copy_from_slice(&((units >> 32) as u32).to_le_bytes());
        header[16..20].copy_from_slice(&(units as u32).to_le_bytes());
        header[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        header[24..28].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..padded - data.len()])?;
        self.out.write_all(&total.to_le_bytes())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn push_option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// Writes a classic pcap file in either byte order, with micro- or nanosecond
/// timestamps.
pub struct LegacyPcapWriter<W: Write> {
    out: W,
    big_endian: bool,
    nanosecond: bool,
}

impl<W: Write> LegacyPcapWriter<W> {
    /// Writes the file header.
    pub fn new(
        mut out: W,
        link_type: u16,
        snaplen: u32,
        big_endian: bool,
        nanosecond: bool,
    ) -> io::Result<Self> {
        let magic: u32 = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&u32b(magic));
        header.extend_from_slice(&u16b(2));
        header.extend_from_slice(&u16b(4));
        header.extend_from_slice(&[0; 8]); // thiszone, sigfigs
        header.extend_from_slice(&u32b(snaplen));
        header.extend_from_slice(&u32b(u32::from(link_type)));
        out.write_all(&header)?;
        Ok(Self {
            out,
            big_endian,
            nanosecond,
        })
    }

    /// Writes one record; `data` is what was captured, `orig_len` the wire length.
    pub fn write_packet(
        &mut self,
        ts_sec: u32,
        ts_nsec: u32,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let frac = if self.nanosecond {
            ts_nsec
        } else {
            ts_nsec / 1000
        };
        let mut header = [0u8; 16];
        for (i, v) in [ts_sec, frac, data.len() as u32, orig_len]
            .into_iter()
            .enumerate()
        {
            let bytes = if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            header[i * 4..i * 4 + 4].copy_from_slice(&bytes);
        }
        self.out.write_all(&header)?;
        self.out.write_all(data)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| n.wrapping_add(i as u8)).collect()
    }

    type Row = (u32, u16, i64, u32, u32, Vec<u8>);

    fn read_all(bytes: &[u8]) -> (Vec<Row>, Option<Error>) {
        let mut out = Vec::new();
        let mut reader = match CaptureReader::new(bytes, Path::new("mem.pcap")) {
            Ok(r) => r,
            Err(e) => return (out, Some(e)),
        };
        loop {
            match reader.next_record() {
                Ok(Some(r)) => out.push((
                    r.interface,
                    r.link_type,
                    r.ts_sec,
                    r.ts_nsec,
                    r.orig_len,
                    r.data.to_vec(),
                )),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn classic_pcap_all_byte_orders_and_precisions() {
        for big_endian in [false, true] {
            for nanosecond in [false, true] {
                let mut w = LegacyPcapWriter::new(
                    Vec::new(),
                    linktype::ETHERNET,
                    65535,
                    big_endian,
                    nanosecond,
                )
                .unwrap();
                w.write_packet(1_700_000_000, 123_456_789, 60, &frame(1, 60))
                    .unwrap();
                w.write_packet(1_700_000_001, 5_000, 1500, &frame(2, 100))
                    .unwrap();
                let bytes = w.into_inner().unwrap();
                let (records, err) = read_all(&bytes);
                assert!(err.is_none(), "{err:?}");
                assert_eq!(records.len(), 2);
                let want_ns = if nanosecond { 123_456_789 } else { 123_456_000 };
                assert_eq!(records[0], (0, 1, 1_700_000_000, want_ns, 60, frame(1, 60)));
                assert_eq!(records[1].4, 1500, "orig_len survives snaplen");
                assert_eq!(records[1].5, frame(2, 100));
                let reader = CaptureReader::new(&bytes[..], Path::new("x")).unwrap();
                assert_eq!(
                    reader.format(),
                    FileFormat::Pcap {
                        big_endian,
                        nanosecond
                    }
                );
            }
        }
    }

    #[test]
    fn pcapng_two_interfaces_with_their_link_types() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        let eth = w
            .add_interface("eth0", linktype::ETHERNET, 262_144)
            .unwrap();
        let raw = w.add_interface("tun0", linktype::RAW, 262_144).unwrap();
        w.write_packet(eth, 10, 1, 61, &frame(3, 61)).unwrap();
        w.write_packet(raw, 11, 999_999_999, 40, &frame(4, 40))
            .unwrap();
        w.write_packet(eth, 12, 0, 62, &frame(5, 62)).unwrap();
        let bytes = w.into_inner().unwrap();
        let (records, err) = read_all(&bytes);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], (0, linktype::ETHERNET, 10, 1, 61, frame(3, 61)));
        assert_eq!(
            records[1],
            (1, linktype::RAW, 11, 999_999_999, 40, frame(4, 40))
        );
        assert_eq!(records[2].0, 0);
        let mut reader = CaptureReader::new(&bytes[..], Path::new("x")).unwrap();
        while reader.next_record().unwrap().is_some() {}
        assert_eq!(reader.interfaces()[1].name.as_deref(), Some("tun0"));
    }

    #[test]
    fn records_larger_than_the_buffer_are_read() {
        // A 64 KiB GSO super-frame next to small ones forces refills across blocks.
        let mut w =
            LegacyPcapWriter::new(Vec::new(), linktype::RAW, 262_144, false, false).unwrap();
        for i in 0..50u8 {
            let len = if i % 7 == 0 {
                65_535
            } else {
                1 + usize::from(i) * 31
            };
            w.write_packet(u32::from(i), 0, len as u32, &frame(i, len))
                .unwrap();
        }
        let (records, err) = read_all(&w.into_inner().unwrap());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(records.len(), 50);
        assert!(records[48].5 == frame(48, 1 + 48 * 31));
        assert!(records[49].5 == frame(49, 65_535));
    }

    fn damage(result: Option<Error>) -> (u64, Problem) {
        match result {
            Some(Error::CaptureFileDamaged {
                records, problem, ..
            }) => (records, problem),
            other => panic!("expected damage, got {other:?}"),
        }
    }

    #[test]
    fn wrong_magic_and_empty_files() {
        let (_, err) = read_all(b"GIF89a and more bytes here");
        assert!(matches!(damage(err).1, Problem::BadMagic(0x4749_4638)));
        let (_, err) = read_all(b"\xd4\xc3");
        assert_eq!(damage(err).1, Problem::Empty);
    }

    #[test]
    fn truncated_file_keeps_what_was_read() {
        let mut w =
            LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
        for i in 0..3 {
            w.write_packet(i, 0, 100, &frame(i as u8, 100)).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let (records, err) = read_all(&bytes[..bytes.len() - 30]);
        assert_eq!(records.len(), 2);
        assert_eq!(damage(err), (2, Problem::Truncated));
        // Truncated inside the file header.
        let (_, err) = read_all(&bytes[..10]);
        assert_eq!(damage(err).1, Problem::Truncated);
    }

    #[test]
    fn absurd_record_length_is_damage() {
        let mut w =
            LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
        w.write_packet(1, 0, 60, &frame(0, 60)).unwrap();
        let mut bytes = w.into_inner().unwrap();
        let record = bytes.len();
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
        bytes.extend_from_slice(&0x7fff_fff0u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 64]);
        let (records, err) = read_all(&bytes);
        assert_eq!(records.len(), 1);
        let Some(Error::CaptureFileDamaged {
            offset, problem, ..
        }) = err
        else {
            panic!("expected damage");
        };
        assert_eq!(offset, record as u64);
        assert!(matches!(
            problem,
            Problem::AbsurdLength {
                len: 0x7fff_fff0,
                ..
            }
        ));
    }

    /// All packets via `next_batch`, as (orig_len, bytes), plus the final error.
    fn read_batches(bytes: &[u8]) -> (Vec<(u32, Vec<u8>)>, Option<Error>) {
        let mut reader = CaptureReader::new(bytes, Path::new("mem.pcap")).unwrap();
        let (mut buf, mut entries, mut out) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let result = reader.next_batch(&mut buf, &mut entries);
            for e in &entries {
                out.push((e.orig_len, buf[e.start..e.end].to_vec()));
            }
            match result {
                Err(e) => return (out, Some(e)),
                Ok(()) if entries.is_empty() => return (out, None),
                Ok(()) => {}
            }
        }
    }

    #[test]
    fn batches_hold_the_same_packets_as_records() {
        let mut w = LegacyPcapWriter::new(Vec::new(), linktype::RAW, 262_144, true, false).unwrap();
        let mut ng = PcapNgWriter::new(Vec::new()).unwrap();
        ng.add_interface("a", linktype::RAW, 0).unwrap();
        for i in 0..3000u32 {
            let len = if i % 500 == 7 {
                200_000
            } else {
                (i as usize * 13) % 1600
            };
            let data = frame(i as u8, len);
            w.write_packet(i, 0, len as u32 + 1, &data).unwrap();
            ng.write_packet(0, i64::from(i), 0, len as u32 + 1, &data)
                .unwrap();
        }
        for bytes in [w.into_inner().unwrap(), ng.into_inner().unwrap()] {
            let (records, err) = read_all(&bytes);
            assert!(err.is_none());
            let (batched, err) = read_batches(&bytes);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(batched.len(), records.len());
            assert!(batched
                .iter()
                .zip(&records)
                .all(|(b, r)| b.0 == r.4 && b.1 == r.5));
            // Cut inside the last record: everything before it, then the damage.
            let (batched, err) = read_batches(&bytes[..bytes.len() - 10]);
            assert_eq!(batched.len(), records.len() - 1);
            assert_eq!(damage(err).0, records.len() as u64 - 1);
        }
    }

    #[test]
    fn unsupported_link_types_are_refused() {
        let w = LegacyPcapWriter::new(Vec::new(), 147, 65535, false, false).unwrap();
        let (_, err) = read_all(&w.into_inner().unwrap());
        assert_eq!(damage(err).1, Problem::UnsupportedLinkType(147));
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        w.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
        w.write_packet(0, 1, 0, 60, &frame(0, 60)).unwrap();
        w.add_interface("usb0", 220, 0).unwrap();
        let (records, err) = read_all(&w.into_inner().unwrap());
        assert_eq!(records.len(), 1);
        assert_eq!(damage(err), (1, Problem::UnsupportedLinkType(220)));
    }

    #[test]
    fn pcapng_packet_for_undescribed_interface_is_damage() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        w.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
        w.write_packet(0, 1, 0, 60, &frame(0, 60)).unwrap();
        w.write_packet(3, 1, 0, 60, &frame(0, 60)).unwrap();
        let (records, err) = read_all(&w.into_inner().unwrap());
        assert_eq!(records.len(), 1);
        assert_eq!(damage(err), (1, Problem::UnknownInterface(3)));
    }
}
