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
//! When the program has installed the truncation guard ([`super::sys`]),
//! the file is mapped instead of read: no copy at all, and while a thread
//! classifies one chunk it prefetches the next one it has claimed, so fetching
//! the file from memory overlaps classifying it (a `pread` copy cannot
//! overlap: the core waits for it).
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
use super::sys::Mapping;
use super::MAX_RECORD_LEN;
use crate::error::{Error, Result};

/// Bytes per chunk: one read (or one prefetched stretch of the mapping) that
/// stays in the L2 cache of the core that then checksums it.
pub(crate) const CHUNK_LEN: usize = 256 << 10;

/// A classic pcap file's records, handed out chunk by chunk to any number of
/// threads, each through its own [`Self::cursor`]. A mapped file is read as
/// long as it was when it was opened; a read one, to its end at the time.
pub struct ClassicChunks {
    file: File,
    /// The file mapped, when the guard allows; otherwise chunks are read.
    mapping: Option<Mapping>,
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
    /// Which chunks were classified, for letting their mapped pages go.
    done: Mutex<DoneChunks>,
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
    /// Records of mapped chunks another thread cut, for their owners.
    cut_for_owner: std::collections::BTreeMap<u64, Vec<BatchEntry>>,
}

/// Records what cutting a chunk found, and gives the turn to the next chunk.
fn pass_turn(order: &mut CutOrder, outcome: Result<ChunkEnd>) {
    match outcome {
        Ok(ChunkEnd::More) => {}
        Ok(ChunkEnd::FileEnd) => order.ended = true,
        Err(e) => {
            order.ended = true;
            order.error = Some(e);
        }
    }
    order.chunk += 1;
}

/// Chunks are done with out of order (each thread at its own pace); their
/// mapped pages go in runs of [`RELEASE_RUN`] once every chunk of a run is.
#[derive(Default)]
struct DoneChunks {
    /// Every chunk below this one is done with.
    below: u64,
    /// Chunks done with above `below`.
    beyond: std::collections::BTreeSet<u64>,
    /// Pages below this chunk were let go.
    released_below: u64,
}

