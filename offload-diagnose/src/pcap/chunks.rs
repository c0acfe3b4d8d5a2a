//! Classic pcap from a regular file, read by several threads at once.
//!
//! Each thread claims the next fixed-size chunk of the file and reads it with
//! `pread(2)` while the others read and classify theirs: the kernel's copy out
//! of the page cache, most of a plain read's cost, runs on every core instead of
//! one at a time. Only cutting a chunk into records is done in file order (a
//! record's start is known once the one before it is cut), and that is a short
//! walk over the record headers. A chunk owns the records that start in it; the
//! last one, which usually runs into the next chunk, is completed with one more
//! `pread`.
//!
//! The verdicts, the damage rules and the reported offsets are those of the
//! sequential reader ([`CaptureReader::next_batch`](super::CaptureReader::next_batch)):
//! what was cut before damage counts, the error names the damaged record's
//! offset and how many packets came before it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use super::classic::{cut_records, Stop};
use super::problem::Problem;
use super::reader::BatchEntry;
use super::MAX_RECORD_LEN;
use crate::error::{Error, Result};

/// Bytes per chunk: one read that stays in the L2 cache of the core that then
/// checksums it (as the sequential reader's buffer).
pub(crate) const CHUNK_LEN: usize = 256 << 10;

/// A classic pcap file's records, handed out chunk by chunk to any number of
/// threads ([`Self::next_batch`]).
pub struct ClassicChunks {
    file: File,
    path: PathBuf,
    /// File offset of the first record (after the file header).
    records_start: u64,
    /// 16, or 24 for the "modified" format.
    header_len: usize,
    big_endian: bool,
    link_type: u16,
    /// The next chunk to claim.
    next_chunk: AtomicU64,
    /// Cutting in file order: whose turn it is and where its records start.
    order: Mutex<CutOrder>,
    turn: Condvar,
}

/// Where cutting stands: chunks are cut one after another, in file order.
struct CutOrder {
    /// The chunk whose turn it is to be cut.
    chunk: u64,
    /// File offset of the first record not yet cut.
    next_record: u64,
    /// Records cut so far.
    records: u64,
    /// The end of the file or damage was met: nothing more is cut.
    ended: bool,
    /// The damage or read error that ended it.
    error: Option<Error>,
}

/// How cutting one chunk ended.
enum ChunkEnd {
    /// Its records run on into the next chunk.
    More,
    /// The file ends here, cleanly.
    FileEnd,
}

impl ClassicChunks {
    pub(super) fn new(
        file: File,
        path: PathBuf,
        records_start: u64,
        header_len: usize,
        big_endian: bool,
        link_type: u16,
    ) -> Self {
        ClassicChunks {
            file,
            path,
            records_start,
            header_len,
            big_endian,
            link_type,
            next_chunk: AtomicU64::new(0),
            order: Mutex::new(CutOrder {
                chunk: 0,
                next_record: records_start,
                records: 0,
                ended: false,
                error: None,
            }),
            turn: Condvar::new(),
        }
    }

    /// Reads the next chunk into `buf` and cuts the records that start in it
    /// into `entries` (their previous contents are dropped). `false`: the file
    /// was read to its end or to damage, and `entries` is empty; the damage is
    /// [`Self::take_error`]'s. A chunk may hold no record start (a record longer
    /// than a chunk): `true` with `entries` empty.
    pub fn next_batch(&self, buf: &mut Vec<u8>, entries: &mut Vec<BatchEntry>) -> bool {
        entries.clear();
        let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        let offset = self.records_start + chunk * CHUNK_LEN as u64;
        // Read before taking the turn: this is the part that runs in parallel.
        // A read error is kept until the turn: the chunks before this one count.
        let read = read_at(&self.file, buf, 0, offset, CHUNK_LEN);
        let Ok(mut order) = self.order.lock() else {
            return false;
        };
        while order.chunk != chunk && !order.ended {
            order = match self.turn.wait(order) {
                Ok(order) => order,
                Err(_) => return false,
            };
        }
        if order.ended {
            return false;
        }
        let outcome = read
            .map_err(|source| self.io_error(source))
            .and_then(|len| self.cut(buf, len, offset, &mut order, entries));
        match outcome {
            Ok(ChunkEnd::More) => {}
            Ok(ChunkEnd::FileEnd) => order.ended = true,
            Err(e) => {
                order.ended = true;
                order.error = Some(e);
            }
        }
        order.chunk += 1;
        drop(order);
        self.turn.notify_all();
        // On damage, the records cut before it are in `entries` and count.
        true
    }

