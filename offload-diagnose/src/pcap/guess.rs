//! A guess at where the first record of a chunk of a classic pcap file
//! starts, from the chunk's bytes alone.
//!
//! A record's start is only known from the record before it. To walk a chunk
//! without waiting for the chunks before it, the reader guesses: the first
//! offset from which several record headers in a row look like real ones
//! (lengths no record has, a fraction of a second below one second, seconds
//! close to each other). The guess is always checked against where
//! the chunk before really ended ([`super::chunks`]); a payload that happens
//! to look like record headers costs a second walk, never a wrong count.

use super::classic::RecordFormat;
use super::MAX_RECORD_LEN;

/// Headers in a row that must look right before a guess is taken.
const CHAIN: usize = 4;

/// Seconds two records in a row of one capture are at most apart, for a guess.
const DAY: u32 = 86_400;

/// No packet on the wire is this long (IPv6 BIG TCP stops at 512 KiB).
const WIRE_LEN_LIMIT: u32 = 1 << 20;

impl RecordFormat {
    /// The first offset in `chunk` from which [`CHAIN`] record headers in a
    /// row (or as many as the chunk holds) look like real ones.
    pub(super) fn guess_first_record(&self, chunk: &[u8]) -> Option<usize> {
        (0..chunk.len()).find(|&at| self.looks_like_records(chunk, at))
    }

    fn looks_like_records(&self, chunk: &[u8], mut at: usize) -> bool {
        let fraction_limit = if self.nanosecond {
            1_000_000_000
        } else {
            1_000_000
        };
        let mut previous: Option<u32> = None;
        for _ in 0..CHAIN {
            let Some(header) = chunk.get(at..at + self.header_len) else {
                // The chunk ends: as far as can be seen, these are records.
                return previous.is_some();
            };
            let (seconds, fraction) = (self.word(header, 0), self.word(header, 4));
            let (caplen, wire_len) = (self.word(header, 8), self.word(header, 12));
            // A zero length also rules out runs of zero bytes. A header read
            // 4 bytes late reads the captured length as its fraction and the
            // length on the wire as its captured length, equal in a capture
            // that cut nothing short: a fraction equal to the captured length
            // tells it (wrongly, one record in a million: a second walk).
            if caplen == 0
                || caplen > MAX_RECORD_LEN
                || wire_len < caplen
                || wire_len > WIRE_LEN_LIMIT
                || fraction >= fraction_limit
                || fraction == caplen
            {
                return false;
            }
            if previous.is_some_and(|p| p.abs_diff(seconds) > DAY) {
                return false;
            }
            previous = Some(seconds);
            at += self.header_len + caplen as usize;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(format: &RecordFormat, seconds: u32, fraction: u32, caplen: u32) -> Vec<u8> {
        let mut h = Vec::new();
        for word in [seconds, fraction, caplen, caplen] {
            h.extend(if format.big_endian {
                word.to_be_bytes()
            } else {
                word.to_le_bytes()
            });
        }
        h.resize(format.header_len, 0);
        h
    }

    /// `records` records of `len` bytes each (data 0xab), after `skip` bytes
    /// of the record before (zeros).
    fn chunk(format: &RecordFormat, skip: usize, records: usize, len: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; skip];
        for i in 0..records {
            bytes.extend(header(format, 1_700_000_000 + i as u32, 500, len));
            bytes.extend(std::iter::repeat_n(0xab, len as usize));
        }
        bytes
    }

    #[test]
    fn finds_the_first_record_after_the_tail_of_the_one_before() {
        for (big_endian, modified, nanosecond) in [
            (false, false, false),
            (true, false, true),
            (false, true, false),
            (true, true, false),
        ] {
            let format = RecordFormat::new(big_endian, modified, nanosecond);
            for skip in [0, 1, 7, 60, 1500] {
                // Enough records to fill a chunk: a misread header's chain is
                // followed until it goes wrong, as in a real chunk.
                let bytes = chunk(&format, skip, 4_000, 54);
                assert_eq!(
                    format.guess_first_record(&bytes),
                    Some(skip),
                    "{format:?} {skip}"
                );
            }
        }
    }

    #[test]
    fn a_header_read_four_bytes_late_is_not_taken_for_one() {
        // The record before the chunk starts 2 bytes before it: read 4 bytes
        // late, its headers step along the records as real ones do, but their
        // fraction is the captured length; the guess is the next record.
        let format = RecordFormat::new(false, false, false);
        let mut bytes = chunk(&format, 0, 4_000, 54);
        // Frames that start with bytes which, read as a length on the wire,
        // are no longer than a real one.
        for record in 0..4_000 {
            bytes[record * 70 + 16..][..4].copy_from_slice(&100u32.to_le_bytes());
        }
        assert_eq!(format.guess_first_record(&bytes[2..]), Some(70 - 2));
    }

    #[test]
    fn zeros_and_impossible_headers_are_not_records() {
        let format = RecordFormat::new(false, false, false);
        assert_eq!(format.guess_first_record(&[0u8; 4096]), None);
        // A header with a length over the limit, a fraction of a second over
        // one second, a captured length longer than the wire's, or seconds a
        // year after the record before.
        let records = |first: Vec<u8>| {
            let mut bytes = first;
            bytes.extend([0u8; 8]);
            bytes.extend(chunk(&format, 0, 4, 8));
            bytes
        };
        let mut longer_than_wire = header(&format, 1, 1, 8);
        longer_than_wire[12..16].copy_from_slice(&7u32.to_le_bytes());
        for first in [
            header(&format, 1, 1, MAX_RECORD_LEN + 1),
            header(&format, 1, 1_000_000, 8),
            longer_than_wire,
            header(&format, 1_700_000_000 + 365 * DAY, 0, 8),
        ] {
            assert!(
                !format.looks_like_records(&records(first.clone()), 0),
                "{first:02x?}"
            );
        }
        assert!(format.looks_like_records(&records(header(&format, 1_700_000_000, 1, 8)), 0));
        // In nanoseconds, 999,999,999 is a fraction of a second.
        let nano = RecordFormat::new(false, false, true);
        let mut late = chunk(&nano, 0, 4_000, 20);
        late[4..8].copy_from_slice(&999_999_999u32.to_le_bytes());
        assert_eq!(nano.guess_first_record(&late), Some(0));
    }
}
