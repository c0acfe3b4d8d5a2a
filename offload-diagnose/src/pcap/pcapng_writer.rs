//! The pcapng writer behind `offloadctl capture --write`.

use std::io::{self, Write};

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

    /// The underlying writer (to mark packet ends or flush it).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
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
