//! Classic pcap from a regular file, read by several threads at once.
//!
//! Each thread claims the next fixed-size chunk of the file and walks the
//! records that start in it, handing each to its own part of the result
//! ([`ChunkPart`]). A record's start is known only once the record before it
//! is known, so a thread does not wait for the chunks before its own: it
//! guesses where its chunk's first record starts from the bytes alone
//! ([`super::guess`]) and walks from there. The parts are then taken into the
//! total in file order, and each guess is checked against where the chunk
//! before it really ended: a wrong guess (a payload that looks like record
//! headers) only costs walking that chunk again from its true start. Walking
//! and classifying are one pass, so the wait for each record header's bytes
//! overlaps the work on the record before it.
//!
//! When the program has installed the truncation guard ([`super::sys`]), the
//! file is mapped instead of read: no copy at all, and while a thread walks
//! one chunk it prefetches the next one it has claimed, so fetching the file
//! from memory overlaps classifying it (a `pread` copy cannot overlap: the
//! core waits for it).
//!
//! The verdicts, the damage rules and the reported offsets are those of the
//! sequential reader ([`CaptureReader::next_batch`](super::CaptureReader::next_batch)):
//! what was walked before damage counts, the error names the damaged record's
//! offset and how many packets came before it, and nothing after it counts.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use super::classic::RecordFormat;
use super::problem::Problem;
use super::sys::Mapping;
use super::MAX_RECORD_LEN;
use crate::error::Error;

/// Bytes per chunk: one read (or one prefetched stretch of the mapping) that
/// stays in the L2 cache of the core that then checksums it.
pub(crate) const CHUNK_LEN: usize = 256 << 10;

/// What a chunk's records are counted into. Each chunk gets its own (a chunk
/// walked from a wrong guess is thrown away), and the parts are merged into
/// the total in file order.
pub trait ChunkPart: Default + Send {
    /// Counts one record: its link type, captured bytes and length on the wire.
    fn add(&mut self, link_type: u16, frame: &[u8], orig_len: u32);
    /// Takes in the part of a later chunk.
    fn merge(&mut self, later: Self);
}

/// A classic pcap file's records, walked chunk by chunk by any number of
/// threads through one [`ChunkRun`]. A mapped file is read as long as it was
/// when it was opened; a read one, to its end at the time.
pub struct ClassicChunks {
    file: File,
    /// The file mapped, when the guard allows; otherwise chunks are read.
    mapping: Option<Mapping>,
    path: PathBuf,
    /// File offset of the first record (after the file header).
    records_start: u64,
    format: RecordFormat,
    link_type: u16,
}

impl ClassicChunks {
    pub(super) fn new(
        file: File,
        path: PathBuf,
        records_start: u64,
        format: RecordFormat,
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
            format,
            link_type,
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

    /// The file was mapped and shrank while it was read: the pages it lost
    /// read as zeros, so what was read is not the file's (read it again).
    pub fn cut_short(&self) -> bool {
        self.mapping.as_ref().is_some_and(Mapping::cut_short)
    }

    /// One reading of the file into parts of type `P`: every thread that
    /// reads calls [`ChunkRun::work`], then [`ChunkRun::finish`] gives the total.
    pub fn run<P: ChunkPart>(&self) -> ChunkRun<'_, P> {
        ChunkRun {
            chunks: self,
            next_chunk: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            order: Mutex::new(InOrder {
                chunk: 0,
                next_record: self.records_start,
                records: 0,
                ended: false,
                error: None,
                walked: BTreeMap::new(),
                total: P::default(),
            }),
            done: Mutex::new(DoneChunks::default()),
            rewalked: AtomicU64::new(0),
            guesses: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        }
    }

    fn chunk_offset(&self, chunk: u64) -> u64 {
        self.records_start + chunk * CHUNK_LEN as u64
    }

