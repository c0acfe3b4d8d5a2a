//! Offload feature names: ethtool's legacy groups and the kernel feature strings.
//!
//! The table follows ethtool 6.1's `off_flag_def` (common.c): its order is the
//! display order of `ethtool -k`, and each entry's kernel-name pattern decides which
//! kernel feature strings (`ETH_SS_FEATURES`) belong to the group.

use bitflags::bitflags;

bitflags! {
    /// The twelve legacy offload groups of `ethtool -k` / `-K` (ethtool(8)).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct LegacyFeatures: u16 {
        /// `rx` / `rx-checksumming`: receive checksum offload (ethtool(8) `rx`).
        const RX = 1 << 0;
        /// `tx` / `tx-checksumming`: transmit checksum offload (ethtool(8) `tx`).
        const TX = 1 << 1;
        /// `sg` / `scatter-gather` (ethtool(8) `sg`).
        const SG = 1 << 2;
        /// `tso` / `tcp-segmentation-offload` (ethtool(8) `tso`).
        const TSO = 1 << 3;
        /// `ufo` / `udp-fragmentation-offload`, removed from Linux 4.14 (ethtool(8) `ufo`).
        const UFO = 1 << 4;
        /// `gso` / `generic-segmentation-offload` (ethtool(8) `gso`).
        const GSO = 1 << 5;
        /// `gro` / `generic-receive-offload` (ethtool(8) `gro`).
        const GRO = 1 << 6;
        /// `lro` / `large-receive-offload` (ethtool(8) `lro`).
        const LRO = 1 << 7;
        /// `rxvlan` / `rx-vlan-offload` (ethtool(8) `rxvlan`).
        const RXVLAN = 1 << 8;
        /// `txvlan` / `tx-vlan-offload` (ethtool(8) `txvlan`).
        const TXVLAN = 1 << 9;
        /// `ntuple` / `ntuple-filters` (ethtool(8) `ntuple`).
        const NTUPLE = 1 << 10;
        /// `rxhash` / `receive-hashing` (ethtool(8) `rxhash`).
        const RXHASH = 1 << 11;
    }
}

impl LegacyFeatures {
    /// The eight groups the seed procedure switches off:
    /// `rx tx sg tso ufo gso gro lro`.
    pub const SEED: LegacyFeatures = LegacyFeatures::RX
        .union(LegacyFeatures::TX)
        .union(LegacyFeatures::SG)
        .union(LegacyFeatures::TSO)
        .union(LegacyFeatures::UFO)
        .union(LegacyFeatures::GSO)
        .union(LegacyFeatures::GRO)
        .union(LegacyFeatures::LRO);
}

/// Legacy ioctl pair used when the kernel lacks `ETHTOOL_GFEATURES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyIoctl {
    /// A dedicated get/set command pair (`ETHTOOL_GRXCSUM` / `ETHTOOL_SRXCSUM`, ...).
    Pair {
        /// The `ETHTOOL_G*` command number.
        get: u32,
        /// The `ETHTOOL_S*` command number.
        set: u32,
    },
    /// A bit in `ETHTOOL_GFLAGS` / `ETHTOOL_SFLAGS` (`ETH_FLAG_*`).
    Flag(u32),
}

/// One row of ethtool's `off_flag_def` table plus the XAPI key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyFeature {
    /// The flag in [`LegacyFeatures`].
    pub flag: LegacyFeatures,
    /// The `-K` short name (`rx`).
    pub short_name: &'static str,
    /// The name `-k` prints (`rx-checksumming`).
    pub long_name: &'static str,
    /// The kernel feature-string pattern: exact, or one `*` (prefix*suffix).
    pub kernel_pattern: &'static str,
    /// The PIF/VIF `other-config` key the XAPI host reads, where one exists.
    pub xapi_key: Option<&'static str>,
    /// How old kernels without `ETHTOOL_GFEATURES` read and change this group.
    pub legacy_ioctl: LegacyIoctl,
}

