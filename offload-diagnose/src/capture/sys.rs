//! The unsafe part of live capture: an AF_PACKET socket with a memory-mapped
//! TPACKET_V3 receive ring, and a raw AF_PACKET send (used to inject test frames).
//!
//! The ring is a sequence of blocks; the kernel fills a block with packets, each
//! behind a `tpacket3_hdr` whose `tp_status` carries `TP_STATUS_CSUMNOTREADY` /
//! `TP_STATUS_CSUM_VALID`, then hands the block to us by setting
//! `TP_STATUS_USER` in the block header. We give it back by writing
//! `TP_STATUS_KERNEL`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Ring geometry: 8 blocks of 1 MiB. A block holds any GSO super-frame (64 KiB),
/// and 8 MiB absorbs bursts while the consumer thread classifies.
const BLOCK_SIZE: u32 = 1 << 20;
const BLOCK_COUNT: u32 = 8;
const FRAME_SIZE: u32 = 2048;
/// `TPACKET_ALIGNMENT`: where the sockaddr_ll after a packet header starts.
const TPACKET_ALIGNMENT: usize = 16;
/// A partly filled block is handed over after this many ms, so a quiet link
/// still shows up in the live status line.
const BLOCK_TIMEOUT_MS: u32 = 100;

/// `ETH_P_ALL` in network byte order, as `socket()` and `sockaddr_ll` want it.
fn eth_p_all_be() -> u16 {
    (libc::ETH_P_ALL as u16).to_be()
}

/// What the kernel says about one captured packet.
#[derive(Debug, Clone, Copy)]
pub struct RingPacket<'a> {
    /// `tp_status` bits (`TP_STATUS_*`).
    pub status: u32,
    /// Seconds of the capture timestamp.
    pub sec: u32,
    /// Nanoseconds of the capture timestamp.
    pub nsec: u32,
    /// Length on the wire (`tp_len`).
    pub wire_len: u32,
    /// The interface it was seen on (`sll_ifindex`).
    pub ifindex: i32,
    /// That interface's `ARPHRD_*` type (`sll_hatype`).
    pub hardware_type: u16,
    /// Sent by this host (`sll_pkttype` is `PACKET_OUTGOING`), not received.
    pub outgoing: bool,
    /// The captured bytes, starting at the link-layer header.
    pub data: &'a [u8],
}

/// An AF_PACKET socket bound to one interface with a TPACKET_V3 ring mapped.
pub struct Ring {
    fd: OwnedFd,
    map: NonNull<u8>,
    map_len: usize,
    next_block: u32,
    hardware_type: u16,
}

// SAFETY: the mapping is owned by this value alone (no aliasing handles), and the
// kernel side synchronises through the block status words we access atomically.
unsafe impl Send for Ring {}

fn last_error(op: &'static str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), OpError { op, source: e })
}

/// An `io::Error` payload naming the failed call, keeping errno reachable.
#[derive(Debug)]
pub struct OpError {
    /// The system call or socket option that failed.
    pub op: &'static str,
    /// The OS error right after the call.
    pub source: io::Error,
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.op, self.source)
    }
}

impl std::error::Error for OpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn packet_socket(protocol: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call with constant arguments; the returned fd is
    // checked and immediately owned.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(protocol),
        )
    };
    if fd < 0 {
        return Err(last_error("socket(AF_PACKET)"));
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_option<T>(fd: &OwnedFd, name: libc::c_int, value: &T, op: &'static str) -> io::Result<()> {
    // SAFETY: `value` points to a live T of the size we pass; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(last_error(op))
    } else {
        Ok(())
    }
}

fn link_address(ifindex: i32, protocol: u16) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol;
    addr.sll_ifindex = ifindex;
    addr
}