    /// Walks the records that start in the chunk at file `offset` from the
    /// one at file offset `start` (not before `offset`), whose `valid` bytes
    /// (fewer than a chunk: the file ends in it) are in `window`, adding each
    /// to a new part; completes the last one from the bytes after the chunk. While
    /// it walks, it prefetches the chunk at `ahead` in the mapping as far into
    /// it as the walk has come into this one.
    #[inline(always)]
    fn walk<P: ChunkPart>(
        &self,
        offset: u64,
        start: u64,
        window: &mut Window<'_>,
        valid: usize,
        ahead: Option<(&Mapping, usize)>,
    ) -> Walked<P> {
        let mut part = P::default();
        let header_len = self.format.header_len;
        let mut at = start.saturating_sub(offset) as usize;
        let (mut valid, mut exhausted) = (valid, valid < CHUNK_LEN);
        let (mut records, mut fetched) = (0u64, 0usize);
        let end = loop {
            if at >= CHUNK_LEN {
                // The next record starts in a later chunk.
                break WalkEnd::Next(offset + at as u64);
            }
            let base = window.base();
            let need = match self
                .format
                .lengths(&window.bytes()[base + at..base + valid])
            {
                None => header_len,
                Some((caplen, _)) if caplen > MAX_RECORD_LEN => {
                    let problem = Problem::AbsurdLength {
                        len: caplen,
                        limit: MAX_RECORD_LEN,
                    };
                    break WalkEnd::Damaged(offset + at as u64, problem);
                }
                Some((caplen, orig_len)) => {
                    let record_len = header_len + caplen as usize;
                    if at + record_len <= valid {
                        let base = base + at;
                        let frame = &window.bytes()[base + header_len..base + record_len];
                        part.add(self.link_type, frame, orig_len);
                        records += 1;
                        at += record_len;
                        if let Some((mapping, ahead)) = ahead {
                            let to = at.min(CHUNK_LEN);
                            mapping.prefetch(ahead + fetched, ahead + to);
                            fetched = to;
                        }
                        continue;
                    }
                    record_len
                }
            };
            // The record (or its header) runs past the bytes at hand.
            if exhausted {
                break if at == valid {
                    WalkEnd::FileEnd
                } else {
                    WalkEnd::Damaged(offset + at as u64, Problem::Truncated)
                };
            }
            let extra = at + need - valid;
            match window.extend(&self.file, valid, offset, extra) {
                Ok(got) => {
                    valid += got;
                    exhausted = got < extra;
                }
                Err(e) => break WalkEnd::Io(e),
            }
        };
        Walked {
            start: Some(start),
            end,
            records,
            part,
        }
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

/// One reading of a [`ClassicChunks`] by several threads.
pub struct ChunkRun<'a, P> {
    chunks: &'a ClassicChunks,
    /// The next chunk to claim.
    next_chunk: AtomicU64,
    /// The end of the file or damage was taken into the total: claim no more.
    ended: AtomicBool,
    order: Mutex<InOrder<P>>,
    /// Which chunks were walked, for letting their mapped pages go.
    done: Mutex<DoneChunks>,
    /// Chunks walked again because their guessed start was wrong.
    rewalked: AtomicU64,
    /// Starts guessed, and guesses that found no start or a wrong one.
    guesses: AtomicU64,
    missed: AtomicU64,
}

/// Guesses that may miss before guessing stops paying: once more than this
/// many, and more than a quarter of all, missed, chunks are no longer guessed
/// (a file whose records look like no real capture's) and each is walked in
/// its turn instead, as a reader in turn would.
const MISSES_ALLOWED: u64 = 8;

/// The total so far: every chunk before `chunk` is in it, in file order.
struct InOrder<P> {
    /// The next chunk to take in.
    chunk: u64,
    /// File offset of its first record: where the chunk before it ended.
    next_record: u64,
    /// Records taken in so far.
    records: u64,
    /// The end of the file or damage was met: nothing more is taken in.
    ended: bool,
    /// The damage or read error that ended it.
    error: Option<Error>,
    /// Chunks walked ahead of their turn.
    walked: BTreeMap<u64, Box<Walked<P>>>,
    total: P,
}

/// A chunk walked from a start that was known or guessed.
struct Walked<P> {
    /// Where its walk started; `None`: no start could be guessed.
    start: Option<u64>,
    end: WalkEnd,
    /// Records walked (before the damage, if any).
    records: u64,
    part: P,
}

impl<P: Default> Walked<P> {
    /// No record walked: from `start`, the walk ended at once with `end`.
    fn nothing(start: Option<u64>, end: WalkEnd) -> Self {
        Walked {
            start,
            end,
            records: 0,
            part: P::default(),
        }
    }
}

/// How a chunk's walk ended.
enum WalkEnd {
    /// The next record starts at this file offset, in a later chunk.
    Next(u64),
    /// The file ends after the last record, cleanly.
    FileEnd,
    /// The record at this file offset is damaged.
    Damaged(u64, Problem),
    /// Reading failed.
    Io(io::Error),
}

/// Chunks are walked out of order (each thread at its own pace); their
/// mapped pages go in runs of [`RELEASE_RUN`] once every chunk of a run was
/// walked, whatever is still being walked before it (a thread that races
/// ahead of a slow one does not pile up pages).
#[derive(Default)]
struct DoneChunks {
    /// Chunks walked so far in each run not yet let go.
    walked_in_run: BTreeMap<u64, u64>,
}

/// Chunks whose mapped pages are let go together (4 MiB): each release
/// interrupts the other cores to flush their TLBs, so not one per chunk.
const RELEASE_RUN: u64 = 16;

impl<P: ChunkPart> ChunkRun<'_, P> {
    /// One thread's share: claims chunks and walks them until the file (or
    /// its damage) is reached. Never waits for another thread.
    pub fn work(&self) {
        let mut buf = Vec::new();
        let mut next = None;
        while !self.ended.load(Ordering::Relaxed) {
            let chunk = next.take().unwrap_or_else(|| self.claim());
            // A mapped file's next chunk is claimed now, so that it is fetched
            // while this one is walked.
            next = self.chunks.mapping.as_ref().map(|_| self.claim());
            if !self.walk_chunk(chunk, next, &mut buf) {
                break;
            }
        }
    }