// Legacy ioctl command numbers (include/uapi/linux/ethtool.h).
const ETHTOOL_GRXCSUM: u32 = 0x14;
const ETHTOOL_SRXCSUM: u32 = 0x15;
const ETHTOOL_GTXCSUM: u32 = 0x16;
const ETHTOOL_STXCSUM: u32 = 0x17;
const ETHTOOL_GSG: u32 = 0x18;
const ETHTOOL_SSG: u32 = 0x19;
const ETHTOOL_GTSO: u32 = 0x1e;
const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_GUFO: u32 = 0x21;
const ETHTOOL_SUFO: u32 = 0x22;
const ETHTOOL_GGSO: u32 = 0x23;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_GGRO: u32 = 0x2b;
const ETHTOOL_SGRO: u32 = 0x2c;

/// ethtool's `off_flag_def` in display order, with the XAPI keys the host applies.
pub const LEGACY: [LegacyFeature; 12] = [
    LegacyFeature {
        flag: LegacyFeatures::RX,
        short_name: "rx",
        long_name: "rx-checksumming",
        kernel_pattern: "rx-checksum",
        xapi_key: Some("ethtool-rx"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GRXCSUM,
            set: ETHTOOL_SRXCSUM,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::TX,
        short_name: "tx",
        long_name: "tx-checksumming",
        kernel_pattern: "tx-checksum-*",
        xapi_key: Some("ethtool-tx"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GTXCSUM,
            set: ETHTOOL_STXCSUM,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::SG,
        short_name: "sg",
        long_name: "scatter-gather",
        kernel_pattern: "tx-scatter-gather*",
        xapi_key: Some("ethtool-sg"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GSG,
            set: ETHTOOL_SSG,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::TSO,
        short_name: "tso",
        long_name: "tcp-segmentation-offload",
        kernel_pattern: "tx-tcp*-segmentation",
        xapi_key: Some("ethtool-tso"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GTSO,
            set: ETHTOOL_STSO,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::UFO,
        short_name: "ufo",
        long_name: "udp-fragmentation-offload",
        kernel_pattern: "tx-udp-fragmentation",
        xapi_key: Some("ethtool-ufo"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GUFO,
            set: ETHTOOL_SUFO,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::GSO,
        short_name: "gso",
        long_name: "generic-segmentation-offload",
        kernel_pattern: "tx-generic-segmentation",
        xapi_key: Some("ethtool-gso"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GGSO,
            set: ETHTOOL_SGSO,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::GRO,
        short_name: "gro",
        long_name: "generic-receive-offload",
        kernel_pattern: "rx-gro",
        xapi_key: Some("ethtool-gro"),
        legacy_ioctl: LegacyIoctl::Pair {
            get: ETHTOOL_GGRO,
            set: ETHTOOL_SGRO,
        },
    },
    LegacyFeature {
        flag: LegacyFeatures::LRO,
        short_name: "lro",
        long_name: "large-receive-offload",
        kernel_pattern: "rx-lro",
        xapi_key: Some("ethtool-lro"),
        legacy_ioctl: LegacyIoctl::Flag(1 << 15),
    },
    LegacyFeature {
        flag: LegacyFeatures::RXVLAN,
        short_name: "rxvlan",
        long_name: "rx-vlan-offload",
        kernel_pattern: "rx-vlan-hw-parse",
        xapi_key: None,
        legacy_ioctl: LegacyIoctl::Flag(1 << 8),
    },
    LegacyFeature {
        flag: LegacyFeatures::TXVLAN,
        short_name: "txvlan",
        long_name: "tx-vlan-offload",
        kernel_pattern: "tx-vlan-hw-insert",
        xapi_key: None,
        legacy_ioctl: LegacyIoctl::Flag(1 << 7),
    },
    LegacyFeature {
        flag: LegacyFeatures::NTUPLE,
        short_name: "ntuple",
        long_name: "ntuple-filters",
        kernel_pattern: "rx-ntuple-filter",
        xapi_key: None,
        legacy_ioctl: LegacyIoctl::Flag(1 << 27),
    },
    LegacyFeature {
        flag: LegacyFeatures::RXHASH,
        short_name: "rxhash",
        long_name: "receive-hashing",
        kernel_pattern: "rx-hashing",
        xapi_key: None,
        legacy_ioctl: LegacyIoctl::Flag(1 << 28),
    },
];

/// Whether a kernel feature string matches a legacy pattern, as ethtool matches it:
/// without `*` an exact match, with one `*` a prefix and a suffix that do not overlap.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
    }
}

/// The first legacy group whose pattern matches a kernel feature string
/// (ethtool's `off_flag_index`), or `None`.
pub fn legacy_group_of(kernel_name: &str) -> Option<&'static LegacyFeature> {
    if kernel_name.is_empty() {
        return None;
    }
    LEGACY
        .iter()
        .find(|f| pattern_matches(f.kernel_pattern, kernel_name))
}

/// Whether a legacy group is on, from kernel features as (name, active):
/// on when any of its members is active, as `ethtool -k` prints the group
/// line; `None` when no member is listed.
pub fn legacy_group_active<'a>(
    group: &LegacyFeature,
    features: impl IntoIterator<Item = (&'a str, bool)>,
) -> Option<bool> {
    features
        .into_iter()
        .filter(|(name, _)| legacy_group_of(name).is_some_and(|g| g.flag == group.flag))
        .fold(None, |on, (_, active)| Some(on.unwrap_or(false) || active))
}

/// Looks a legacy group up by its short (`tso`) or long (`tcp-segmentation-offload`) name.
pub fn legacy_by_name(name: &str) -> Option<&'static LegacyFeature> {
    LEGACY
        .iter()
        .find(|f| f.short_name == name || f.long_name == name)
}

/// Looks a legacy group up by its XAPI `other-config` key (`ethtool-tso`).
pub fn legacy_by_xapi_key(key: &str) -> Option<&'static LegacyFeature> {
    LEGACY.iter().find(|f| f.xapi_key == Some(key))
}

/// The kind of XAPI object whose `other-config:ethtool-*` keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XapiObject {
    /// A PIF: xapi's `Nm.determine_ethtool_settings` reads all eight offload keys.
    Pif,
    /// A VIF: xenopsd passes only `rx tx sg tso ufo gso` to the hotplug script.
    Vif,
    /// A network: xapi's `Nm.bring_pif_up` (ocaml/xapi/nm.ml) applies its
    /// eight offload keys to the network's bridge on the host of each PIF it
    /// brings up (`determine_ethtool_settings` with the PIF's properties).
    Network,
}

