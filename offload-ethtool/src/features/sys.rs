//! The SIOCETHTOOL ioctls (offload features, device statistics, driver
//! identity): the only unsafe code of the crate. Each call fills a
//! caller-owned, correctly sized buffer.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::ifname::IfName;

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GFEATURES: u32 = 0x3a;
const ETHTOOL_SFEATURES: u32 = 0x3b;
const ETHTOOL_GSTATS: u32 = 0x1d;
/// The string set of device statistics (`ethtool -S`).
pub const ETH_SS_STATS: u32 = 1;
/// The string set of offload feature names (`ethtool -k`).
pub const ETH_SS_FEATURES: u32 = 4;
const ETH_GSTRING_LEN: usize = 32;

/// An AF_INET datagram socket: the handle SIOCETHTOOL needs. It stays in the
/// network namespace it was created in.
pub fn socket() -> io::Result<OwnedFd> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

/// One SIOCETHTOOL call with `data` as the command buffer; returns the ioctl's
/// non-negative result.
fn ethtool(fd: &OwnedFd, ifname: &IfName, data: &mut [u32]) -> io::Result<i32> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    // IfName holds exactly IFNAMSIZ bytes, NUL-terminated.
    for (dst, &src) in request.ifr_name.iter_mut().zip(ifname.as_ifr_name()) {
        *dst = src as libc::c_char;
    }
    request.ifr_ifru.ifru_data = data.as_mut_ptr().cast();
    // SAFETY: `request` names the interface and points at `data`, a live buffer
    // sized by the caller for this command, for the duration of the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCETHTOOL as _, &mut request) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// ETHTOOL_GSSET_INFO for ETH_SS_FEATURES: how many feature strings there are.
pub fn feature_count(fd: &OwnedFd, ifname: &IfName) -> io::Result<usize> {
    string_count(fd, ifname, ETH_SS_FEATURES)
}

/// ETHTOOL_GSSET_INFO for one string set: how many strings it has
/// (EOPNOTSUPP when the driver has no such set).
pub fn string_count(fd: &OwnedFd, ifname: &IfName, set: u32) -> io::Result<usize> {
    // cmd, reserved, sset_mask (u64 as two u32), data[1]
    let mask = 1u64 << set;
    let mut buf = [ETHTOOL_GSSET_INFO, 0, mask as u32, (mask >> 32) as u32, 0];
    ethtool(fd, ifname, &mut buf)?;
    let returned = u64::from(buf[2]) | (u64::from(buf[3]) << 32);
    if returned & mask == 0 {
        return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    Ok(buf[4] as usize)
}

/// ETHTOOL_GSTRINGS(ETH_SS_FEATURES): the feature names, index = bit.
pub fn feature_names(fd: &OwnedFd, ifname: &IfName, count: usize) -> io::Result<Vec<String>> {
    strings(fd, ifname, ETH_SS_FEATURES, count)
}

/// ETHTOOL_GSTRINGS for one string set, `count` strings (from
/// [`string_count`]); byte 31 of each is taken as NUL, as ethtool does.
pub fn strings(fd: &OwnedFd, ifname: &IfName, set: u32, count: usize) -> io::Result<Vec<String>> {
    let mut buf = vec![0u32; 3 + count * ETH_GSTRING_LEN / 4];
    buf[0] = ETHTOOL_GSTRINGS;
    buf[1] = set;
    buf[2] = count as u32;
    ethtool(fd, ifname, &mut buf)?;
    let returned = (buf[2] as usize).min(count);
    let bytes: Vec<u8> = buf[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
    Ok(bytes
        .chunks_exact(ETH_GSTRING_LEN)
        .take(returned)
        .map(|raw| {
            let end = raw
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(ETH_GSTRING_LEN - 1);
            String::from_utf8_lossy(&raw[..end]).into_owned()
        })
        .collect())
}

/// The four 32-bit masks of one ETHTOOL_GFEATURES block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Block {
    pub available: u32,
    pub requested: u32,
    pub active: u32,
    pub never_changed: u32,
}

/// ETHTOOL_GFEATURES with `words` blocks (ceil(count / 32)).
pub fn get_features(fd: &OwnedFd, ifname: &IfName, words: usize) -> io::Result<Vec<Block>> {
    let mut buf = vec![0u32; 2 + 4 * words];
    buf[0] = ETHTOOL_GFEATURES;
    buf[1] = words as u32;
    ethtool(fd, ifname, &mut buf)?;
    Ok(buf[2..]
        .chunks_exact(4)
        .map(|b| Block {
            available: b[0],
            requested: b[1],
            active: b[2],
            never_changed: b[3],
        })
        .collect())
}

/// ETHTOOL_SFEATURES: `(valid, requested)` per word; returns the kernel's
/// ETHTOOL_F_UNSUPPORTED (1) / ETHTOOL_F_WISH (2) bits.
pub fn set_features(fd: &OwnedFd, ifname: &IfName, blocks: &[(u32, u32)]) -> io::Result<u32> {
    let mut buf = vec![0u32; 2 + 2 * blocks.len()];
    buf[0] = ETHTOOL_SFEATURES;
    buf[1] = blocks.len() as u32;
    for (i, (valid, requested)) in blocks.iter().enumerate() {
        buf[2 + 2 * i] = *valid;
        buf[3 + 2 * i] = *requested;
    }
    ethtool(fd, ifname, &mut buf).map(|rc| rc as u32)
}

const ETHTOOL_GDRVINFO: u32 = 0x03;

/// What ETHTOOL_GDRVINFO returns (`struct ethtool_drvinfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrvInfo {
    pub driver: String,
    pub version: String,
    pub fw_version: String,
    pub bus_info: String,
    pub erom_version: String,
    pub n_priv_flags: u32,
    pub n_stats: u32,
    pub testinfo_len: u32,
    pub eedump_len: u32,
    pub regdump_len: u32,
}

