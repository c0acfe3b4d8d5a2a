//! Putting hand-made frames on a wire, for capture tests.

use std::fs::File;
use std::io;

use crate::sys;

/// Sends one complete frame out of `ifname` inside the network namespace
/// `netns` (a name under /run/netns), or in this one when `None`: the frame
/// leaves exactly as given, bad checksums included.
pub fn inject_frame(netns: Option<&str>, ifname: &str, frame: &[u8]) -> io::Result<()> {
    let ifname = ifname.to_string();
    let frame = frame.to_vec();
    let send = move || -> io::Result<()> {
        let index = nix::net::if_::if_nametoindex(ifname.as_str()).map_err(io::Error::from)?;
        sys::send_frame(index as i32, &frame)
    };
    let Some(netns) = netns else { return send() };
    let file = File::open(format!("/run/netns/{netns}"))?;
    // A helper thread enters the namespace so the caller's thread stays put.
    std::thread::spawn(move || {
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        send()
    })
    .join()
    .map_err(|_| io::Error::other("injecting thread panicked"))?
}
