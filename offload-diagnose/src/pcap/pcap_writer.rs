//! The classic pcap writer (test and benchmark files, every byte order and
//! precision, and the "modified" record header).

use std::io::{self, Write};

/// Writes a classic pcap file in either byte order, with micro- or nanosecond
/// timestamps.
pub struct LegacyPcapWriter<W: Write> {
    out: W,
    big_endian: bool,
    nanosecond: bool,
    /// Kuznetzov's "modified" format: 8 more bytes per record header.
    modified: bool,
}

impl<W: Write> LegacyPcapWriter<W> {
    /// Writes the file header.
    pub fn new(
        out: W,
        link_type: u16,
        snaplen: u32,
        big_endian: bool,
        nanosecond: bool,
    ) -> io::Result<Self> {
        Self::with_format(out, link_type, snaplen, big_endian, nanosecond, false)
    }

    /// Writes the file header of the "modified" format (microseconds, a
    /// 24-byte record header whose last 8 bytes — interface index, protocol,
    /// packet type — are written as zeros).
    pub fn new_modified(
        out: W,
        link_type: u16,
        snaplen: u32,
        big_endian: bool,
    ) -> io::Result<Self> {
        Self::with_format(out, link_type, snaplen, big_endian, false, true)
    }

    fn with_format(
        mut out: W,
        link_type: u16,
        snaplen: u32,
        big_endian: bool,
        nanosecond: bool,
        modified: bool,
    ) -> io::Result<Self> {
        let magic: u32 = match (modified, nanosecond) {
            (true, _) => 0xa1b2_cd34,
            (false, true) => 0xa1b2_3c4d,
            (false, false) => 0xa1b2_c3d4,
        };
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
            modified,
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
        if self.modified {
            self.out.write_all(&[0; 8])?;
        }
        self.out.write_all(data)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
