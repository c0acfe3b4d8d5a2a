//! The built-in knowledge file is valid: its schema, every entry's symptom
//! and sources, no duplicates, and every key a real ethtool name with an
//! XAPI key the host applies on that side, or a feature string this very
//! kernel reports (read from `lo` through ETHTOOL_GSTRINGS).

use offload_diagnose::doctor::knowledge::{Knowledge, Signal, SCHEMA};
use offload_ethtool::features::FeatureState;
use offload_ethtool::IfName;

#[test]
fn every_builtin_entry_is_valid_against_this_kernel() {
    let lo = FeatureState::read(&IfName::new("lo").unwrap()).expect("reading lo's features");
    let names: Vec<String> = lo.names.into_iter().filter(|n| !n.is_empty()).collect();
    assert!(names.iter().any(|n| n == "tx-udp_tnl-csum-segmentation"));
    let knowledge = Knowledge::builtin();
    assert_eq!(knowledge.schema, SCHEMA);
    assert_eq!(knowledge.problems(&names), Vec::<String>::new());
    assert!(knowledge.entries.len() >= 8);
    // Only the entries whose signal says no switch helps may have no keys.
    for e in &knowledge.entries {
        assert!(
            !e.keys.is_empty() || e.signal == Signal::GsoChecksumFixup,
            "{} has no keys",
            e.id
        );
    }
    // A key that is no kernel feature is refused once the kernel's list is known.
    let mut bad = knowledge.clone();
    bad.entries[0].keys = vec!["tx-made-up-offload".into()];
    assert!(!bad.problems(&names).is_empty());
}