    /// The damage or read error that ended reading, once.
    pub fn take_error(&self) -> Option<Error> {
        self.order.lock().ok()?.error.take()
    }

    /// Cuts the records that start in the chunk read into `buf[..len]` from file
    /// `offset`, completing the last one from the next chunk's bytes.
    fn cut(
        &self,
        buf: &mut Vec<u8>,
        len: usize,
        offset: u64,
        order: &mut CutOrder,
        entries: &mut Vec<BatchEntry>,
    ) -> Result<ChunkEnd> {
        // The file ended inside this chunk, or inside the bytes read after it.
        let mut exhausted = len < CHUNK_LEN;
        // The records before this chunk may reach past all of it.
        let Some(first) = order
            .next_record
            .checked_sub(offset)
            .map(|at| at as usize)
            .filter(|&at| at < len)
        else {
            return Ok(if exhausted {
                ChunkEnd::FileEnd
            } else {
                ChunkEnd::More
            });
        };
        let (mut at, mut valid) = (first, len);
        let end = loop {
            let (cut, stop) = cut_records(
                &buf[at..valid],
                at,
                self.header_len,
                self.big_endian,
                self.link_type,
                entries,
            );
            at += cut;
            if at >= CHUNK_LEN {
                // The next record starts in the next chunk: its turn.
                break ChunkEnd::More;
            }
            let need = match stop {
                Stop::AbsurdLength(claimed) => {
                    let before = order.records + entries.len() as u64;
                    return Err(self.damaged(
                        offset + at as u64,
                        before,
                        Problem::AbsurdLength {
                            len: claimed,
                            limit: MAX_RECORD_LEN,
                        },
                    ));
                }
                Stop::NeedMore(need) => need,
            };
            if exhausted {
                if at == valid {
                    // Every record was whole and the file ends here.
                    break ChunkEnd::FileEnd;
                }
                let before = order.records + entries.len() as u64;
                return Err(self.damaged(offset + at as u64, before, Problem::Truncated));
            }
            // The last record runs into the next chunk: read the rest of it.
            let extra = at + need - valid;
            let got = read_at(&self.file, buf, valid, offset + valid as u64, extra)
                .map_err(|source| self.io_error(source))?;
            valid += got;
            exhausted = got < extra;
        };
        order.records += entries.len() as u64;
        order.next_record = offset + at as u64;
        Ok(end)
    }

    fn damaged(&self, offset: u64, records: u64, problem: Problem) -> Error {
        Error::CaptureFileDamaged {
            path: self.path.clone(),
            offset,
            records,
            problem,
        }
    }

    fn io_error(&self, source: io::Error) -> Error {
        Error::CaptureFileIo {
            path: self.path.clone(),
            source,
        }
    }
}

/// Reads up to `len` bytes at file `offset` into `buf[at..]`, growing `buf`
/// if it is too short (never shrinking it: zeroing a chunk per read would cost
/// as much as the read); returns how many were read, fewer only at the end of
/// the file.
fn read_at(
    file: &File,
    buf: &mut Vec<u8>,
    at: usize,
    offset: u64,
    len: usize,
) -> io::Result<usize> {
    if buf.len() < at + len {
        buf.resize(at + len, 0);
    }
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[at + got..at + len], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
