//! Per-interface metrics, read with SIOCETHTOOL in one namespace: the
//! twelve legacy groups of `ethtool -k` (bounded labels), the driver's
//! error counters of `ethtool -S` and xen-netback's `rx_gso_checksum_fixup`.

use offload_ethtool::features::{Ethtool, Readout};
use offload_ethtool::iface::{self, Selection};
use offload_ethtool::netns;
use offload_ethtool::stats::GSO_CHECKSUM_FIXUP;

use crate::model::{
    Exposition, DEVICE_ERRORS, FEATURE_ENABLED, GSO_CHECKSUM_FIXUPS, INTERFACE_INFO,
    INTERFACE_READ_ERRORS,
};

/// Reads the selected interfaces of `netns` (None: the exporter's own).
/// An interface that vanishes or fails between listing and reading is
/// counted in `offload_interface_read_errors`, the others are still shown.
pub fn collect(netns: Option<&str>, selection: &Selection) -> offload_ethtool::Result<Exposition> {
    let selection = selection.clone();
    netns::run_in(netns, move || {
        let ethtool = Ethtool::open()?;
        let present = iface::list_with(&ethtool)?;
        let mut out = Exposition::new();
        let mut errors = 0u32;
        for interface in selection.resolve(&present).into_iter().flatten() {
            let name = interface.name.to_string();
            let kind = interface.kind.name();
            // Loopback and some virtual devices have no driver to ask.
            let driver = ethtool
                .driver(&interface.name)
                .map(|d| d.driver)
                .unwrap_or_default();
            let readout = match Readout::read(&ethtool, &interface.name) {
                Ok(r) => r,
                Err(_) => {
                    errors += 1;
                    continue;
                }
            };
            out.add(&INTERFACE_INFO, &[&name, kind, &driver], 1.0);
            for (group, on) in readout.legacy_groups() {
                if let Some(on) = on {
                    out.add(
                        &FEATURE_ENABLED,
                        &[&name, kind, &driver, group.short_name],
                        if on { 1.0 } else { 0.0 },
                    );
                }
            }
            // A driver without statistics has none to show.
            if let Ok(stats) = ethtool.device_stats(&interface.name) {
                for (counter, value) in stats.error_counters() {
                    out.add(
                        &DEVICE_ERRORS,
                        &[&name, kind, &driver, &counter],
                        value as f64,
                    );
                }
                if let Some(fixups) = stats.by_name().get(GSO_CHECKSUM_FIXUP) {
                    out.add(
                        &GSO_CHECKSUM_FIXUPS,
                        &[&name, kind, &driver],
                        *fixups as f64,
                    );
                }
            }
        }
        out.add(&INTERFACE_READ_ERRORS, &[], f64::from(errors));
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use offload_ethtool::iface::Targets;

    #[test]
    fn loopback_shows_its_groups_as_ethtool_does() {
        let selection = Selection::new(
            Vec::new(),
            false,
            Targets::All,
            &["loopback".to_string()],
            Vec::new(),
            Vec::new(),
        )
        .unwrap();
        let e = collect(None, &selection).unwrap();
        let lo = Ethtool::open()
            .and_then(|h| Readout::read(&h, &offload_ethtool::IfName::new("lo").unwrap()))
            .unwrap();
        let text = lo.render_ethtool_k();
        // Every group `ethtool -k lo` prints as a line of its own carries the same state.
        for (group, on) in lo.legacy_groups() {
            let Some(on) = on else { continue };
            let line = format!("{}: {}", group.long_name, if on { "on" } else { "off" });
            assert!(
                text.lines().any(|l| l.starts_with(&line)),
                "{line} in {text}"
            );
            assert_eq!(
                e.value(&FEATURE_ENABLED, &["lo", "loopback", "", group.short_name]),
                Some(if on { 1.0 } else { 0.0 })
            );
        }
        assert_eq!(e.value(&INTERFACE_READ_ERRORS, &[]), Some(0.0));
    }
}
