//! A classic pcap file read by several threads at once gives exactly what
//! reading it front to back gives: the same counts and flows, and on damage
//! the same error (offset, packets before it, problem). The files have records
//! across every chunk boundary, records longer than a chunk, both byte orders
//! and the 24-byte "modified" record header, and are cut or damaged around
//! the chunk boundaries.

use std::path::{Path, PathBuf};

use offload_testkit::synth::{ethernet_frame, Fill, Spec};

use super::{diagnose_chunks, diagnose_classic, diagnose_in_turn, Diagnosis, Source};
use crate::pcap::{
    install_truncation_guard, CaptureReader, ClassicChunks, LegacyPcapWriter, MAX_RECORD_LEN,
};

/// Chunk boundaries fall at these file offsets (after the 24-byte file header).
fn boundary(k: usize) -> usize {
    24 + k * crate::pcap::chunks::CHUNK_LEN
}

/// The frames of the test file: mostly small packets of every verdict, and
/// a few records as long as a classic pcap record may be, one of which starts
/// just before the first chunk boundary.
fn frames() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..9_000u32 {
        let fill = match i % 10 {
            0..=6 => Fill::Correct,
            7 | 8 => Fill::OffloadPending,
            _ => Fill::Corrupt,
        };
        let spec = Spec {
            protocol: if i % 3 == 0 { 17 } else { 6 },
            payload: (random() % 200) as usize,
            fill,
            flow: (i % 7) as u16,
            ..Spec::default()
        };
        frames.push(ethernet_frame(&spec));
        if matches!(i, 1_100 | 4_000 | 4_001 | 7_000) {
            // Longer than a chunk with its header: it reaches into the chunk after next.
            let mut long = ethernet_frame(&Spec::default());
            long.resize(MAX_RECORD_LEN as usize, 0);
            frames.push(long);
        }
    }
    frames
}

/// A classic pcap file of `frames`.
fn pcap(frames: &[Vec<u8>], big_endian: bool, modified: bool) -> Vec<u8> {
    let (ethernet, snaplen) = (1, MAX_RECORD_LEN);
    let mut w = if modified {
        LegacyPcapWriter::new_modified(Vec::new(), ethernet, snaplen, big_endian)
    } else {
        LegacyPcapWriter::new(Vec::new(), ethernet, snaplen, big_endian, false)
    }
    .unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let len = frame.len() as u32;
        w.write_packet(1_700_000_000 + i as u32, 0, len, frame)
            .unwrap();
    }
    w.into_inner().unwrap()
}

/// The file offsets where records start.
fn record_starts(file: &[u8], big_endian: bool, modified: bool) -> Vec<usize> {
    let header_len = if modified { 24 } else { 16 };
    let mut starts = Vec::new();
    let mut at = 24;
    while at + header_len <= file.len() {
        starts.push(at);
        let b: [u8; 4] = file[at + 8..at + 12].try_into().unwrap();
        let caplen = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        at += header_len + caplen as usize;
    }
    starts
}

/// The file at `path` split into chunks, mapped or read.
fn chunks(path: &Path, mapped: bool) -> ClassicChunks {
    install_truncation_guard().unwrap();
    let chunks = match CaptureReader::open(path).unwrap().into_chunks() {
        Ok(chunks) => chunks,
        Err(_) => panic!("{} is read in turn, not in chunks", path.display()),
    };
    let chunks = if mapped { chunks } else { chunks.unmapped() };
    assert_eq!(chunks.is_mapped(), mapped);
    chunks
}

/// The summary as JSON and the error as text.
fn outcome(path: &Path, (diagnosis, error): (Diagnosis, Option<crate::Error>)) -> (String, String) {
    let summary = diagnosis.summary(Source::files(&[path]));
    (
        serde_json::to_string(&summary).unwrap(),
        format!("{error:?}"),
    )
}