/// Whether the host applies the offload `key` (`ethtool-tx`) on that kind of
/// object. `ethtool-gro`/`-lro` on a VIF and made-up keys such as
/// `ethtool-sgo` are silently dropped by the host.
pub fn xapi_key_applied(object: XapiObject, key: &str) -> bool {
    match legacy_by_xapi_key(key) {
        None => false,
        Some(feature) => match object {
            XapiObject::Pif | XapiObject::Network => true,
            XapiObject::Vif => !feature
                .flag
                .intersects(LegacyFeatures::GRO.union(LegacyFeatures::LRO)),
        },
    }
}

/// How the host reads an offload value: exactly `on`/`true` or `off`/`false`
/// (case-sensitive); anything else (`"off"` with quotes, `Off`, `0`) is
/// ignored with only a log line on the host.
pub fn xapi_flag_value(value: &str) -> Option<bool> {
    match value {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

/// How the host reads an offload value stored on `object`, other writers'
/// spellings included (Xen Orchestra writes `true`/`false`):
/// - PIF: xapi's `Nm.determine_ethtool_settings` (ocaml/xapi/nm.ml) matches
///   exactly `true`/`on` and `false`/`off` ([`xapi_flag_value`]);
/// - VIF: xenopsd's `vif-real` (`handle_ethtool`) reads the value with
///   `$(xenstore-read ...)`, which drops trailing newlines, skips an empty
///   value, and matches `true|on` / `false|off` in a `case`.
pub fn xapi_value_read(object: XapiObject, value: &str) -> Option<bool> {
    match object {
        XapiObject::Pif | XapiObject::Network => xapi_flag_value(value),
        XapiObject::Vif => xapi_flag_value(value.trim_end_matches('\n')),
    }
}

/// Room for the kernel's ETH_SS_FEATURES bits (64 on Linux 6.1 and 6.18).
pub const MAX_FEATURES: usize = 256;
const FEATURE_WORDS: usize = MAX_FEATURES / 32;

/// A fixed-capacity set of kernel feature bits (bit i = string i of
/// ETH_SS_FEATURES), laid out as the 32-bit words of ETHTOOL_GFEATURES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FeatureBits([u32; FEATURE_WORDS]);

/// The kernel reported more feature bits than [`MAX_FEATURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyFeatures(pub usize);

impl core::fmt::Display for TooManyFeatures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} feature words, at most {} supported",
            self.0, FEATURE_WORDS
        )
    }
}