    /// Walks the chunks in the order given, on this thread (a test's way to
    /// make every chunk but the first be walked from a guess).
    #[cfg(test)]
    pub(crate) fn work_on(&self, chunks: impl IntoIterator<Item = u64>) {
        let mut buf = Vec::new();
        for chunk in chunks {
            self.walk_chunk(chunk, None, &mut buf);
        }
    }

    /// Walks `chunk`, prefetching the mapped chunk `ahead` meanwhile, and
    /// takes it into the total; `false`: it is past the end of the file.
    fn walk_chunk(&self, chunk: u64, ahead: Option<u64>, buf: &mut Vec<u8>) -> bool {
        let chunks = self.chunks;
        let offset = chunks.chunk_offset(chunk);
        let walked = match &chunks.mapping {
            Some(mapping) => {
                let Some(valid) = mapped_len(mapping, offset) else {
                    return false;
                };
                let ahead = ahead.map(|after| {
                    let ahead = chunks.chunk_offset(after) as usize;
                    mapping.populate(ahead, ahead + CHUNK_LEN);
                    (mapping, ahead)
                });
                let mut window = Window::Mapped {
                    bytes: mapping.bytes(),
                    base: offset as usize,
                };
                self.walk_from_best_start(chunk, &mut window, valid, ahead)
            }
            None => match read_at(&chunks.file, buf, 0, offset, CHUNK_LEN) {
                Ok(0) => return false,
                Ok(valid) => {
                    let mut window = Window::Read { buf };
                    self.walk_from_best_start(chunk, &mut window, valid, None)
                }
                Err(e) => Walked::nothing(None, WalkEnd::Io(e)),
            },
        };
        self.done_with(chunk);
        self.take_in(chunk, walked, buf);
        true
    }

    /// The total and the damage or read error that ended reading, if any; a
    /// file that shrank under its mapping while it was read
    /// ([`ClassicChunks::cut_short`]) is such an error too.
    pub fn finish(self) -> (P, Option<Error>) {
        let order = self
            .order
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let error = if self.chunks.cut_short() {
            Some(self.chunks.io_error(io::Error::other(
                "the file shrank while it was being read (was it rewritten?); read it again",
            )))
        } else {
            order.error
        };
        (order.total, error)
    }

    /// How many chunks were walked twice because their start was guessed wrong.
    pub fn rewalked(&self) -> u64 {
        self.rewalked.load(Ordering::Relaxed)
    }

    fn claim(&self) -> u64 {
        self.next_chunk.fetch_add(1, Ordering::Relaxed)
    }

    /// Walks `chunk` from its first record: known when every chunk before it
    /// is in the total, else guessed from its bytes.
    #[inline(always)]
    fn walk_from_best_start(
        &self,
        chunk: u64,
        window: &mut Window<'_>,
        valid: usize,
        ahead: Option<(&Mapping, usize)>,
    ) -> Walked<P> {
        let chunks = self.chunks;
        let offset = chunks.chunk_offset(chunk);
        let known = match self.order.lock() {
            Ok(order) if order.chunk == chunk => Some(order.next_record),
            _ => None,
        };
        let start = known.or_else(|| {
            let missed = self.missed.load(Ordering::Relaxed);
            let guesses = self.guesses.fetch_add(1, Ordering::Relaxed);
            if missed > MISSES_ALLOWED && missed * 4 > guesses {
                return None;
            }
            let bytes = &window.bytes()[window.base()..window.base() + valid];
            let guess = chunks.format.guess_first_record(bytes);
            if guess.is_none() {
                self.missed.fetch_add(1, Ordering::Relaxed);
            }
            guess.map(|at| offset + at as u64)
        });
        match start {
            Some(start) => chunks.walk(offset, start, window, valid, ahead),
            // Walked in its turn instead ([`Self::take_in`]).
            None => Walked::nothing(None, WalkEnd::FileEnd),
        }
    }