/// The three readings of the file at `path` (mapped and read in chunks on
/// `threads` threads, and in turn on one), which must agree.
fn both(path: &Path, threads: usize) -> (String, String) {
    let in_turn = outcome(
        path,
        diagnose_in_turn(CaptureReader::open(path).unwrap(), 1),
    );
    for mapped in [false, true] {
        let chunked = outcome(path, diagnose_chunks(&chunks(path, mapped), threads));
        assert_eq!(
            chunked,
            in_turn,
            "{} on {threads} threads, mapped: {mapped}",
            path.display()
        );
    }
    in_turn
}

/// The file at `path` read in chunks, mapped or read, walked on this thread
/// in the order given (every chunk but the first from a guess, then).
fn walked_in_order(path: &Path, mapped: bool, order: &[u64]) -> (String, String) {
    let chunks = chunks(path, mapped);
    let run = chunks.run::<Diagnosis>();
    run.work_on(order.iter().copied());
    outcome(path, run.finish())
}

/// How many chunks the file at `path` has, and one more (past its end).
fn chunk_count(path: &Path) -> u64 {
    let len = std::fs::metadata(path).unwrap().len() as usize;
    (len - 24).div_ceil(crate::pcap::chunks::CHUNK_LEN) as u64 + 1
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        Scratch(std::env::temp_dir().join(format!("chunks-{name}-{}.pcap", std::process::id())))
    }

    fn write(&self, bytes: &[u8]) -> &Path {
        std::fs::write(&self.0, bytes).unwrap();
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn whole_files_read_alike_in_every_byte_order_and_header_format() {
    let frames = frames();
    let scratch = Scratch::new("whole");
    for big_endian in [false, true] {
        for modified in [false, true] {
            let file = pcap(&frames, big_endian, modified);
            assert!(file.len() > boundary(6), "the file spans several chunks");
            let path = scratch.write(&file);
            for threads in [1, 2, 3] {
                let (json, error) = both(path, threads);
                assert_eq!(error, "None");
                assert!(
                    json.contains(&format!("\"packets\":{}", frames.len())),
                    "{json}"
                );
            }
        }
    }
}

#[test]
fn a_file_cut_anywhere_near_a_chunk_boundary_reads_alike() {
    let frames = frames();
    let file = pcap(&frames, false, false);
    let scratch = Scratch::new("cut");
    let mut cuts: Vec<usize> = Vec::new();
    for k in [1, 2] {
        cuts.extend(boundary(k) - 20..boundary(k) + 20);
    }
    // Inside the file header, the first record header, and a long record.
    cuts.extend([10, 24, 30, 24 + 16, boundary(4) + 1_000, file.len() - 1]);
    let starts = record_starts(&file, false, false);
    for &start in starts.iter().filter(|&&s| s > boundary(3)).take(3) {
        cuts.extend([start, start + 7, start + 16]);
    }
    for cut in cuts {
        let path = scratch.write(&file[..cut]);
        let opened = CaptureReader::open(path);
        if cut < 24 {
            assert!(opened.is_err(), "a {cut}-byte file has no whole header");
            continue;
        }
        both(path, 2);
    }
}

#[test]
fn an_absurd_record_length_anywhere_reads_alike() {
    for (big_endian, modified) in [(false, false), (true, true)] {
        let frames = frames();
        let file = pcap(&frames, big_endian, modified);
        let starts = record_starts(&file, big_endian, modified);
        let scratch = Scratch::new("absurd");
        // The first record, the ones around each of the first boundaries, one inside a chunk.
        let mut damaged_records = vec![0, 1, 2_000];
        for k in [1, 2, 3] {
            let after = starts.iter().position(|&s| s >= boundary(k)).unwrap();
            damaged_records.extend([after - 1, after]);
        }
        for record in damaged_records {
            let mut bad = file.clone();
            let at = starts[record] + 8;
            let absurd = MAX_RECORD_LEN + 1;
            let bytes = if big_endian {
                absurd.to_be_bytes()
            } else {
                absurd.to_le_bytes()
            };
            bad[at..at + 4].copy_from_slice(&bytes);
            let path = scratch.write(&bad);
            let (_, error) = both(path, 2);
            assert!(
                error.contains(&format!("offset: {}", starts[record]))
                    && error.contains("AbsurdLength"),
                "record {record}: {error}"
            );
        }
    }
}

#[test]
fn only_plain_regular_files_are_read_in_chunks() {
    let frames = frames();
    let file = pcap(&frames[..50], false, false);
    let scratch = Scratch::new("kinds");
    let path = scratch.write(&file);
    assert!(CaptureReader::open(path).unwrap().into_chunks().is_ok());
    // gzip: the bytes are not where the file says.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &file).unwrap();
    let path = scratch.write(&gz.finish().unwrap());
    let reader = CaptureReader::open(path).unwrap();
    assert!(reader.into_chunks().is_err());
}

/// Maps the file at `path`, then cuts it to `len` bytes, as a program
/// rewriting it (tcpdump -C/-W reuses its files) would while it is read: the
/// pages past the new end are gone, and touching them raises SIGBUS.
fn mapped_then_cut(path: &Path, len: usize) -> ClassicChunks {
    let chunks = chunks(path, true);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len as u64)
        .unwrap();
    chunks
}