impl FeatureBits {
    /// No bit set.
    pub const EMPTY: FeatureBits = FeatureBits([0; FEATURE_WORDS]);

    /// From ETHTOOL_GFEATURES words.
    pub fn from_words(words: &[u32]) -> Result<FeatureBits, TooManyFeatures> {
        if words.len() > FEATURE_WORDS {
            return Err(TooManyFeatures(words.len()));
        }
        let mut bits = FeatureBits::EMPTY;
        bits.0[..words.len()].copy_from_slice(words);
        Ok(bits)
    }

    /// Word `w` (0 past the end).
    pub fn word(&self, w: usize) -> u32 {
        self.0.get(w).copied().unwrap_or(0)
    }

    /// Whether bit `i` is set (false past the capacity).
    pub fn get(&self, i: usize) -> bool {
        self.0.get(i / 32).is_some_and(|w| w & (1 << (i % 32)) != 0)
    }

    /// Sets or clears bit `i`; bits past the capacity are ignored.
    pub fn set(&mut self, i: usize, on: bool) {
        if let Some(w) = self.0.get_mut(i / 32) {
            if on {
                *w |= 1 << (i % 32);
            } else {
                *w &= !(1 << (i % 32));
            }
        }
    }

    /// Bits set in both.
    pub fn and(self, other: FeatureBits) -> FeatureBits {
        FeatureBits(core::array::from_fn(|w| self.0[w] & other.0[w]))
    }

    /// Bits set here and not in `other`.
    pub fn and_not(self, other: FeatureBits) -> FeatureBits {
        FeatureBits(core::array::from_fn(|w| self.0[w] & !other.0[w]))
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// How many bits are set.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The four masks ETHTOOL_GFEATURES reports for an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureMasks {
    /// Changeable by the user (the driver's hw_features).
    pub available: FeatureBits,
    /// Asked for (wanted_features).
    pub requested: FeatureBits,
    /// In effect.
    pub active: FeatureBits,
    /// Never changeable (NETIF_F_NEVER_CHANGE).
    pub never_changed: FeatureBits,
}

impl FeatureMasks {
    /// `[fixed]` in `ethtool -k`: not available, or never changeable.
    pub fn is_fixed(&self, i: usize) -> bool {
        !self.available.get(i) || self.never_changed.get(i)
    }

