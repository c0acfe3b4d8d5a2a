//! The evidence readers against the tools admins trust, in a namespace lab:
//! device statistics against `ethtool -S`, driver identity against
//! `ethtool -i`, `/sys/class/net/*/statistics` against `cat` and the kernel's
//! protocol counters against `nstat -az`, each run with `ip netns exec`.
//! Counters that may move are read ours, theirs, ours: theirs must lie between.
//! Damaged frames injected at one end of a veth make the other namespace's
//! kernel count real checksum errors, so the compared counters are not all zero.

use std::collections::BTreeMap;

use offload_ethtool::features::Ethtool;
use offload_ethtool::mib::MibSnapshot;
use offload_ethtool::netns::run_in;
use offload_ethtool::sysfs::with_sysfs_in;
use offload_ethtool::IfName;
use offload_testkit::guard::Netns;
use offload_testkit::lab::PathLab;
use offload_testkit::{require_program, require_root};

/// Every counter theirs must lie between our two readings.
fn assert_between(
    what: &str,
    before: &BTreeMap<String, u64>,
    theirs: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) {
    assert!(!theirs.is_empty(), "{what}: the peer printed nothing");
    for (name, &value) in theirs {
        let (Some(&lo), Some(&hi)) = (before.get(name), after.get(name)) else {
            panic!("{what}: {name} is printed by the peer but not read by us");
        };
        assert!(
            lo <= value && value <= hi,
            "{what}: {name}: peer {value}, ours {lo} then {hi}"
        );
    }
}

#[test]
fn device_stats_and_driver_match_ethtool() {
    require_root!();
    require_program!("ethtool");
    let lab = PathLab::new("ev");
    lab.inject_damaged(3, 100);
    let ifname = IfName::new(lab.vb.as_str()).unwrap();
    let read = |ns: &Netns| {
        run_in(Some(ns.name()), move || {
            let e = Ethtool::open()?;
            Ok::<_, offload_ethtool::Error>((e.device_stats(&ifname)?, e.driver(&ifname)?))
        })
        .expect("reading in the namespace")
    };
    let (ours_before, driver) = read(&lab.b);
    let theirs_s = lab.b.stdout("ethtool", &["-S", &lab.vb]);
    let (ours_after, _) = read(&lab.b);
    assert_eq!(
        driver.render_ethtool_i(),
        lab.b.stdout("ethtool", &["-i", &lab.vb])
    );
    assert_eq!(driver.driver, "veth");
    assert!(driver.supports_statistics);
    let as_map = |s: &offload_ethtool::stats::DeviceStats| -> BTreeMap<String, u64> {
        s.iter().map(|(n, v)| (n.to_string(), v)).collect()
    };
    let theirs: BTreeMap<String, u64> = theirs_s
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (n, v) = l.trim().rsplit_once(": ")?;
            Some((n.to_string(), v.parse().ok()?))
        })
        .collect();
    assert_eq!(theirs.len(), ours_before.counters.len(), "{theirs_s}");
    assert_between(
        "ethtool -S",
        &as_map(&ours_before),
        &theirs,
        &as_map(&ours_after),
    );
    if ours_before == ours_after {
        assert_eq!(ours_before.render_ethtool_s(), theirs_s);
    }
    // A veth's peer_ifindex is the other end's index: a real value, not zero.
    assert!(ours_before.get("peer_ifindex").is_some_and(|i| i > 0));
}

#[test]
fn sysfs_statistics_and_kernel_counters_match_cat_and_nstat() {
    require_root!();
    require_program!("nstat");
    let lab = PathLab::new("ev");
    let ifname = IfName::new(lab.vb.as_str()).unwrap();
    let b = lab.b.name().to_string();
    let mib = || MibSnapshot::read_in(Some(&b)).expect("reading the counters");
    let link = || {
        with_sysfs_in(Some(&b), move |sys| {
            Ok((
                sys.link_stats(&ifname)?,
                sys.mtu(&ifname)?,
                sys.pci_ids(&ifname)?,
            ))
        })
        .expect("reading sysfs in the namespace")
    };
    let mib_start = mib();
    let (link_start, _, _) = link();
    lab.inject_damaged(4, 100);
    let (link_before, mtu, pci) = link();
    let script = format!(
        "cd /sys/class/net/{}/statistics && for f in *; do echo \"$f $(cat $f)\"; done",
        lab.vb
    );
    let theirs_link: BTreeMap<String, u64> = lab
        .b
        .stdout("sh", &["-c", &script])
        .lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(' ')?;
            Some((n.to_string(), v.parse().ok()?))
        })
        .collect();
    let (link_after, _, _) = link();
    assert_between(
        "/sys/class/net/*/statistics",
        &link_before.counters,
        &theirs_link,
        &link_after.counters,
    );
    assert_eq!(mtu, 1500);
    assert_eq!(pci, None, "a veth is no PCI device");
    // The 8 injected frames arrived at vb.
    let rx = link_before.delta(&link_start)["rx_packets"];
    assert!(rx >= 8, "rx_packets went up by {rx}");

    let mib_before = mib();
    let theirs_mib = lab.b.nstat();
    let mib_after = mib();
    assert_between(
        "nstat -az",
        &mib_before.counters,
        &theirs_mib,
        &mib_after.counters,
    );
    // The receiving kernel counted the damaged checksums as such.
    let delta = mib_before.delta(&mib_start);
    assert_eq!(delta["UdpInCsumErrors"], 4, "{delta:?}");
    assert_eq!(delta["TcpInCsumErrors"], 4, "{delta:?}");
    assert_eq!(theirs_mib["UdpInCsumErrors"], 4);
    eprintln!(
        "lab: rx_packets +{rx}; UdpInCsumErrors ours {} nstat {}; TcpInCsumErrors ours {} nstat {}",
        mib_before.counters["UdpInCsumErrors"],
        theirs_mib["UdpInCsumErrors"],
        mib_before.counters["TcpInCsumErrors"],
        theirs_mib["TcpInCsumErrors"]
    );
    // The namespace A saw none of it: counters follow the reading thread.
    let a = MibSnapshot::read_in(Some(lab.a.name())).unwrap();
    assert_eq!(a.get("UdpInCsumErrors"), Some(0));
}