/// Chunks whose mapped pages are let go together (4 MiB): each release
/// interrupts the other cores to flush their TLBs, so not one per chunk.
const RELEASE_RUN: u64 = 16;

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
        let mapping = file
            .metadata()
            .ok()
            .and_then(|m| usize::try_from(m.len()).ok())
            .and_then(|len| Mapping::new(&file, len));
        ClassicChunks {
            file,
            mapping,
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
                cut_for_owner: std::collections::BTreeMap::new(),
            }),
            turn: Condvar::new(),
            done: Mutex::new(DoneChunks::default()),
        }
    }

    /// Read with `pread(2)` even where the file could be mapped.
    pub fn unmapped(mut self) -> Self {
        self.mapping = None;
        self
    }

    /// The file is mapped, not read.
    pub fn is_mapped(&self) -> bool {
        self.mapping.is_some()
    }

    /// A thread's cursor over the chunks: each thread that reads takes one.
    pub fn cursor(&self) -> ChunkCursor<'_> {
        ChunkCursor {
            chunks: self,
            next: None,
            handed_out: None,
            buf: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn claim(&self) -> u64 {
        self.next_chunk.fetch_add(1, Ordering::Relaxed)
    }

    fn chunk_offset(&self, chunk: u64) -> u64 {
        self.records_start + chunk * CHUNK_LEN as u64
    }

    /// Where `chunk` lies in the mapping, and how many of its bytes the file
    /// has (fewer than a chunk: the file ends in it).
    fn mapped_chunk<'m>(&self, mapping: &'m Mapping, chunk: u64) -> (Window<'m>, usize) {
        let bytes = mapping.bytes();
        let base = self.chunk_offset(chunk) as usize;
        let len = bytes.len().saturating_sub(base).min(CHUNK_LEN);
        (Window::Mapped { bytes, base }, len)
    }

    /// The file was mapped and shrank while it was read: the pages it lost
    /// read as zeros, so what was read is not the file's (read it again).
    pub fn cut_short(&self) -> bool {
        self.mapping.as_ref().is_some_and(Mapping::cut_short)
    }

    /// The damage or read error that ended reading, once; a file that shrank
    /// under its mapping while it was read ([`Self::cut_short`]) is such an
    /// error too.
    pub fn take_error(&self) -> Option<Error> {
        let error = self.order.lock().ok()?.error.take();
        if self.cut_short() {
            return Some(self.io_error(io::Error::other(
                "the file shrank while it was being read (was it rewritten?); read it again",
            )));
        }
        error
    }

    /// Waits for `chunk`'s turn, cuts the records that start in it from
    /// `window` into `entries`, and passes the turn on. `false`: reading
    /// had already ended. A mapped file's chunks are open to every thread, so
    /// a thread does not wait for the owners of the chunks before its own: it
    /// cuts them itself and leaves their records for their owners.
    fn cut_in_turn(
        &self,
        chunk: u64,
        read: io::Result<usize>,
        window: &mut Window<'_>,
        entries: &mut Vec<BatchEntry>,
    ) -> bool {
        let Ok(mut order) = self.order.lock() else {
            return false;
        };
        loop {
            // Cut by another thread: its records count even if reading ended after it.
            if let Some(cut) = order.cut_for_owner.remove(&chunk) {
                *entries = cut;
                return true;
            }
            if order.ended {
                return false;
            }
            if order.chunk == chunk {
                break;
            }
            match &self.mapping {
                Some(mapping) if order.chunk < chunk => {
                    let theirs = order.chunk;
                    let (mut window, len) = self.mapped_chunk(mapping, theirs);
                    let offset = self.chunk_offset(theirs);
                    let mut cut = Vec::new();
                    let outcome = self.cut(&mut window, len, offset, &mut order, &mut cut);
                    pass_turn(&mut order, outcome);
                    order.cut_for_owner.insert(theirs, cut);
                }
                _ => {
                    order = match self.turn.wait(order) {
                        Ok(order) => order,
                        Err(_) => return false,
                    };
                }
            }
        }
        let offset = self.chunk_offset(chunk);
        let outcome = read
            .map_err(|source| self.io_error(source))
            .and_then(|len| self.cut(window, len, offset, &mut order, entries));
        pass_turn(&mut order, outcome);
        drop(order);
        self.turn.notify_all();
        // On damage, the records cut before it are in `entries` and count.
        true
    }

    /// `chunk` was classified: once a whole run of chunks is, their mapped
    /// pages go, so the process's memory stays flat however large the file.
    fn done_with(&self, chunk: u64) {
        let Some(mapping) = &self.mapping else {
            return;
        };
        let run = {
            let Ok(mut done) = self.done.lock() else {
                return;
            };
            let done = &mut *done;
            done.beyond.insert(chunk);
            while done.beyond.remove(&done.below) {
                done.below += 1;
            }
            if done.below < done.released_below + RELEASE_RUN {
                return;
            }
            let run = (done.released_below, done.below);
            done.released_below = done.below;
            run
        };
        let (from, to) = (self.chunk_offset(run.0), self.chunk_offset(run.1));
        mapping.release(from as usize, to as usize);
    }

    /// Ends reading for everyone (a thread that stops early, e.g. by a panic,
    /// would otherwise leave the others waiting for the chunk it had claimed).
    fn abandon(&self) {
        if let Ok(mut order) = self.order.lock() {
            order.ended = true;
        }
        self.turn.notify_all();
    }

    /// Cuts the records that start in the chunk whose `len` bytes (fewer than a
    /// chunk: the file ends in it) are in `window`, completing the last one
    /// from the next chunk's bytes.
    fn cut(
        &self,
        window: &mut Window<'_>,
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
        let base = window.base();
        let (mut at, mut valid) = (first, len);
        let end = loop {
            let (cut, stop) = cut_records(
                &window.bytes()[base + at..base + valid],
                base + at,
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
            // The last record runs into the next chunk: the rest of it.
            let extra = at + need - valid;
            let got = window
                .extend(&self.file, valid, offset, extra)
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

/// One thread's place in a [`ClassicChunks`]: the chunk it has claimed to
/// read after the current one (which it prefetches), and its buffers.
pub struct ChunkCursor<'a> {
    chunks: &'a ClassicChunks,
    next: Option<u64>,
    /// The chunk handed out last, not yet done with.
    handed_out: Option<u64>,
    buf: Vec<u8>,
    entries: Vec<BatchEntry>,
}

impl ChunkCursor<'_> {
    /// The records that start in the next chunk; `None` once the file was
    /// read to its end or to damage ([`ClassicChunks::take_error`]). A chunk
    /// may hold no record start (a record longer than a chunk): an empty batch.
    pub fn next_batch(&mut self) -> Option<ChunkBatch<'_>> {
        let chunks = self.chunks;
        self.release_handed_out();
        let chunk = self.next.take().unwrap_or_else(|| chunks.claim());
        self.entries.clear();
        let offset = chunks.chunk_offset(chunk);
        match &chunks.mapping {
            Some(mapping) => {
                // Claim the chunk after this one now, so it can be fetched
                // while this one is classified.
                let next = chunks.claim();
                self.next = Some(next);
                let ahead = chunks.chunk_offset(next) as usize;
                mapping.populate(ahead, ahead + CHUNK_LEN);
                let (mut window, len) = chunks.mapped_chunk(mapping, chunk);
                if !chunks.cut_in_turn(chunk, Ok(len), &mut window, &mut self.entries) {
                    return None;
                }
                self.handed_out = Some(chunk);
                let bytes = mapping.bytes();
                Some(ChunkBatch {
                    bytes,
                    entries: &self.entries,
                    prefetch: Some((mapping, ahead, (ahead + CHUNK_LEN).min(bytes.len()))),
                })
            }
            None => {
                // Read before taking the turn: this is the part that runs in
                // parallel. A read error waits for the turn: earlier chunks count.
                let read = read_at(&chunks.file, &mut self.buf, 0, offset, CHUNK_LEN);
                let mut window = Window::Read { buf: &mut self.buf };
                if !chunks.cut_in_turn(chunk, read, &mut window, &mut self.entries) {
                    return None;
                }
                Some(ChunkBatch {
                    bytes: &self.buf,
                    entries: &self.entries,
                    prefetch: None,
                })
            }
        }
    }
}

