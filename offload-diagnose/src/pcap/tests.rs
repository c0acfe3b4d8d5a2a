//! Reading tests: every format the writers produce, and damaged files.

use std::path::Path;

use super::*;
use crate::error::Error;

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
    let mut w = LegacyPcapWriter::new(Vec::new(), linktype::RAW, 262_144, false, false).unwrap();
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
    let mut w = LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
    for i in 0..3 {
        w.write_packet(i, 0, 100, &frame(i as u8, 100)).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let (records, err) = read_all(&bytes[..bytes.len() - 30]);
    assert_eq!(records.len(), 2);
    assert_eq!(damage(err), (2, Problem::Truncated));
    // Truncated inside the file header: said so, not "inside a record".
    let (_, err) = read_all(&bytes[..10]);
    assert_eq!(damage(err).1, Problem::TruncatedFileHeader);
}

#[test]
fn huge_timestamp_offset_saturates() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface("eth0", linktype::ETHERNET, 0).unwrap();
    let mut bytes = w.into_inner().unwrap();
    // A second interface with if_tsoffset (option 14) near i64::MAX.
    let mut idb = Vec::new();
    for word in [1u32, 36, u32::from(linktype::ETHERNET), 0] {
        idb.extend_from_slice(&word.to_le_bytes());
    }
    idb.extend_from_slice(&14u16.to_le_bytes());
    idb.extend_from_slice(&8u16.to_le_bytes());
    idb.extend_from_slice(&(i64::MAX - 5).to_le_bytes());
    idb.extend_from_slice(&[0; 4]);
    idb.extend_from_slice(&36u32.to_le_bytes());
    bytes.extend_from_slice(&idb);
    let mut packets = PcapNgWriter::new(Vec::new()).unwrap();
    packets
        .write_packet(1, 1_700_000_000, 0, 60, &frame(1, 60))
        .unwrap();
    packets
        .write_packet(0, 1_700_000_000, 0, 60, &frame(2, 60))
        .unwrap();
    bytes.extend_from_slice(&packets.into_inner().unwrap()[28..]);
    let mut reader = CaptureReader::new(&bytes[..], Path::new("x")).unwrap();
    let first = reader.next_record().unwrap().unwrap();
    assert_eq!(first.ts_sec, i64::MAX);
    assert_eq!(first.time(), None);
    let second = reader.next_record().unwrap().unwrap();
    assert_eq!(second.time(), Some((1_700_000_000, 0)));
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn absurd_record_length_is_damage() {
    let mut w = LegacyPcapWriter::new(Vec::new(), linktype::ETHERNET, 65535, false, false).unwrap();
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
