//! pcapng: its many block types go through `pcap-parser`; this file tracks
//! sections and interfaces and turns packet blocks into records.

use std::io::{self, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError};

use super::problem::{describe, Problem};
use super::reader::{CaptureReader, Found, Inner, Interface};
use super::MAX_BLOCK_LEN;
use crate::error::{Error, Result};
use offload_core::verdict::linktype::is_supported;

impl<R: Read> CaptureReader<R> {
    /// Moves to the next packet block of a pcapng file, tracking interfaces.
    pub(super) fn advance_ng(&mut self) -> Result<Option<Found>> {
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
                    let declared = block_len_ng(reader.data(), self.ng_big_endian);
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
}

enum Step {
    Packet(Found),
    Skip(usize),
    End,
    Refill(usize),
    ReadError,
    Fail(Problem),
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

/// The total length a pcapng block at the start of `data` declares, read in the
/// section's byte order (so it is printed as the file's writer meant it).
fn block_len_ng(data: &[u8], big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn split_timestamp(units: u64, iface: &Interface) -> (i64, u32) {
    let secs = units / iface.resolution;
    let frac = units % iface.resolution;
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(iface.resolution)) as u32;
    // A huge `if_tsoffset` (or count of units) saturates: the record's time is
    // then unknown (see `Record::time`), and reading goes on.
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    (secs.saturating_add(iface.offset_secs), nanos)
}