impl ChunkCursor<'_> {
    /// The chunk handed out last is done with.
    fn release_handed_out(&mut self) {
        if let Some(chunk) = self.handed_out.take() {
            self.chunks.done_with(chunk);
        }
    }
}

impl Drop for ChunkCursor<'_> {
    fn drop(&mut self) {
        self.release_handed_out();
        // A claimed chunk nobody will cut would hold every later turn.
        if self.next.is_some() {
            self.chunks.abandon();
        }
    }
}

/// The records of one chunk, and the bytes they are in.
pub struct ChunkBatch<'a> {
    bytes: &'a [u8],
    entries: &'a [BatchEntry],
    /// The mapping's range to fetch while these packets are classified.
    prefetch: Option<(&'a Mapping, usize, usize)>,
}

impl<'a> ChunkBatch<'a> {
    /// The packets: link type, captured bytes and length on the wire. Each
    /// step also prefetches its share of the next chunk.
    pub fn packets(&self) -> impl Iterator<Item = (u16, &'a [u8], u32)> + '_ {
        let bytes = self.bytes;
        // An equal share of the next chunk's lines per packet, in bytes.
        let (mut ahead, share) = match self.prefetch {
            Some((_, start, end)) if end > start => {
                let lines = (end - start).div_ceil(64);
                (start, 64 * lines.div_ceil(self.entries.len().max(1)))
            }
            _ => (0, 0),
        };
        self.entries.iter().map(move |e| {
            if let Some((mapping, _, end)) = self.prefetch {
                let to = (ahead + share).min(end);
                mapping.prefetch(ahead, to);
                ahead = to;
            }
            (e.link_type, &bytes[e.start..e.end], e.orig_len)
        })
    }
}

/// Where a chunk's bytes are while it is cut: read into a buffer, or mapped.
enum Window<'a> {
    /// `buf[0]` is the chunk's first byte.
    Read { buf: &'a mut Vec<u8> },
    /// `bytes[base]` is the chunk's first byte.
    Mapped { bytes: &'a [u8], base: usize },
}

impl Window<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Window::Read { buf } => buf,
            Window::Mapped { bytes, .. } => bytes,
        }
    }

    fn base(&self) -> usize {
        match self {
            Window::Read { .. } => 0,
            Window::Mapped { base, .. } => *base,
        }
    }

    /// Makes up to `extra` more bytes of the file available after the first
    /// `valid` of the chunk at file `offset`; returns how many, fewer at its end.
    fn extend(
        &mut self,
        file: &File,
        valid: usize,
        offset: u64,
        extra: usize,
    ) -> io::Result<usize> {
        match self {
            Window::Read { buf } => read_at(file, buf, valid, offset + valid as u64, extra),
            Window::Mapped { bytes, base } => {
                Ok(extra.min(bytes.len().saturating_sub(*base + valid)))
            }
        }
    }
}
