//! "This host" in dom0: its uuid from the installation inventory, and a
//! policy check of its own PIFs and of the VIFs of the VMs resident on it
//! (what a per-host monitor reports; the pool-wide view is [`crate::ops`]).

use std::path::Path;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ops::{self, Selection, VerifiedObject};
use crate::policy::{PifFilter, Policy, VifFilter};
use crate::records::PoolView;
use crate::XapiObject;

/// Where dom0 records which host it is.
pub const INVENTORY: &str = "/etc/xensource-inventory";

/// `INSTALLATION_UUID` from an inventory file (`KEY='value'` lines).
pub fn installation_uuid(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Transport {
        target: path.display().to_string(),
        source,
    })?;
    text.lines()
        .find_map(|line| line.trim().strip_prefix("INSTALLATION_UUID="))
        .map(|value| {
            value
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string()
        })
        .filter(|uuid| !uuid.is_empty())
        .ok_or_else(|| Error::invalid(path.display().to_string(), "has no INSTALLATION_UUID line"))
}

/// The policy check of one host's objects.
#[derive(Debug, Clone)]
pub struct HostCheck {
    /// The host's PIFs (bond masters' keys checked on their slaves).
    pub pifs: Vec<VerifiedObject>,
    /// The VIFs of the guests resident on the host.
    pub vifs: Vec<VerifiedObject>,
}

/// Checks the PIFs of host `host_uuid` and the VIFs of the guests running
/// on it against `policy`. Objects the policy has no settings for are not
/// checked (a VIF-only policy leaves `pifs` empty).
pub fn check_host(client: &Client, policy: &Policy, host_uuid: &str) -> Result<HostCheck> {
    let pifs = if policy.settings_for(XapiObject::Pif).is_empty() {
        Vec::new()
    } else {
        let filter = PifFilter {
            hosts: vec![host_uuid.to_string()],
            ..PifFilter::default()
        };
        ops::verify(client, policy, &Selection::Pifs(filter))?
    };
    let vifs = if policy.settings_for(XapiObject::Vif).is_empty() {
        Vec::new()
    } else {
        let view = PoolView::fetch_classes(client, false, true)?;
        let host = view
            .hosts
            .values()
            .find(|h| h.uuid.eq_ignore_ascii_case(host_uuid))
            .ok_or_else(|| Error::no_match(format!("host {host_uuid}"), "is not in this pool"))?;
        let vm_uuids: Vec<String> = host
            .resident_vms
            .iter()
            .filter_map(|r| view.vms.get(r))
            .filter(|vm| vm.is_guest())
            .map(|vm| vm.uuid.clone())
            .collect();
        // An empty uuid list would mean every VM of the pool.
        if vm_uuids.is_empty() {
            Vec::new()
        } else {
            let filter = VifFilter {
                vm_uuids,
                ..VifFilter::default()
            };
            ops::verify(client, policy, &Selection::Vifs(filter))?
        }
    };
    Ok(HostCheck { pifs, vifs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installation_uuid_is_read_as_dom0_writes_it() {
        let dir = std::env::temp_dir().join(format!("offload-inventory-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("xensource-inventory");
        std::fs::write(
            &path,
            "PRIMARY_DISK='/dev/sda'\nINSTALLATION_UUID='4a5b1c2d-0000-4000-8000-000000000001'\nCONTROL_DOMAIN_UUID='x'\n",
        )
        .unwrap();
        assert_eq!(
            installation_uuid(&path).unwrap(),
            "4a5b1c2d-0000-4000-8000-000000000001"
        );
        std::fs::write(&path, "PRIMARY_DISK='/dev/sda'\n").unwrap();
        assert!(installation_uuid(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
