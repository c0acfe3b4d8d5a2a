//! The knowledge file of known offload problems: data, versioned
//! ([`SCHEMA`]), built into the binary ([`Knowledge::builtin`]) and
//! extensible with files of the same schema ([`Knowledge::extend_from_file`]).
//!
//! Each entry is keyed on the driver (as `ethtool -i` names it), optionally
//! PCI ids and a kernel version range, names the [`Signal`] in the evidence
//! that makes it apply, the symptom, the smallest set of offload keys that
//! fixes it (ethtool short names such as `tx`, or kernel feature strings
//! such as `tx-udp_tnl-csum-segmentation`) and the public sources it comes
//! from. Entries without drivers apply to any device: the general
//! prescriptions (TX-side errors: `tx`; RX errors on segments longer than
//! the MTU: `gro`).

use std::path::Path;

use offload_core::features::{legacy_by_name, xapi_key_applied, XapiObject};
use serde::{Deserialize, Serialize};

/// The schema every knowledge file declares.
pub const SCHEMA: &str = "offload.knowledge/1";

/// The built-in file.
const BUILTIN: &str = include_str!("../../knowledge/offload-problems.json");

/// What in the evidence makes an entry apply to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The kernel of the device's namespace dropped packets for bad
    /// checksums (`InCsumErrors` rose).
    ChecksumErrors,
    /// Frames sent from the device carry really incorrect checksums.
    TxIncorrect,
    /// Frames received on the device (no longer than the MTU) carry really
    /// incorrect checksums.
    RxIncorrect,
    /// Received segments longer than the MTU carry incorrect checksums
    /// (GRO/LRO merged them).
    RxOversizeIncorrect,
    /// Packets inside tunnels carry really incorrect checksums.
    TunnelIncorrect,
    /// Frames sent from the device are offload-pending (TX checksum offload;
    /// normal on its own).
    TxOffloadPending,
    /// The device's error counters (CRC, frame, checksum) rose.
    DeviceErrors,
    /// xen-netback's `rx_gso_checksum_fixup` rose.
    GsoChecksumFixup,
    /// The device exists: the driver (and ids, kernel) alone is the key.
    Present,
}

/// Which side an entry's keys are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Object {
    /// A host NIC (a PIF in XAPI).
    Pif,
    /// A guest's backend `vifD.N` (a VIF in XAPI).
    Vif,
    /// Either.
    Any,
}

/// PCI ids an entry is limited to (`"0x8086"`; no device id = any device of
/// the vendor).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PciMatch {
    /// Vendor id, hexadecimal.
    pub vendor: String,
    /// Device id, hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Kernel versions an entry is limited to: `from` inclusive, `before` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelRange {
    /// First affected version (`"4.19"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// First fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// One known problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Unique, stable id (`e1000e-i219-tso`).
    pub id: String,
    /// Driver names as ETHTOOL_GDRVINFO reports them; empty = any driver.
    #[serde(default)]
    pub drivers: Vec<String>,
    /// PCI ids; empty = any device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pci: Vec<PciMatch>,
    /// Kernel versions; none = every version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelRange>,
    /// Which side the keys are for.
    pub object: Object,
    /// The evidence that makes it apply.
    pub signal: Signal,
    /// What goes wrong.
    pub symptom: String,
    /// The smallest set of features to switch off (empty: no offload switch helps).
    pub keys: Vec<String>,
    /// Caveats (cost, restarts, conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Public sources (URLs).
    pub sources: Vec<String>,
}

/// A loaded set of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The entries, built-in ones first.
    pub entries: Vec<Entry>,
}

/// A knowledge file, recorded evidence or report that cannot be used
/// (unreadable, not JSON, other schema, invalid entries); nothing of it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file (`built-in` for the embedded one).
    pub path: String,
    /// What is wrong, one line per problem.
    pub problems: Vec<String>,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problems.join("; "))
    }
}

impl std::error::Error for InputError {}

/// A kernel release (`6.18.44-fc-v657`) as numbers, up to the first non-digit part.
pub fn kernel_version(release: &str) -> Vec<u32> {
    release
        .split(['.', '-', '+', '_'])
        .map_while(|part| part.parse().ok())
        .collect()
}

