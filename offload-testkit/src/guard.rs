//! The one root/capability/namespace guard every test goes through.
//!
//! A test that needs root calls [`crate::require_root!`] first, one that needs a
//! program [`crate::require_program!`]. When the need is not met the test prints
//! `SKIPPED <test>: <why>` straight to the process's stderr (past the test
//! harness's capture, so `cargo xtask test` sees, counts and reports it) and
//! returns, instead of passing silently. When the environment says every
//! test must run (`OFFLOAD_TESTS_NEED_ROOT=1`, set by `cargo xtask test` when
//! it runs as root and has installed the tools), a skip fails the test
//! instead, so CI can never skip by accident.
//!
//! [`Netns`] makes a private network namespace with a unique name and removes
//! it on drop, also when the test panics: tests never touch the root
//! namespace's interfaces.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable that turns every skip into a failure.
pub const NEED_ROOT_VAR: &str = "OFFLOAD_TESTS_NEED_ROOT";

/// The line prefix `cargo xtask test` counts.
pub const SKIPPED_PREFIX: &str = "SKIPPED ";

/// Capabilities the interface tests use: CAP_NET_ADMIN (12), CAP_NET_RAW
/// (13), CAP_SYS_ADMIN (21, for setns and `ip netns add`).
const NEEDED_CAPS: [(u32, &str); 3] = [
    (12, "CAP_NET_ADMIN"),
    (13, "CAP_NET_RAW"),
    (21, "CAP_SYS_ADMIN"),
];

/// Whether this process runs with an effective uid of 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Why a privileged test cannot run here (not root, or root without the
/// capabilities, as in an unprivileged container), or `None` when it can.
pub fn missing_root() -> Option<String> {
    if !is_root() {
        return Some("needs root (network namespaces, CAP_NET_ADMIN, CAP_NET_RAW)".into());
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())?;
    let lacking: Vec<&str> = NEEDED_CAPS
        .iter()
        .filter(|(bit, _)| effective & (1 << bit) == 0)
        .map(|(_, name)| *name)
        .collect();
    (!lacking.is_empty()).then(|| format!("runs as root without {}", lacking.join(", ")))
}

/// Why a test that runs `program` cannot run here, or `None` when it is on
/// `PATH` (or in /usr/sbin, /sbin, where root's tools live).
pub fn missing_program(program: &str) -> Option<String> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    let found = on_path
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|dir| Path::new(dir).join(program).is_file());
    (!found).then(|| format!("needs {program}, which is not installed"))
}

/// Reports that `test` cannot run here: the visible `SKIPPED <test>: <why>`
/// line, or a panic when [`NEED_ROOT_VAR`] is `1`.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os(NEED_ROOT_VAR).is_some_and(|v| v == "1") {
        panic!("{test}: {why}, but {NEED_ROOT_VAR}=1 says every test must run here");
    }
    // `eprintln!` would be captured by the test harness and shown only on
    // failure; the skip line must reach whoever runs the suite.
    // One write, so lines from tests running in parallel never interleave.
    let line = format!("{SKIPPED_PREFIX}{test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The path of the function this expands in (the test's name).
#[macro_export]
macro_rules! test_name {
    () => {{
        fn here() {}
        fn name_of<T>(_: T) -> &'static str {
            ::std::any::type_name::<T>()
        }
        let name = name_of(here);
        name.strip_suffix("::here").unwrap_or(name)
    }};
}

/// Returns from the calling test with a visible `SKIPPED` line unless it runs
/// as root with the network capabilities. `require_root!(value)` returns
/// `value` instead, for helpers that return an `Option`.
#[macro_export]
macro_rules! require_root {
    () => {
        $crate::require_root!(())
    };
    ($skipped:expr) => {
        if let Some(why) = $crate::guard::missing_root() {
            $crate::guard::skip($crate::test_name!(), &why);
            return $skipped;
        }
    };
}

/// Returns from the calling test with a visible `SKIPPED` line unless
/// `program` is installed. `require_program!(program, value)` returns `value`.
#[macro_export]
macro_rules! require_program {
    ($program:expr) => {
        $crate::require_program!($program, ())
    };
    ($program:expr, $skipped:expr) => {
        if let Some(why) = $crate::guard::missing_program($program) {
            $crate::guard::skip($crate::test_name!(), &why);
            return $skipped;
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

    /// Runs `program args...` inside this namespace (`ip netns exec`).
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {program}: {e}", self.name))
    }

    /// [`Netns::exec`]'s standard output; panics with its stderr when it fails.
    pub fn stdout(&self, program: &str, args: &[&str]) -> String {
        let out = self.exec(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} in {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `nstat -asz` here: every kernel protocol counter by name, as iproute2
    /// reads it (absolute values, zeros included, history untouched).
    pub fn nstat(&self) -> BTreeMap<String, u64> {
        self.stdout("nstat", &["-asz"])
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some((words.next()?.to_string(), words.next()?.parse().ok()?))
            })
            .collect()
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

#[cfg(test)]
mod tests {
    #[test]
    fn test_name_is_the_enclosing_function() {
        assert_eq!(
            crate::test_name!(),
            "offload_testkit::guard::tests::test_name_is_the_enclosing_function"
        );
    }

    #[test]
    fn a_program_is_found_on_path_or_not() {
        assert_eq!(super::missing_program("sh"), None);
        assert!(super::missing_program("no-such-program-offload").is_some());
    }
}