    /// Takes `walked` (chunk `chunk`) into the total once every chunk before
    /// it is, with every chunk walked ahead that can follow it. A chunk whose
    /// walk did not start where the chunk before it really ended is walked
    /// again from there first (in `buf` when the file is read, not mapped).
    fn take_in(&self, chunk: u64, walked: Walked<P>, buf: &mut Vec<u8>) {
        let Ok(mut order) = self.order.lock() else {
            return;
        };
        if order.ended {
            return;
        }
        let order = &mut *order;
        // Its turn: taken in at once; else it waits, boxed (moving a whole
        // part each time the map shifts its entries showed in profiles).
        let mut first = if chunk == order.chunk {
            Some(walked)
        } else {
            order.walked.insert(chunk, Box::new(walked));
            None
        };
        loop {
            let walked = match first.take() {
                Some(walked) => walked,
                None => match order.walked.remove(&order.chunk) {
                    Some(walked) => *walked,
                    None => break,
                },
            };
            let walked = if walked.start == Some(order.next_record) {
                walked
            } else {
                self.walk_again(order.chunk, order.next_record, buf)
            };
            order.total.merge(walked.part);
            order.records += walked.records;
            match walked.end {
                WalkEnd::Next(next) => order.next_record = next,
                WalkEnd::FileEnd => order.ended = true,
                WalkEnd::Damaged(offset, problem) => {
                    order.ended = true;
                    order.error = Some(self.chunks.damaged(offset, order.records, problem));
                }
                WalkEnd::Io(e) => {
                    order.ended = true;
                    order.error = Some(self.chunks.io_error(e));
                }
            }
            order.chunk += 1;
            if order.ended {
                self.ended.store(true, Ordering::Relaxed);
                order.walked.clear();
                break;
            }
        }
    }

    /// Walks `chunk` from its true first record, `start`.
    fn walk_again(&self, chunk: u64, start: u64, buf: &mut Vec<u8>) -> Walked<P> {
        let chunks = self.chunks;
        let offset = chunks.chunk_offset(chunk);
        if start >= offset + CHUNK_LEN as u64 {
            // A record before it runs over the whole chunk: none starts in it.
            return Walked::nothing(Some(start), WalkEnd::Next(start));
        }
        self.rewalked.fetch_add(1, Ordering::Relaxed);
        self.missed.fetch_add(1, Ordering::Relaxed);
        match &chunks.mapping {
            Some(mapping) => {
                let valid = mapped_len(mapping, offset).unwrap_or(0);
                let mut window = Window::Mapped {
                    bytes: mapping.bytes(),
                    base: offset as usize,
                };
                let walked = chunks.walk(offset, start, &mut window, valid, None);
                // Its pages were let go once already; the walk faulted them back.
                mapping.release(offset as usize, offset as usize + CHUNK_LEN);
                walked
            }
            None => match read_at(&chunks.file, buf, 0, offset, CHUNK_LEN) {
                Ok(valid) => {
                    let mut window = Window::Read { buf };
                    chunks.walk(offset, start, &mut window, valid, None)
                }
                Err(e) => Walked::nothing(Some(start), WalkEnd::Io(e)),
            },
        }
    }

    /// `chunk` was walked: once a whole run of chunks is, their mapped pages
    /// go, so the process's memory stays flat however large the file.
    fn done_with(&self, chunk: u64) {
        let Some(mapping) = &self.chunks.mapping else {
            return;
        };
        let run = chunk / RELEASE_RUN;
        {
            let Ok(mut done) = self.done.lock() else {
                return;
            };
            let walked = done.walked_in_run.entry(run).or_insert(0);
            *walked += 1;
            if *walked < RELEASE_RUN {
                return;
            }
            done.walked_in_run.remove(&run);
        }
        let from = self.chunks.chunk_offset(run * RELEASE_RUN) as usize;
        let to = self.chunks.chunk_offset((run + 1) * RELEASE_RUN) as usize;
        mapping.release(from, to);
    }
}

/// How many bytes of the chunk at file `offset` the mapping has (fewer than a
/// chunk: the file ends in it); `None` past the end of the file (where the
/// chunk before ended says whether the file ended cleanly).
fn mapped_len(mapping: &Mapping, offset: u64) -> Option<usize> {
    let len = mapping.bytes().len() as u64;
    (offset < len).then(|| (len - offset).min(CHUNK_LEN as u64) as usize)
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

/// Where a chunk's bytes are while it is walked: read into a buffer, or mapped.
enum Window<'a> {
    /// `buf[0]` is the chunk's first byte.
    Read { buf: &'a mut Vec<u8> },
    /// `bytes[base]` is the chunk's first byte.
    Mapped { bytes: &'a [u8], base: usize },
}

impl Window<'_> {
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        match self {
            Window::Read { buf } => buf,
            Window::Mapped { bytes, .. } => bytes,
        }
    }

    #[inline(always)]
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