fn parse_hex(text: &str) -> Option<u16> {
    u16::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// The device an entry is checked against.
#[derive(Debug, Clone, Copy)]
pub struct DeviceKey<'a> {
    /// Driver name.
    pub driver: &'a str,
    /// PCI (vendor, device), if a PCI device.
    pub pci: Option<(u16, u16)>,
    /// Kernel release.
    pub kernel: &'a str,
    /// Host NIC or guest backend.
    pub object: Object,
}

impl Entry {
    /// Whether the entry is about this device (driver, ids, kernel, side);
    /// whether its signal is in the evidence is the engine's question.
    pub fn matches(&self, device: &DeviceKey<'_>) -> bool {
        let driver_ok = self.drivers.is_empty() || self.drivers.iter().any(|d| d == device.driver);
        let pci_ok = self.pci.is_empty()
            || device.pci.is_some_and(|(vendor, dev)| {
                self.pci.iter().any(|m| {
                    parse_hex(&m.vendor) == Some(vendor)
                        && m.device
                            .as_deref()
                            .is_none_or(|d| parse_hex(d) == Some(dev))
                })
            });
        let kernel_ok = self.kernel.as_ref().is_none_or(|range| {
            let k = kernel_version(device.kernel);
            range.from.as_deref().is_none_or(|f| k >= kernel_version(f))
                && range
                    .before
                    .as_deref()
                    .is_none_or(|b| k < kernel_version(b))
        });
        let object_ok = self.object == Object::Any || self.object == device.object;
        driver_ok && pci_ok && kernel_ok && object_ok
    }

    /// How specific the entry is: driver-specific entries rank above general ones.
    pub fn specificity(&self) -> u8 {
        u8::from(!self.drivers.is_empty())
            + u8::from(!self.pci.is_empty())
            + u8::from(self.kernel.is_some())
    }

    /// The problems of this entry; `kernel_features` are the kernel's
    /// feature strings a key may also be (empty: any well-formed name).
    pub fn problems(&self, kernel_features: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let id = &self.id;
        let well_formed = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        };
        if !well_formed(id) {
            out.push(format!(
                "id {id:?} is not lowercase letters, digits, '-' and '_'"
            ));
        }
        if self.symptom.trim().is_empty() {
            out.push(format!("{id}: no symptom"));
        }
        if self.sources.is_empty() {
            out.push(format!("{id}: no source"));
        }
        for s in &self.sources {
            if !s.starts_with("https://") || s.contains(char::is_whitespace) {
                out.push(format!("{id}: source {s:?} is not an https URL"));
            }
        }
        for d in &self.drivers {
            if d.is_empty() || d.len() > 31 {
                out.push(format!("{id}: driver name {d:?} cannot be one"));
            }
        }
        for m in &self.pci {
            if parse_hex(&m.vendor).is_none()
                || m.device.as_deref().is_some_and(|d| parse_hex(d).is_none())
            {
                out.push(format!(
                    "{id}: PCI ids {m:?} are not 0x-hexadecimal 16-bit numbers"
                ));
            }
        }
        if let Some(range) = &self.kernel {
            for v in [&range.from, &range.before].into_iter().flatten() {
                if kernel_version(v).is_empty() {
                    out.push(format!("{id}: kernel version {v:?} is not a version"));
                }
            }
            if range.from.is_none() && range.before.is_none() {
                out.push(format!("{id}: an empty kernel range"));
            }
        }
        let xapi_objects: &[XapiObject] = match self.object {
            Object::Pif => &[XapiObject::Pif],
            Object::Vif => &[XapiObject::Vif],
            Object::Any => &[XapiObject::Pif, XapiObject::Vif],
        };
        for key in &self.keys {
            match legacy_by_name(key) {
                Some(feature) if feature.short_name == key => {
                    if let Some(xapi_key) = feature.xapi_key {
                        for &o in xapi_objects {
                            if !xapi_key_applied(o, xapi_key) {
                                out.push(format!(
                                    "{id}: {xapi_key} is not applied on a {o:?} by XAPI"
                                ));
                            }
                        }
                    }
                }
                Some(_) => out.push(format!("{id}: key {key:?}: use the short name")),
                None if kernel_features.is_empty() && well_formed(key) => {}
                None if kernel_features.iter().any(|f| f == key) => {}
                None => out.push(format!(
                    "{id}: key {key:?} is neither an ethtool name nor a kernel feature"
                )),
            }
        }
        let mut sorted = self.keys.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.keys.len() {
            out.push(format!("{id}: a key is listed twice"));
        }
        out
    }
}