    /// The bits a request may name in ETHTOOL_SFEATURES' `valid` mask.
    pub fn changeable(&self) -> FeatureBits {
        self.available.and_not(self.never_changed)
    }
}

/// What one word of an `ethtool -K` argument list names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTarget {
    /// A legacy group (`tso`, `tcp-segmentation-offload`): every kernel feature it covers.
    Legacy(&'static LegacyFeature),
    /// One kernel feature, by its bit index in the ETH_SS_FEATURES string set.
    Kernel(usize),
}

/// Why an `ethtool -K` argument list was refused (nothing is changed then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// A name that is neither a legacy name nor a kernel feature of this interface.
    UnknownFeature(&'a str),
    /// A name with no value after it.
    MissingValue(&'a str),
    /// A value other than `on` / `off`.
    BadValue {
        /// The feature name.
        name: &'a str,
        /// What followed it.
        value: &'a str,
    },
}

impl core::fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::UnknownFeature(name) => write!(f, "unknown feature '{name}'"),
            ParseError::MissingValue(name) => {
                write!(f, "feature '{name}' is not followed by 'on' or 'off'")
            }
            ParseError::BadValue { name, value } => {
                write!(
                    f,
                    "feature '{name}' is followed by '{value}', not 'on' or 'off'"
                )
            }
        }
    }
}

