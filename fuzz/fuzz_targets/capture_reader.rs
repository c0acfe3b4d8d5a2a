//! Any bytes as a capture file: the pcap / pcapng reader either yields records
//! within the buffer or a typed error, never a panic, a hang or a huge allocation.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use offload_diagnose::pcap::CaptureReader;

fuzz_target!(|input: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(Cursor::new(input), Path::new("fuzz.pcap")) else {
        return;
    };
    while let Ok(Some(record)) = reader.next_record() {
        assert!(record.data.len() <= input.len());
    }
});
