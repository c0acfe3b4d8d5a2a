//! Intent against reality: the `ethtool-*` keys XAPI holds for a dom0
//! device (PIF `ethN`, VIF backend `vifD.N`, a network's bridge) against the features the
//! evidence shows live on it. A key the host applies but the device does not
//! show has not taken effect yet; a key the host never applies is a silent
//! no-op. The caller (the CLI, from XAPI's records) supplies the intent.

use offload_core::features::{legacy_by_xapi_key, xapi_flag_value, xapi_key_applied, XapiObject};
use serde::{Deserialize, Serialize};

use super::evidence::Evidence;
use super::rules::{Cause, Finding, Severity};

/// The keys XAPI holds for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The dom0 device.
    pub device: String,
    /// Whether the keys are a PIF's, a VIF's or a network's (its bridge; the
    /// host reads different sets).
    #[serde(with = "object_name")]
    pub object: XapiObject,
    /// `ethtool-tx` → `off` ...
    pub keys: std::collections::BTreeMap<String, String>,
}

mod object_name {
    use offload_core::features::XapiObject;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(o: &XapiObject, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match o {
            XapiObject::Pif => "pif",
            XapiObject::Vif => "vif",
            XapiObject::Network => "network",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<XapiObject, D::Error> {
        match String::deserialize(d)?.as_str() {
            "pif" => Ok(XapiObject::Pif),
            "vif" => Ok(XapiObject::Vif),
            other => Err(serde::de::Error::custom(format!(
                "object {other:?}: pif or vif"
            ))),
        }
    }
}

/// The findings of `intents` against the devices of `evidence` (devices
/// the evidence does not have are left out: nothing live to compare).
pub fn findings(evidence: &Evidence, intents: &[Intent]) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &evidence.namespaces {
        for intent in intents {
            let Some(device) = ns.devices.iter().find(|d| d.name == intent.device) else {
                continue;
            };
            let class = match intent.object {
                XapiObject::Pif => "PIF",
                XapiObject::Vif => "VIF",
                XapiObject::Network => "network",
            };
            let finding = |severity,
                           cause,
                           summary: String,
                           evidence: Vec<String>,
                           fix: Vec<String>,
                           note: &str| Finding {
                severity,
                cause,
                netns: ns.netns.clone(),
                device: Some(device.name.clone()),
                summary,
                evidence,
                knowledge: Vec::new(),
                fix,
                fix_note: Some(note.to_string()),
                weight: 1,
            };
            // Per wanted state: the short names not live, and the keys behind them.
            let mut not_live: [(Vec<&str>, Vec<String>); 2] = Default::default();
            for (key, value) in &intent.keys {
                let held = format!("XAPI {class} other-config:{key}={value}");
                let wanted = xapi_flag_value(value);
                let feature = legacy_by_xapi_key(key);
                let (Some(wanted), Some(feature), true) =
                    (wanted, feature, xapi_key_applied(intent.object, key))
                else {
                    out.push(finding(
                        Severity::Advice,
                        Cause::IntentIgnored,
                        format!("XAPI holds {key}={value} for {} but the host never applies it", device.name),
                        vec![held],
                        Vec::new(),
                        "the host reads exactly on/off/true/false, and on a VIF only rx, tx, sg, tso, ufo and gso; remove or correct the key",
                    ));
                    continue;
                };
                if device.offloads_on.contains(feature.short_name) != wanted {
                    let slot = &mut not_live[usize::from(wanted)];
                    slot.0.push(feature.short_name);
                    slot.1.push(held);
                }
            }
            let [(off, off_held), (on, on_held)] = not_live;
            let note = "the host applies the keys when the PIF is plugged or the VIF backend starts (xapi pif apply --replug, xapi vif apply --replug, or a VM restart); offloadctl set applies them now";
            if !off.is_empty() {
                let mut set = format!("offloadctl set {}", device.name);
                for name in &off {
                    set.push_str(&format!(" {name} off"));
                }
                if let Some(n) = &ns.netns {
                    set.push_str(&format!(" --netns {n}"));
                }
                out.push(finding(
                    Severity::Problem,
                    Cause::IntentNotLive,
                    format!(
                        "XAPI wants {} off on {} but live it is on: not applied yet",
                        off.join(", "),
                        device.name
                    ),
                    off_held,
                    vec![set],
                    note,
                ));
            }
            if !on.is_empty() {
                out.push(finding(
                    Severity::Advice,
                    Cause::IntentNotLive,
                    format!(
                        "XAPI wants {} on on {} but live it is off: not applied yet (or the device cannot)",
                        on.join(", "),
                        device.name
                    ),
                    on_held,
                    Vec::new(),
                    note,
                ));
            }
        }
    }
    out
}