#[test]
fn a_file_that_shrinks_under_its_mapping_is_an_error_not_a_crash() {
    let file = pcap(&frames(), false, false);
    let scratch = Scratch::new("shrink");
    let path = scratch.write(&file);
    let chunks = mapped_then_cut(path, boundary(2) + 100);
    let (_, error) = diagnose_chunks(&chunks, 2);
    let error = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("shrank while it was being read"), "{error}");
}

#[test]
fn a_file_that_shrank_under_its_mapping_is_read_again_as_it_is_now() {
    let file = pcap(&frames(), false, false);
    let scratch = Scratch::new("reread");
    let path = scratch.write(&file);
    let cut = boundary(2) + 100;
    let chunks = mapped_then_cut(path, cut);
    let again = outcome(path, diagnose_classic(chunks, path, 2));
    // The same as reading the shorter file from the start: no zeros counted
    // as packets, and the record cut in two is said to be truncated.
    let now = outcome(
        path,
        diagnose_in_turn(CaptureReader::open(path).unwrap(), 1),
    );
    assert_eq!(again, now);
    assert!(now.1.contains("Truncated"), "{}", now.1);
}

#[test]
fn randomly_damaged_files_read_alike() {
    // Bytes of record headers and data changed at random, often moving every
    // record boundary after them, and the file cut at random.
    let frames = frames();
    let file = pcap(&frames[..4_000], false, false);
    assert!(file.len() > boundary(3));
    let scratch = Scratch::new("random");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let starts = record_starts(&file, false, false);
    for round in 0..40 {
        let mut bad = file.clone();
        for _ in 0..1 + random(3) {
            // Half the time a byte of some record's caplen, else anywhere.
            let at = match random(2) {
                0 => starts[random(starts.len())] + 8 + random(4),
                _ => 24 + random(bad.len() - 24),
            };
            bad[at] = random(256) as u8;
        }
        if round % 2 == 1 {
            bad.truncate(24 + random(file.len() - 24));
        }
        both(scratch.write(&bad), 2);
    }
}

/// Frames whose payloads are classic pcap records (a capture of a capture
/// file being copied): every chunk boundary falls among records that are not
/// the file's, and a guess from the chunk's bytes alone takes them for its own.
fn frames_that_carry_records() -> Vec<Vec<u8>> {
    let mut inner = Vec::new();
    for i in 0..18u32 {
        for word in [1_700_000_000 + i, 1_000, 60, 60] {
            inner.extend(word.to_le_bytes());
        }
        inner.extend([0x11u8; 60]);
    }
    (0..1_200)
        .map(|i| {
            let spec = Spec {
                protocol: 17,
                payload: inner.len() + i % 50,
                flow: (i % 5) as u16,
                ..Spec::default()
            };
            let mut frame = ethernet_frame(&spec);
            // After Ethernet, IPv4 and UDP headers; its checksum is then wrong,
            // which both readings count alike.
            let start = 14 + 20 + 8 + i % 50;
            frame[start..start + inner.len()].copy_from_slice(&inner);
            frame
        })
        .collect()
}

