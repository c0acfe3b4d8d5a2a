//! `/sys/class/net` of a network namespace: per-interface statistics
//! (`statistics/*`, what `ip -s link` shows), the MTU, and the PCI ids of the
//! device behind an interface.
//!
//! sysfs shows the network namespace of whoever mounted it, not that of the
//! reading thread, so a thread that entered another namespace with setns sees
//! the old one's interfaces. `SysfsNet::private` mounts a sysfs of the
//! calling thread's namespace in a mount namespace of that thread alone (what
//! `ip netns exec` does for its child); [`with_sysfs_in`] does it on the
//! helper thread of [`crate::netns::run_in`].
//!
//! ```no_run
//! use offload_ethtool::sysfs::with_sysfs_in;
//! use offload_ethtool::IfName;
//!
//! let lo = IfName::new("lo").unwrap();
//! let stats = with_sysfs_in(Some("lab"), move |sys| sys.link_stats(&lo)).unwrap();
//! println!("{:?}", stats.get("rx_packets"));
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::driver::PciIds;
use crate::error::{Error, Result};
use crate::ifname::IfName;

/// The `/sys/class/net/DEV/statistics/*` counters of one interface, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    /// `rx_packets`, `rx_crc_errors`, `tx_dropped` ... and their values.
    pub counters: BTreeMap<String, u64>,
}

impl LinkStats {
    /// The value of one counter.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }

    /// What changed from `before` (a counter that went down counts from zero).
    pub fn delta(&self, before: &LinkStats) -> BTreeMap<String, u64> {
        self.counters
            .iter()
            .map(|(n, &v)| {
                let was = before.get(n).unwrap_or(0);
                (n.clone(), if v >= was { v - was } else { v })
            })
            .collect()
    }
}

/// A view of `/sys/class/net` that shows one network namespace.
#[derive(Debug, Clone)]
pub struct SysfsNet {
    root: PathBuf,
}

impl SysfsNet {
    /// `/sys` as mounted: the namespace this process was started in (or the
    /// one `ip netns exec` remounted it for).
    pub fn mounted() -> SysfsNet {
        SysfsNet {
            root: PathBuf::from("/sys/class/net"),
        }
    }

    /// Mounts a sysfs of the calling thread's network namespace over `/sys`,
    /// in a new mount namespace of this thread alone (it goes away with the
    /// thread; nothing outside sees it). Needs CAP_SYS_ADMIN. Call it only on
    /// a thread that ends after use, never on the main thread.
    fn private() -> Result<SysfsNet> {
        use nix::mount::{mount, MsFlags};
        use nix::sched::{unshare, CloneFlags};
        let failed = |what: &str, e: nix::Error| Error::KernelFile {
            path: format!("/sys ({what})"),
            ifname: None,
            source: io::Error::from(e),
        };
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| failed("unshare", e))?;
        // Keep the new mount from propagating back to the host's /sys.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(|e| failed("make / a slave", e))?;
        mount(
            Some("sysfs"),
            "/sys",
            Some("sysfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| failed("mount sysfs", e))?;
        Ok(SysfsNet::mounted())
    }

    fn read(&self, ifname: &IfName, rel: &str) -> Result<String> {
        let path = self.root.join(ifname.to_string()).join(rel);
        std::fs::read_to_string(&path).map_err(|source| Error::KernelFile {
            path: path.display().to_string(),
            ifname: Some(ifname.to_string()),
            source,
        })
    }

    fn number(&self, ifname: &IfName, rel: &str) -> Result<u64> {
        let text = self.read(ifname, rel)?;
        text.trim().parse().map_err(|_| Error::KernelFormat {
            path: self
                .root
                .join(ifname.to_string())
                .join(rel)
                .display()
                .to_string(),
            reason: format!("not a number: {:?}", text.trim()),
        })
    }

    /// Every counter of `statistics/`.
    pub fn link_stats(&self, ifname: &IfName) -> Result<LinkStats> {
        let dir = self.root.join(ifname.to_string()).join("statistics");
        let entries = std::fs::read_dir(&dir).map_err(|source| Error::KernelFile {
            path: dir.display().to_string(),
            ifname: Some(ifname.to_string()),
            source,
        })?;
        let mut stats = LinkStats::default();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let value = self.number(ifname, &format!("statistics/{name}"))?;
            stats.counters.insert(name, value);
        }
        Ok(stats)
    }

    /// The interface's MTU.
    pub fn mtu(&self, ifname: &IfName) -> Result<u32> {
        let v = self.number(ifname, "mtu")?;
        u32::try_from(v).map_err(|_| Error::KernelFormat {
            path: format!("{}/{ifname}/mtu", self.root.display()),
            reason: format!("MTU {v} out of range"),
        })
    }

    /// The PCI ids of the device behind `ifname`, or `None` when it is not a
    /// PCI device (veth, bridge, Xen VIF ...).
    pub fn pci_ids(&self, ifname: &IfName) -> Result<Option<PciIds>> {
        let device = self.root.join(ifname.to_string()).join("device");
        let is_pci = std::fs::read_link(device.join("subsystem"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n == "pci"))
            .unwrap_or(false);
        if !is_pci {
            return Ok(None);
        }
        let id = |file: &str| -> Result<u16> {
            let text = self.read(ifname, &format!("device/{file}"))?;
            PciIds::parse_id(&text).ok_or_else(|| Error::KernelFormat {
                path: device.join(file).display().to_string(),
                reason: format!("not a PCI id: {:?}", text.trim()),
            })
        };
        Ok(Some(PciIds {
            vendor: id("vendor")?,
            device: id("device")?,
            subsystem_vendor: id("subsystem_vendor")?,
            subsystem_device: id("subsystem_device")?,
        }))
    }

    /// The root this view reads (`/sys/class/net`).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Runs `f` with a sysfs view of `netns` (a name under /run/netns or a
/// path), on the helper thread of [`crate::netns::run_in`], or with `/sys` as
/// mounted when `netns` is `None`. Another namespace needs CAP_SYS_ADMIN.
pub fn with_sysfs_in<T: Send + 'static>(
    netns: Option<&str>,
    f: impl FnOnce(&SysfsNet) -> Result<T> + Send + 'static,
) -> Result<T> {
    match netns {
        None => f(&SysfsNet::mounted()),
        Some(_) => crate::netns::run_in(netns, move || f(&SysfsNet::private()?)),
    }
}