impl Ring {
    /// Opens the socket in the calling thread's network namespace and binds it to
    /// `ifindex` (0: every interface).
    pub fn open(ifindex: i32) -> io::Result<Ring> {
        let fd = packet_socket(eth_p_all_be())?;
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_option(
            &fd,
            libc::PACKET_VERSION,
            &version,
            "setsockopt(PACKET_VERSION)",
        )?;
        let request = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE,
            tp_block_nr: BLOCK_COUNT,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: BLOCK_SIZE / FRAME_SIZE * BLOCK_COUNT,
            tp_retire_blk_tov: BLOCK_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_option(
            &fd,
            libc::PACKET_RX_RING,
            &request,
            "setsockopt(PACKET_RX_RING)",
        )?;
        let map_len = (BLOCK_SIZE * BLOCK_COUNT) as usize;
        // SAFETY: maps the ring the kernel just allocated for this fd; length and
        // flags are what packet_mmap requires. The result is checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd.as_raw_fd(),
                0,
            )
        };
        let map = if map == libc::MAP_FAILED {
            // MAP_LOCKED fails under a low RLIMIT_MEMLOCK; an unlocked ring works too.
            // SAFETY: as above, without MAP_LOCKED.
            let retry = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if retry == libc::MAP_FAILED {
                return Err(last_error("mmap(PACKET_RX_RING)"));
            }
            retry
        } else {
            map
        };
        let map = NonNull::new(map.cast::<u8>()).ok_or_else(|| last_error("mmap"))?;
        // From here on, Drop unmaps.
        let mut ring = Ring {
            fd,
            map,
            map_len,
            next_block: 0,
            hardware_type: 0,
        };
        let addr = link_address(ifindex, eth_p_all_be());
        // SAFETY: addr is a valid sockaddr_ll and we pass its exact size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(last_error("bind(AF_PACKET)"));
        }
        // SAFETY: as for link_address.
        let mut bound: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: bound/len describe a writable sockaddr_ll buffer of `len` bytes.
        let rc = unsafe {
            libc::getsockname(
                ring.fd.as_raw_fd(),
                (&mut bound as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(last_error("getsockname(AF_PACKET)"));
        }
        ring.hardware_type = bound.sll_hatype;
        Ok(ring)
    }

    /// The interface's `ARPHRD_*` type (1: Ethernet, 772: loopback, 65534: none).
    pub fn hardware_type(&self) -> u16 {
        self.hardware_type
    }

    /// Waits up to `timeout_ms` for a block to become ready; `Ok(false)` on timeout
    /// or when a signal interrupted the wait.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        if self.block_ready(self.next_block) {
            return Ok(true);
        }
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(io::Error::new(
                e.kind(),
                OpError {
                    op: "poll",
                    source: e,
                },
            ));
        }
        Ok(self.block_ready(self.next_block))
    }

    fn block_status(&self, block: u32) -> &AtomicU32 {
        let offset = (block * BLOCK_SIZE) as usize;
        // SAFETY: `block < BLOCK_COUNT`, so the block descriptor lies inside the
        // mapping; `block_status` is the first u32 of `hdr.bh1`, 4-byte aligned (blocks
        // are page aligned), and the kernel writes it concurrently, which is why we
        // only touch it through an atomic.
        unsafe {
            let desc = self
                .map
                .as_ptr()
                .add(offset)
                .cast::<libc::tpacket_block_desc>();
            let status = std::ptr::addr_of_mut!((*desc).hdr.bh1.block_status);
            AtomicU32::from_ptr(status)
        }
    }

    fn block_ready(&self, block: u32) -> bool {
        self.block_status(block).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// Calls `visit` for every packet of the next ready block and gives the block
    /// back to the kernel; returns the number of packets (0 if no block was ready).
    pub fn drain_block(&mut self, mut visit: impl FnMut(RingPacket<'_>)) -> usize {
        let block = self.next_block;
        if !self.block_ready(block) {
            return 0;
        }
        let base = (block * BLOCK_SIZE) as usize;
        // SAFETY: the block is ours until we store TP_STATUS_KERNEL (the Acquire load
        // above ordered the kernel's writes before our reads). The descriptor and
        // every packet header (and the sockaddr_ll after it, read unaligned) lie
        // within the block: the kernel wrote the offsets and we also bound-check
        // them against BLOCK_SIZE before dereferencing.
        let count = unsafe {
            let block_ptr = self.map.as_ptr().add(base);
            let desc = &*block_ptr.cast::<libc::tpacket_block_desc>();
            let num = desc.hdr.bh1.num_pkts;
            let mut offset = desc.hdr.bh1.offset_to_first_pkt as usize;
            let header_len = std::mem::size_of::<libc::tpacket3_hdr>();
            let mut seen = 0usize;
            for _ in 0..num {
                if offset + header_len > BLOCK_SIZE as usize {
                    break;
                }
                let hdr = &*block_ptr.add(offset).cast::<libc::tpacket3_hdr>();
                let start = offset + usize::from(hdr.tp_mac);
                let len = hdr.tp_snaplen as usize;
                if start + len > BLOCK_SIZE as usize {
                    break;
                }
                let data = std::slice::from_raw_parts(block_ptr.add(start), len);
                // The kernel puts a sockaddr_ll right after the aligned header.
                let link_at = offset + header_len.next_multiple_of(TPACKET_ALIGNMENT);
                let (ifindex, hardware_type, packet_type) =
                    if link_at + std::mem::size_of::<libc::sockaddr_ll>() <= BLOCK_SIZE as usize {
                        let link = std::ptr::read_unaligned(
                            block_ptr.add(link_at).cast::<libc::sockaddr_ll>(),
                        );
                        (link.sll_ifindex, link.sll_hatype, link.sll_pkttype)
                    } else {
                        (0, 0, 0)
                    };
                visit(RingPacket {
                    status: hdr.tp_status,
                    sec: hdr.tp_sec,
                    nsec: hdr.tp_nsec,
                    wire_len: hdr.tp_len,
                    ifindex,
                    hardware_type,
                    outgoing: packet_type == libc::PACKET_OUTGOING,
                    data,
                });
                seen += 1;
                if hdr.tp_next_offset == 0 {
                    break;
                }
                offset += hdr.tp_next_offset as usize;
            }
            seen
        };
        self.block_status(block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next_block = (block + 1) % BLOCK_COUNT;
        count
    }

    /// Packets the kernel dropped because the ring was full, since the last call.
    pub fn drops(&self) -> io::Result<u32> {
        let mut stats = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: stats/len describe a writable tpacket_stats_v3.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(last_error("getsockopt(PACKET_STATISTICS)"));
        }
        Ok(stats.tp_drops)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mmap returned; no references into it
        // outlive `self` (RingPacket borrows end with drain_block).
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

/// Waits up to `timeout_ms` until `fd` can take more bytes (a pipe or FIFO
/// opened non-blocking); a signal or the timeout just returns.
pub fn wait_writable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd for a descriptor the caller keeps open, count 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}
