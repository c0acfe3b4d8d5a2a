//! The one raw call the test kit needs: sending a frame through AF_PACKET.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Sends one complete link-layer frame out of `ifindex` through a raw AF_PACKET
/// socket in the calling thread's namespace, bypassing the IP stack (so the
/// checksum fields go out exactly as given).
pub fn send_frame(ifindex: i32, frame: &[u8]) -> io::Result<()> {
    // SAFETY: plain socket(2) call with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_ifindex = ifindex;
    addr.sll_halen = 6;
    if frame.len() >= 6 {
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
    }
    // SAFETY: frame is a valid buffer of frame.len() bytes and addr a valid
    // sockaddr_ll of the size we pass.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
