//! The fallback for kernels without ETHTOOL_GFEATURES (old dom0 kernels): the
//! per-feature ioctls (ETHTOOL_GRXCSUM / STXCSUM / GSG / STSO / GGSO / GGRO ...)
//! and ETHTOOL_GFLAGS / SFLAGS for lro, rxvlan, txvlan, ntuple and rxhash.
//! Setting `OFFLOAD_ETHTOOL_LEGACY=1` forces it, so tests exercise it anywhere.

use std::fmt::Write as _;
use std::os::fd::OwnedFd;

use offload_core::features::{legacy_by_name, LegacyFeature, LegacyIoctl, LEGACY};

use super::{os_error, sys, Ethtool};
use crate::error::{Error, Result};
use crate::ifname::IfName;

/// Whether the legacy ioctls are forced by the environment.
pub fn forced() -> bool {
    std::env::var_os("OFFLOAD_ETHTOOL_LEGACY").is_some_and(|v| v == "1")
}

/// Each legacy group's state; `None` where the kernel does not support it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyState {
    /// The interface.
    pub ifname: IfName,
    /// In `LEGACY` order.
    pub values: Vec<(&'static LegacyFeature, Option<bool>)>,
}

fn get(fd: &OwnedFd, ifname: &IfName, feature: &LegacyFeature) -> Result<Option<bool>> {
    let result = match feature.legacy_ioctl {
        LegacyIoctl::Pair { get, .. } => sys::get_value(fd, ifname, get).map(|v| v != 0),
        LegacyIoctl::Flag(bit) => {
            sys::get_value(fd, ifname, sys::ETHTOOL_GFLAGS).map(|f| f & bit != 0)
        }
    };
    match result {
        Ok(on) => Ok(Some(on)),
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(None),
        Err(e) => Err(os_error("ETHTOOL_G* (legacy)", ifname, e)),
    }
}

fn read_fd(fd: &OwnedFd, ifname: &IfName) -> Result<LegacyState> {
    let values = LEGACY
        .iter()
        .map(|f| get(fd, ifname, f).map(|v| (f, v)))
        .collect::<Result<Vec<_>>>()?;
    Ok(LegacyState {
        ifname: *ifname,
        values,
    })
}

/// Reads the twelve legacy groups.
pub fn read(ifname: &IfName) -> Result<LegacyState> {
    read_with(&Ethtool::open()?, ifname)
}

/// [`read`] through a handle the caller keeps.
pub fn read_with(ethtool: &Ethtool, ifname: &IfName) -> Result<LegacyState> {
    read_fd(ethtool.fd(), ifname)
}

impl LegacyState {
    /// What `ethtool -k` prints on a kernel without ETHTOOL_GFEATURES: the
    /// supported legacy groups, one line each.
    pub fn render_ethtool_k(&self) -> String {
        let mut out = format!("Features for {}:\n", self.ifname);
        for (feature, value) in &self.values {
            if let Some(on) = value {
                let _ = writeln!(
                    out,
                    "{}: {}",
                    feature.long_name,
                    if *on { "on" } else { "off" }
                );
            }
        }
        out
    }

    /// The JSON view (`show --json`): each supported group under its long
    /// name; the legacy ioctls know no requested/active split nor `[fixed]`.
    pub fn json(&self) -> super::InterfaceJson<'_> {
        super::InterfaceJson {
            ifname: &self.ifname,
            features: self
                .values
                .iter()
                .filter_map(|(f, v)| {
                    v.map(|on| super::FeatureJson {
                        name: f.long_name,
                        active: on,
                        requested: on,
                        fixed: false,
                    })
                })
                .collect(),
        }
    }

    /// Whether a group is on (None: unsupported).
    pub fn get(&self, short_name: &str) -> Option<bool> {
        self.values
            .iter()
            .find(|(f, _)| f.short_name == short_name)
            .and_then(|(_, v)| *v)
    }
}

/// Applies `name on|off ...` (legacy names only) with the per-feature ioctls;
/// returns the state before and after. Unknown names change nothing.
pub fn apply(ifname: &IfName, args: &[&str]) -> Result<(LegacyState, LegacyState)> {
    apply_with(&Ethtool::open()?, ifname, args)
}

/// [`apply`] through a handle the caller keeps.
pub fn apply_with(
    ethtool: &Ethtool,
    ifname: &IfName,
    args: &[&str],
) -> Result<(LegacyState, LegacyState)> {
    let mut wanted = Vec::new();
    for pair in args.chunks(2) {
        let feature = legacy_by_name(pair[0]).ok_or_else(|| Error::InvalidRequest {
            ifname: ifname.to_string(),
            reason: format!("'{}' is not a legacy feature name (legacy ioctls)", pair[0]),
        })?;
        let on = match pair.get(1) {
            Some(&"on") => true,
            Some(&"off") => false,
            _ => {
                return Err(Error::InvalidRequest {
                    ifname: ifname.to_string(),
                    reason: format!("'{}' is not followed by 'on' or 'off'", pair[0]),
                })
            }
        };
        wanted.push((feature, on));
    }
    let fd = ethtool.fd();
    let before = read_fd(fd, ifname)?;
    for (feature, on) in wanted {
        let result = match feature.legacy_ioctl {
            LegacyIoctl::Pair { set, .. } => sys::set_value(fd, ifname, set, u32::from(on)),
            LegacyIoctl::Flag(bit) => {
                sys::get_value(fd, ifname, sys::ETHTOOL_GFLAGS).and_then(|flags| {
                    let flags = if on { flags | bit } else { flags & !bit };
                    sys::set_value(fd, ifname, sys::ETHTOOL_SFLAGS, flags)
                })
            }
        };
        match result {
            Ok(()) => {}
            // Not supported by this driver/kernel (ufo today): nothing to change.
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
            Err(e) => return Err(os_error("ETHTOOL_S* (legacy)", ifname, e)),
        }
    }
    let after = read_fd(fd, ifname)?;
    Ok((before, after))
}