#[test]
fn records_inside_payloads_cost_a_second_walk_not_a_wrong_count() {
    let file = pcap(&frames_that_carry_records(), false, false);
    let chunks_in_file = (file.len() - 24).div_ceil(crate::pcap::chunks::CHUNK_LEN) as u64;
    assert!(chunks_in_file >= 5, "{chunks_in_file}");
    let scratch = Scratch::new("inner");
    let path = scratch.write(&file);
    let in_turn = outcome(
        path,
        diagnose_in_turn(CaptureReader::open(path).unwrap(), 1),
    );
    for mapped in [false, true] {
        // Last chunk first: every chunk but the first is walked from a guess,
        // and taken in only once the first one is.
        let chunks = chunks(path, mapped);
        let run = chunks.run::<Diagnosis>();
        run.work_on((0..=chunks_in_file).rev());
        assert!(
            run.rewalked() > 0,
            "no guess was wrong: the test tests nothing"
        );
        assert_eq!(outcome(path, run.finish()), in_turn, "mapped: {mapped}");
    }
    for threads in 1..=3 {
        both(path, threads);
    }
}

#[test]
fn chunks_walked_in_any_order_read_alike() {
    // Every chunk but the first walked ahead of its turn, in reverse and
    // interleaved; damaged and whole files.
    let frames = frames();
    let whole = pcap(&frames, true, true);
    let mut damaged = whole.clone();
    let starts = record_starts(&whole, true, true);
    let at = starts.iter().find(|&&s| s > boundary(2)).unwrap() + 8;
    damaged[at] = 0xff;
    let scratch = Scratch::new("order");
    for file in [whole, damaged] {
        let path = scratch.write(&file);
        let in_turn = outcome(
            path,
            diagnose_in_turn(CaptureReader::open(path).unwrap(), 1),
        );
        let n = chunk_count(path);
        let interleaved: Vec<u64> = (0..n)
            .filter(|c| c % 2 == 1)
            .chain((0..n).filter(|c| c % 2 == 0))
            .collect();
        for order in [(0..n).rev().collect::<Vec<_>>(), interleaved] {
            for mapped in [false, true] {
                let walked = walked_in_order(path, mapped, &order);
                assert_eq!(walked, in_turn, "{order:?} mapped: {mapped}");
            }
        }
    }
}

#[test]
fn records_no_guess_takes_are_walked_in_their_turn() {
    // Records days apart and records of no bytes look like no capture's: no
    // guess finds them, guessing stops, and each chunk is walked in its turn.
    let mut frames = frames();
    frames.truncate(3_000);
    let mut file = pcap(&frames, false, false);
    for (i, at) in record_starts(&file, false, false).into_iter().enumerate() {
        let seconds = 1_000_000_000u32.wrapping_add(i as u32 * 200_000);
        file[at..at + 4].copy_from_slice(&seconds.to_le_bytes());
    }
    let mut empty = file[..24].to_vec();
    for _ in 0..60_000 {
        empty.extend([0u8; 16]);
    }
    let scratch = Scratch::new("unguessable");
    for file in [file, empty] {
        let path = scratch.write(&file);
        let in_turn = outcome(
            path,
            diagnose_in_turn(CaptureReader::open(path).unwrap(), 1),
        );
        let last_first: Vec<u64> = (0..chunk_count(path)).rev().collect();
        for mapped in [false, true] {
            let walked = walked_in_order(path, mapped, &last_first);
            assert_eq!(walked, in_turn, "mapped: {mapped}");
        }
        for threads in 1..=3 {
            both(path, threads);
        }
    }
}