/// Parses `name on|off ...` pairs as `ethtool -K` does: legacy short and long
/// names first, then kernel feature names (looked up with `kernel_index`).
/// Calls `each` per pair; stops at the first error without calling it further,
/// so a caller that collects first and applies after changes nothing on error.
pub fn parse_set_args<'a>(
    args: &[&'a str],
    kernel_index: impl Fn(&str) -> Option<usize>,
    mut each: impl FnMut(SetTarget, bool),
) -> Result<(), ParseError<'a>> {
    // Validate everything before reporting anything.
    let mut pairs = args.chunks(2);
    for pair in pairs.by_ref() {
        let name = pair[0];
        let Some(&value) = pair.get(1) else {
            return Err(ParseError::MissingValue(name));
        };
        if value != "on" && value != "off" {
            return Err(ParseError::BadValue { name, value });
        }
        if legacy_by_name(name).is_none() && kernel_index(name).is_none() {
            return Err(ParseError::UnknownFeature(name));
        }
    }
    for pair in args.chunks(2) {
        let (name, on) = (pair[0], pair[1] == "on");
        let target = match legacy_by_name(name) {
            Some(legacy) => SetTarget::Legacy(legacy),
            None => SetTarget::Kernel(kernel_index(name).unwrap_or(usize::MAX)),
        };
        each(target, on);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_match_ethtool_6_1_kernel_strings() {
        let tx: Vec<_> = [
            "tx-checksum-ipv4",
            "tx-checksum-ip-generic",
            "tx-checksum-ipv6",
            "tx-checksum-fcoe-crc",
            "tx-checksum-sctp",
        ]
        .iter()
        .map(|n| legacy_group_of(n).map(|f| f.short_name))
        .collect();
        assert!(tx.iter().all(|g| *g == Some("tx")));
        assert_eq!(
            legacy_group_of("tx-tcp6-segmentation").unwrap().short_name,
            "tso"
        );
        assert_eq!(
            legacy_group_of("tx-tcp-mangleid-segmentation")
                .unwrap()
                .short_name,
            "tso"
        );
        assert_eq!(
            legacy_group_of("tx-scatter-gather-fraglist")
                .unwrap()
                .short_name,
            "sg"
        );
        assert_eq!(legacy_group_of("rx-gro").unwrap().short_name, "gro");
        assert!(legacy_group_of("rx-gro-hw").is_none());
        assert!(legacy_group_of("tx-gso-robust").is_none());
        assert!(legacy_group_of("").is_none());
    }

    #[test]
    fn host_reads_xapi_keys_like_xapi_and_xenopsd() {
        for key in [
            "ethtool-rx",
            "ethtool-tx",
            "ethtool-sg",
            "ethtool-tso",
            "ethtool-ufo",
            "ethtool-gso",
        ] {
            assert!(xapi_key_applied(XapiObject::Pif, key));
            assert!(xapi_key_applied(XapiObject::Vif, key));
        }
        for key in ["ethtool-gro", "ethtool-lro"] {
            assert!(xapi_key_applied(XapiObject::Pif, key));
            assert!(!xapi_key_applied(XapiObject::Vif, key));
        }
        assert!(!xapi_key_applied(XapiObject::Pif, "ethtool-sgo"));
        assert!(!xapi_key_applied(XapiObject::Pif, "ethtool-rxvlan"));
        assert_eq!(xapi_flag_value("off"), Some(false));
        assert_eq!(xapi_flag_value("true"), Some(true));
        for ignored in ["Off", "\u{201d}off\u{201d}", "\"off\"", "0", "", " off"] {
            assert_eq!(xapi_flag_value(ignored), None, "{ignored}");
        }
        // vif-real's $(xenstore-read) drops trailing newlines; xapi does not.
        assert_eq!(xapi_value_read(XapiObject::Vif, "false\n\n"), Some(false));
        assert_eq!(xapi_value_read(XapiObject::Pif, "false\n"), None);
        assert_eq!(xapi_value_read(XapiObject::Vif, "true"), Some(true));
    }

    #[test]
    fn seed_set_is_the_eight_xapi_groups() {
        let with_key: LegacyFeatures = LEGACY
            .iter()
            .filter(|f| f.xapi_key.is_some())
            .fold(LegacyFeatures::empty(), |acc, f| acc | f.flag);
        assert_eq!(with_key, LegacyFeatures::SEED);
        assert_eq!(
            legacy_by_xapi_key("ethtool-gso").unwrap().long_name,
            "generic-segmentation-offload"
        );
        assert_eq!(legacy_by_name("scatter-gather").unwrap().short_name, "sg");
    }

    #[test]
    fn parses_the_seed_list_and_kernel_names() {
        let kernel = |name: &str| (name == "tx-checksum-ip-generic").then_some(3);
        let mut seen = Vec::new();
        let args = [
            "rx",
            "off",
            "tcp-segmentation-offload",
            "on",
            "tx-checksum-ip-generic",
            "off",
        ];
        parse_set_args(&args, kernel, |t, on| seen.push((t, on))).unwrap();
        assert_eq!(seen[0], (SetTarget::Legacy(&LEGACY[0]), false));
        assert_eq!(seen[1], (SetTarget::Legacy(&LEGACY[3]), true));
        assert_eq!(seen[2], (SetTarget::Kernel(3), false));
    }

    #[test]
    fn refuses_bad_lists_before_reporting_any_pair() {
        let none = |_: &str| None;
        let mut calls = 0;
        assert_eq!(
            parse_set_args(&["rx", "off", "bogus", "on"], none, |_, _| calls += 1),
            Err(ParseError::UnknownFeature("bogus"))
        );
        assert_eq!(
            parse_set_args(&["tx"], none, |_, _| calls += 1),
            Err(ParseError::MissingValue("tx"))
        );
        assert_eq!(
            parse_set_args(&["tx", "maybe"], none, |_, _| calls += 1),
            Err(ParseError::BadValue {
                name: "tx",
                value: "maybe"
            })
        );
        assert_eq!(calls, 0);
    }

    #[test]
    fn feature_bits_hold_256_and_refuse_more() {
        let mut bits = FeatureBits::EMPTY;
        bits.set(0, true);
        bits.set(255, true);
        bits.set(256, true); // ignored: past the capacity
        assert!(bits.get(0) && bits.get(255) && !bits.get(256));
        assert_eq!(bits.count(), 2);
        assert_eq!(FeatureBits::from_words(&[1, 2]).unwrap().word(1), 2);
        assert_eq!(FeatureBits::from_words(&[0; 9]), Err(TooManyFeatures(9)));
        let masks = FeatureMasks {
            available: FeatureBits::from_words(&[0b0111]).unwrap(),
            never_changed: FeatureBits::from_words(&[0b0100]).unwrap(),
            ..FeatureMasks::default()
        };
        assert!(!masks.is_fixed(0) && masks.is_fixed(2) && masks.is_fixed(3));
        assert_eq!(masks.changeable().word(0), 0b0011);
    }
}