/// ETHTOOL_GDRVINFO: driver name, versions, bus and the sizes `ethtool -i`
/// turns into its `supports-*` lines.
pub fn driver_info(fd: &OwnedFd, ifname: &IfName) -> io::Result<DrvInfo> {
    // struct ethtool_drvinfo is 196 bytes: cmd, then 32-byte driver, version,
    // fw_version, bus_info, erom_version, 12 reserved bytes and five u32s.
    let mut buf = [0u32; 49];
    buf[0] = ETHTOOL_GDRVINFO;
    ethtool(fd, ifname, &mut buf)?;
    let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let text = |at: usize| {
        let raw = &bytes[at..at + 32];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(32);
        String::from_utf8_lossy(&raw[..end]).into_owned()
    };
    Ok(DrvInfo {
        driver: text(4),
        version: text(4 + 32),
        fw_version: text(4 + 2 * 32),
        bus_info: text(4 + 3 * 32),
        erom_version: text(4 + 4 * 32),
        n_priv_flags: buf[44],
        n_stats: buf[45],
        testinfo_len: buf[46],
        eedump_len: buf[47],
        regdump_len: buf[48],
    })
}

/// ETHTOOL_GSTATS: `count` device statistics (`struct ethtool_stats`: cmd,
/// n_stats, then u64 values), in the order of the ETH_SS_STATS strings.
pub fn stats(fd: &OwnedFd, ifname: &IfName, count: usize) -> io::Result<Vec<u64>> {
    let mut buf = vec![0u32; 2 + 2 * count];
    buf[0] = ETHTOOL_GSTATS;
    buf[1] = count as u32;
    ethtool(fd, ifname, &mut buf)?;
    let returned = (buf[1] as usize).min(count);
    Ok(buf[2..]
        .chunks_exact(2)
        .take(returned)
        .map(|pair| {
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&pair[0].to_ne_bytes());
            bytes[4..].copy_from_slice(&pair[1].to_ne_bytes());
            u64::from_ne_bytes(bytes)
        })
        .collect())
}

/// The `struct ethtool_value` commands: legacy per-feature get (returns data).
pub fn get_value(fd: &OwnedFd, ifname: &IfName, cmd: u32) -> io::Result<u32> {
    let mut buf = [cmd, 0];
    ethtool(fd, ifname, &mut buf)?;
    Ok(buf[1])
}

/// The `struct ethtool_value` commands: legacy per-feature set.
pub fn set_value(fd: &OwnedFd, ifname: &IfName, cmd: u32, data: u32) -> io::Result<()> {
    let mut buf = [cmd, data];
    ethtool(fd, ifname, &mut buf).map(|_| ())
}

/// ETHTOOL_GFLAGS / ETHTOOL_SFLAGS (lro, rxvlan, txvlan, ntuple, rxhash).
pub const ETHTOOL_GFLAGS: u32 = 0x25;
/// See [`ETHTOOL_GFLAGS`].
pub const ETHTOOL_SFLAGS: u32 = 0x26;