impl Knowledge {
    /// The built-in file (validated by the crate's tests).
    pub fn builtin() -> Knowledge {
        Knowledge::parse(BUILTIN, "built-in").expect("the built-in knowledge file is valid")
    }

    /// Parses and validates one file's text.
    pub fn parse(text: &str, path: &str) -> Result<Knowledge, InputError> {
        let error = |problems| InputError {
            path: path.to_string(),
            problems,
        };
        let knowledge: Knowledge =
            serde_json::from_str(text).map_err(|e| error(vec![e.to_string()]))?;
        if knowledge.schema != SCHEMA {
            return Err(error(vec![format!(
                "schema {:?}, this version reads {SCHEMA:?}",
                knowledge.schema
            )]));
        }
        let problems = knowledge.problems(&[]);
        if problems.is_empty() {
            Ok(knowledge)
        } else {
            Err(error(problems))
        }
    }

    /// Adds the entries of `path` (same schema); an id already known is refused.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), InputError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            path: shown.clone(),
            problems: vec![e.to_string()],
        })?;
        let more = Knowledge::parse(&text, &shown)?;
        let mut merged = self.clone();
        merged.entries.extend(more.entries);
        let problems = merged.problems(&[]);
        if !problems.is_empty() {
            return Err(InputError {
                path: shown,
                problems,
            });
        }
        *self = merged;
        Ok(())
    }

    /// Every problem of every entry, and duplicates (same id, or the same
    /// drivers, ids, kernel range, side and signal twice).
    pub fn problems(&self, kernel_features: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries
            .iter()
            .flat_map(|e| e.problems(kernel_features))
            .collect();
        for (i, a) in self.entries.iter().enumerate() {
            for b in &self.entries[i + 1..] {
                if a.id == b.id {
                    out.push(format!("id {} is used twice", a.id));
                } else if (&a.drivers, &a.pci, &a.kernel, a.object, a.signal)
                    == (&b.drivers, &b.pci, &b.kernel, b.object, b.signal)
                {
                    out.push(format!(
                        "{} and {} have the same keys and signal",
                        a.id, b.id
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: "lab-veth".into(),
            drivers: vec!["veth".into()],
            pci: vec![],
            kernel: Some(KernelRange {
                from: Some("5.10".into()),
                before: None,
            }),
            object: Object::Pif,
            signal: Signal::Present,
            symptom: "a test".into(),
            keys: vec!["tx".into()],
            note: None,
            sources: vec!["https://example.org/x".into()],
        }
    }

    #[test]
    fn matching_by_driver_ids_and_kernel() {
        let e = entry();
        let veth = DeviceKey {
            driver: "veth",
            pci: None,
            kernel: "6.18.44-fc-v657",
            object: Object::Pif,
        };
        assert!(e.matches(&veth));
        assert!(!e.matches(&DeviceKey {
            kernel: "5.4.0",
            ..veth
        }));
        assert!(!e.matches(&DeviceKey {
            driver: "e1000e",
            ..veth
        }));
        assert!(!e.matches(&DeviceKey {
            object: Object::Vif,
            ..veth
        }));
        let mut by_id = e.clone();
        by_id.pci = vec![PciMatch {
            vendor: "0x8086".into(),
            device: Some("0x1570".into()),
        }];
        assert!(!by_id.matches(&veth));
        assert!(by_id.matches(&DeviceKey {
            pci: Some((0x8086, 0x1570)),
            ..veth
        }));
        assert_eq!(kernel_version("6.18.44-fc-v657"), [6, 18, 44]);
    }

    #[test]
    fn invalid_entries_are_named() {
        let mut bad = entry();
        bad.keys = vec!["tx".into(), "tx-checksumming".into(), "no such key!".into()];
        bad.sources = vec![];
        bad.object = Object::Vif;
        bad.keys.push("gro".into());
        let problems = bad.problems(&[]);
        let text = problems.join("\n");
        assert!(text.contains("no source"), "{text}");
        assert!(text.contains("use the short name"), "{text}");
        assert!(text.contains("neither an ethtool name"), "{text}");
        assert!(
            text.contains("ethtool-gro is not applied on a Vif"),
            "{text}"
        );
        let twice = Knowledge {
            schema: SCHEMA.into(),
            entries: vec![entry(), entry()],
        };
        assert!(twice.problems(&[]).iter().any(|p| p.contains("used twice")));
        assert!(Knowledge::parse("{\"schema\": \"other/9\", \"entries\": []}", "x").is_err());
    }
}
