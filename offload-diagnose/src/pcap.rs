//! Streaming pcap / pcapng reading (through `pcap-parser`) and pcapng writing.
//!
//! [`CaptureReader`] hands out one [`Record`] at a time, borrowed from a bounded
//! circular buffer, so a file of any size is read in constant memory. It reads
//! classic pcap in both byte orders with micro- or nanosecond timestamps, and pcapng
//! with several sections, several interfaces and a link type per interface.
//!
//! Damaged input is an [`Error`](crate::Error) that says where the damage is (byte offset and the
//! number of records read before it), so callers can still report what they read.
//!
//! [`PcapNgWriter`] writes what `offloadctl capture --write` saves, and
//! [`LegacyPcapWriter`] writes classic pcap (used to generate test and benchmark files).
//!
//! One subject per file: [`reader`] (formats, records, batches), `classic` (the
//! classic pcap record walker), `chunks` (classic pcap read by several threads at once), `guess` (where a
//! chunk's first record starts), `pcapng` (pcapng blocks through `pcap-parser`),
//! [`problem`] (what is wrong with a damaged file), and the two writers.

pub(crate) mod chunks;
mod classic;
mod guess;
mod pcap_writer;
mod pcapng;
mod pcapng_writer;
pub mod problem;
pub mod reader;
pub mod sys;
#[cfg(test)]
mod tests;

/// Link-layer header types (the `LINKTYPE_*` values of pcap and pcapng) we
/// decode: offload-core's list, which its classifier walks.
pub use offload_core::verdict::linktype;

pub use chunks::{ChunkPart, ChunkRun, ClassicChunks};
pub use pcap_writer::LegacyPcapWriter;
pub use pcapng_writer::PcapNgWriter;
pub use problem::Problem;
pub use reader::{BatchEntry, CaptureReader, FileFormat, Interface, Record};
pub use sys::install_truncation_guard;

/// libpcap's largest accepted snapshot length (`MAXIMUM_SNAPLEN`): a classic pcap
/// record longer than this is damage, not a packet.
pub const MAX_RECORD_LEN: u32 = 262_144;

/// libpcap's largest pcapng block (`MAX_BLOCKSIZE`, 16 MiB).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;
