//! The named presets (`seed`, `tx-only`): which offload groups each one
//! switches off, on which kind of interface, live and as XAPI keys. The one
//! table every front-end reads (local disable, XAPI policies, C, Python, and
//! the dom0 plugin through `cargo xtask codegen`).
//!
//! The seed procedure does two different things, and this table keeps both:
//! `ethtool -K ethN rx off tx off sg off tso off ufo off gso off gro off lro off`
//! on the host's NICs now (eight groups), and six `xe pif-param-set` /
//! `vif-param-set other-config:ethtool-{gso,ufo,tso,sg,tx,rx}="off"` for what
//! the host applies when a PIF is plugged or a VIF comes online. The six are
//! also all the VIF hotplug script applies (xenopsd whitelists them), so a VIF
//! backend gets those six, live and persisted.

use crate::features::{LegacyFeatures, LEGACY};

/// One named preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The name `--preset` and the plugin's `preset=` take.
    pub name: &'static str,
    /// Other accepted spellings (`pfsense` for `tx-only`).
    pub aliases: &'static [&'static str],
    /// One line for `--help`.
    pub summary: &'static str,
    /// Groups switched off now on the host's own interfaces (NICs, bonds,
    /// bridges, VLANs: everything but loopback and guest backends).
    pub nics: LegacyFeatures,
    /// Keys set to `off` in a PIF's `other-config` (applied at PIF plug).
    pub pif_keys: LegacyFeatures,
    /// Groups switched off on guest backends (`vifD.N`, `tapD.N`), now and as
    /// VIF `other-config` keys (applied when the backend comes online).
    pub vifs: LegacyFeatures,
}

/// The six groups of the seed's `xe ...-param-set` lines (no gro, no lro).
const SEED_KEYS: LegacyFeatures = LegacyFeatures::SEED
    .difference(LegacyFeatures::GRO)
    .difference(LegacyFeatures::LRO);

/// Every preset, the default (`seed`) first.
pub const PRESETS: [Preset; 2] = [
    Preset {
        name: "seed",
        aliases: &[],
        summary: "the seed procedure: rx tx sg tso ufo gso gro lro off on NICs, \
                  ethtool-{rx,tx,sg,tso,ufo,gso}=off on PIFs and VIFs",
        nics: LegacyFeatures::SEED,
        pif_keys: SEED_KEYS,
        vifs: SEED_KEYS,
    },
    Preset {
        name: "tx-only",
        aliases: &["pfsense"],
        summary: "XCP-ng's advice for pfSense/OPNsense guests: tx off on VIFs only",
        nics: LegacyFeatures::empty(),
        pif_keys: LegacyFeatures::empty(),
        vifs: LegacyFeatures::TX,
    },
];

/// The preset used when none is named.
pub const DEFAULT: &Preset = &PRESETS[0];

/// Looks a preset up by name or alias.
pub fn by_name(name: &str) -> Option<&'static Preset> {
    PRESETS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// The short names (`rx`, `tx`, ...) of `groups`, in `ethtool -k` order.
pub fn short_names(groups: LegacyFeatures) -> impl Iterator<Item = &'static str> {
    LEGACY
        .iter()
        .filter(move |f| groups.contains(f.flag))
        .map(|f| f.short_name)
}

/// The XAPI keys (`ethtool-rx`, ...) of `groups`, in `ethtool -k` order;
/// groups without a key are left out.
pub fn xapi_keys(groups: LegacyFeatures) -> impl Iterator<Item = &'static str> {
    LEGACY
        .iter()
        .filter(move |f| groups.contains(f.flag))
        .filter_map(|f| f.xapi_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{xapi_key_applied, XapiObject};

    #[test]
    fn seed_is_the_ethtool_line_on_nics_and_the_six_xe_keys() {
        let seed = by_name("seed").unwrap();
        let nics: Vec<_> = short_names(seed.nics).collect();
        assert_eq!(nics, ["rx", "tx", "sg", "tso", "ufo", "gso", "gro", "lro"]);
        let mut keys: Vec<_> = xapi_keys(seed.pif_keys).collect();
        keys.sort_unstable();
        let mut xe = [
            "ethtool-gso",
            "ethtool-ufo",
            "ethtool-tso",
            "ethtool-sg",
            "ethtool-tx",
            "ethtool-rx",
        ];
        xe.sort_unstable();
        assert_eq!(keys, xe);
        assert_eq!(seed.vifs, seed.pif_keys);
    }

    #[test]
    fn every_preset_sets_only_keys_the_host_applies() {
        for preset in &PRESETS {
            for key in xapi_keys(preset.pif_keys) {
                assert!(xapi_key_applied(XapiObject::Pif, key), "{key}");
            }
            for key in xapi_keys(preset.vifs) {
                assert!(xapi_key_applied(XapiObject::Vif, key), "{key}");
            }
            assert_eq!(
                xapi_keys(preset.vifs).count(),
                short_names(preset.vifs).count()
            );
        }
    }

    #[test]
    fn aliases_and_unknown_names() {
        assert_eq!(by_name("pfsense").unwrap().name, "tx-only");
        assert_eq!(DEFAULT.name, "seed");
        assert!(by_name("fast").is_none());
        assert_eq!(
            short_names(by_name("tx-only").unwrap().vifs).collect::<Vec<_>>(),
            ["tx"]
        );
    }
}
