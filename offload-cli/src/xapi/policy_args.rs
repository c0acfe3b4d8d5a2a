//! `--preset` / `--set`, shared by `pif`, `vif`, `watch` and `host`; the
//! answer is offload-xapi's [`PolicySpec`].

use offload_xapi::policy::Policy;
use offload_xapi::{Error, PolicySpec};

#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// A named policy: seed (the seed's six keys off) or tx-only (ethtool-tx=off on VIFs).
    // No clap conflict with --set: offload-xapi's PolicySpec refuses both,
    // with the same answer as C and Python.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Explicit settings, e.g. tx=off,sg=off (ethtool names or XAPI keys; on|off|true|false).
    #[arg(long, value_name = "KEY=VALUE,..")]
    pub set: Option<String>,
}

impl PolicyArgs {
    pub fn spec(&self) -> PolicySpec {
        PolicySpec {
            preset: self.preset.clone(),
            settings: self.set.clone(),
        }
    }

    pub fn policy(&self) -> Result<Policy, Error> {
        self.spec().resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        policy: PolicyArgs,
    }

    fn parse(args: &[&str]) -> Result<PolicyArgs, clap::Error> {
        Flags::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|f| f.policy)
    }

    #[test]
    fn flags_become_the_shared_spec() {
        assert_eq!(
            parse(&["--preset", "seed"]).unwrap().policy().unwrap().name,
            "seed"
        );
        assert_eq!(
            parse(&["--set", "tx=off"]).unwrap().spec(),
            PolicySpec {
                preset: None,
                settings: Some("tx=off".into())
            }
        );
        assert!(matches!(
            parse(&[]).unwrap().policy(),
            Err(Error::Spec(offload_xapi::SpecError::NoPolicy))
        ));
        assert!(matches!(
            parse(&["--preset", "seed", "--set", "tx=off"])
                .unwrap()
                .policy(),
            Err(Error::Spec(offload_xapi::SpecError::PresetAndSettings))
        ));
    }
}
