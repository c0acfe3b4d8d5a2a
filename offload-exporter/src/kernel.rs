//! The kernel's checksum and IP-header error counters of one namespace
//! (`/proc/net/snmp`, `snmp6`, `netstat` under their nstat names).

use offload_ethtool::mib::{MibSnapshot, CHECKSUM_ERRORS, HEADER_ERRORS};

use crate::model::{Exposition, KERNEL_CHECKSUM_ERRORS, KERNEL_HEADER_ERRORS};

/// The counters of `netns` (None: ours) that this kernel has.
pub fn collect(netns: Option<&str>) -> offload_ethtool::Result<Exposition> {
    let mib = MibSnapshot::read_in(netns)?;
    let mut out = Exposition::new();
    for (family, names) in [
        (&KERNEL_CHECKSUM_ERRORS, &CHECKSUM_ERRORS[..]),
        (&KERNEL_HEADER_ERRORS, &HEADER_ERRORS[..]),
    ] {
        for name in names {
            if let Some(value) = mib.get(name) {
                out.add(family, &[name], value as f64);
            }
        }
    }
    Ok(out)
}
