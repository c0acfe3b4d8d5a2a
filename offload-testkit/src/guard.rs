//! The one root/capability/namespace guard every test goes through.
//!
//! A test that needs root calls [`crate::require_root!`] first. Without root it
//! prints `SKIPPED <test>: <why>` on stderr (which `cargo xtask test` counts
//! and reports) and returns, instead of passing silently. When the
//! environment says root is expected (`OFFLOAD_TESTS_NEED_ROOT=1`, set by
//! `cargo xtask test` when it runs as root), a missing privilege fails the
//! test instead, so CI can never skip by accident.
//!
//! [`Netns`] makes a private network namespace with a unique name and removes
//! it on drop, also when the test panics: tests never touch the root
//! namespace's interfaces.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether this process runs with an effective uid of 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Why a privileged test cannot run here, or `None` when it can.
pub fn missing_root() -> Option<&'static str> {
    if is_root() {
        return None;
    }
    if std::env::var_os("OFFLOAD_TESTS_NEED_ROOT").is_some_and(|v| v == "1") {
        panic!("OFFLOAD_TESTS_NEED_ROOT=1 but the test does not run as root");
    }
    Some("needs root (network namespaces, CAP_NET_ADMIN, CAP_NET_RAW)")
}

/// Prints the visible skip line that `cargo xtask test` counts.
pub fn report_skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// Returns from the calling test, with a visible `SKIPPED` line, unless it
/// runs as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if let Some(why) = $crate::guard::missing_root() {
            $crate::guard::report_skip(module_path!(), why);
            return;
        }
    };
}

/// Runs `ip` with `args`; panics with the command line when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A private network namespace, deleted (with every interface in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `<prefix><pid>x<n>`, unique within this process and across
    /// concurrent test processes, with `lo` up.
    pub fn new(prefix: &str) -> Netns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}{}x{n}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// The name under /run/netns.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <this namespace> args...`.
    pub fn ip(&self, args: &[&str]) {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full);
    }

    /// Adds a veth pair `a`/`b`, both inside this namespace and up.
    pub fn add_veth(&self, a: &str, b: &str) {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        self.ip(&["link", "set", a, "up"]);
        self.ip(&["link", "set", b, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
