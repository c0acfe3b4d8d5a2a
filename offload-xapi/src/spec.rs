//! What a front-end was given, resolved once: a policy named by a preset or
//! by settings, and how to trust the host's certificate.
//!
//! The CLI's flags, the C request's JSON fields and the Python keywords all
//! become a [`PolicySpec`] and a [`TrustSpec`]; the answer (a [`Policy`], a
//! [`Trust`] or a [`SpecError`]) is decided here and nowhere else.

use crate::error::{Error, Result, SpecError};
use crate::policy::Policy;
use crate::tls::{parse_fingerprint, Trust};

/// A policy as a caller names it: exactly one of a preset or settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySpec {
    /// A preset word (`seed`, `tx-only`).
    pub preset: Option<String>,
    /// Settings as `tx=off,sg=off`.
    pub settings: Option<String>,
}

impl PolicySpec {
    /// The policy; there is no default, and a preset with settings is refused.
    pub fn resolve(&self) -> Result<Policy> {
        match (&self.preset, &self.settings) {
            (Some(name), None) => Policy::preset(name),
            (None, Some(spec)) => Policy::from_settings(spec),
            (Some(_), Some(_)) => Err(Error::Spec(SpecError::PresetAndSettings)),
            (None, None) => Err(Error::Spec(SpecError::NoPolicy)),
        }
    }
}

/// Certificate trust as a caller names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSpec {
    /// A SHA-256 fingerprint to pin (hex, colons allowed).
    pub fingerprint: Option<String>,
    /// Skip the certificate check.
    pub insecure: bool,
}

impl TrustSpec {
    /// The trust; a pin with `insecure` is refused (neither silently wins).
    pub fn resolve(&self) -> Result<Trust> {
        match (&self.fingerprint, self.insecure) {
            (Some(_), true) => Err(Error::Spec(SpecError::FingerprintAndInsecure)),
            (Some(text), false) => Ok(Trust::Pinned(parse_fingerprint(text)?)),
            (None, true) => Ok(Trust::Insecure),
            (None, false) => Ok(Trust::System),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(preset: Option<&str>, settings: Option<&str>) -> Result<Policy> {
        PolicySpec {
            preset: preset.map(str::to_string),
            settings: settings.map(str::to_string),
        }
        .resolve()
    }

    #[test]
    fn a_policy_needs_exactly_one_source() {
        assert_eq!(policy(Some("seed"), None).unwrap().name, "seed");
        assert_eq!(policy(None, Some("tx=off")).unwrap().name, "custom");
        assert!(matches!(
            policy(None, None),
            Err(Error::Spec(SpecError::NoPolicy))
        ));
        assert!(matches!(
            policy(Some("seed"), Some("tx=off")),
            Err(Error::Spec(SpecError::PresetAndSettings))
        ));
        assert!(matches!(
            policy(Some("fast"), None),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn trust_refuses_a_pin_with_insecure() {
        let pin = "ab".repeat(32);
        let spec = |fingerprint: Option<&str>, insecure| TrustSpec {
            fingerprint: fingerprint.map(str::to_string),
            insecure,
        };
        assert_eq!(spec(None, false).resolve().unwrap(), Trust::System);
        assert_eq!(spec(None, true).resolve().unwrap(), Trust::Insecure);
        assert_eq!(
            spec(Some(&pin), false).resolve().unwrap(),
            Trust::Pinned([0xab; 32])
        );
        assert!(matches!(
            spec(Some(&pin), true).resolve(),
            Err(Error::Spec(SpecError::FingerprintAndInsecure))
        ));
        assert!(matches!(
            spec(Some("zz"), false).resolve(),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
