//! `cargo xtask test`: every test stage, one summary line each.
//!
//! Stages that need something this machine lacks (root, a tool) skip with a
//! visible reason instead of passing silently.

use std::process::Command;
use std::time::Instant;

use crate::util::{self, cargo};

/// What a stage found.
pub enum Outcome {
    Passed,
    /// Passed, but these tests reported themselves skipped (`SKIPPED <test>: <why>`).
    PassedSkipping(Vec<String>),
    Skipped(String),
}

type StageFn = fn() -> Result<Outcome, String>;

/// The stages in order. Later issues append theirs (C tests, Python tests, ...).
pub const STAGES: &[(&str, StageFn)] = &[
    ("bootstrap", bootstrap),
    // First, as the README orders it: a fresh clone's first command.
    ("demo", first_run_demo),
    ("fmt", fmt),
    ("deny", deny),
    ("clippy", clippy),
    ("test", workspace_tests),
    ("pytest_py", pytest_py),
    ("plugin", plugin),
    ("c_tests", crate::c_tests::stage),
    ("pytest_xapi", crate::xapi_sim::pytest_stage),
    ("ansible", crate::ansible::stage),
    ("no_std", no_std_build),
    ("loom", loom_models),
    ("doc", rustdoc),
    ("dist", dist),
];

pub fn run(args: &[String]) -> Result<(), String> {
    let only: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(unknown) = only
        .iter()
        .find(|name| !STAGES.iter().any(|(stage, _)| stage == *name))
    {
        return Err(format!(
            "no stage named `{unknown}` (stages: {})",
            STAGES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut summary = Vec::new();
    let mut skipped_tests = Vec::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, stage) in STAGES {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        eprintln!("==> stage {name}");
        let started = Instant::now();
        let result = stage();
        let secs = started.elapsed().as_secs_f64();
        let line = match result {
            Ok(Outcome::Passed) => {
                passed += 1;
                format!("stage {name:<10} ok       {secs:7.1}s")
            }
            Ok(Outcome::PassedSkipping(tests)) => {
                passed += 1;
                let line = format!(
                    "stage {name:<10} ok       {secs:7.1}s  {} test(s) skipped",
                    tests.len()
                );
                skipped_tests.extend(tests);
                line
            }
            Ok(Outcome::Skipped(why)) => {
                skipped += 1;
                format!("stage {name:<10} SKIPPED  {secs:7.1}s  {why}")
            }
            Err(why) => {
                failed += 1;
                format!("stage {name:<10} FAILED   {secs:7.1}s  {why}")
            }
        };
        eprintln!("{line}");
        summary.push(line);
    }
    println!();
    for line in &summary {
        println!("{line}");
    }
    for test in &skipped_tests {
        println!("  {test}");
    }
    println!("stages: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        Err(format!("{failed} stage(s) failed"))
    } else {
        Ok(())
    }
}

fn bootstrap() -> Result<Outcome, String> {
    util::ensure_debian_packages()?;
    // Building cargo-deny keeps the CPUs busy while the Python installs mostly
    // wait on downloads: side by side they save minutes on a fresh clone.
    let deny = std::thread::spawn(util::ensure_cargo_deny);
    let python = util::ensure_venv().and_then(|_| crate::ansible::prime());
    let deny = deny
        .join()
        .unwrap_or_else(|_| Err("building cargo-deny panicked".to_string()));
    python?;
    deny?;
    Ok(Outcome::Passed)
}

/// Every dependency's licence is one `deny.toml` allows, no banned crate, and
/// every crate comes from crates.io (`cargo deny check licenses bans sources`).
fn deny() -> Result<Outcome, String> {
    let mut c = Command::new(util::ensure_cargo_deny()?);
    c.args(["deny", "--locked", "check", "licenses", "bans", "sources"]);
    util::run(c).map(|()| Outcome::Passed)
}

fn fmt() -> Result<Outcome, String> {
    let mut c = cargo();
    c.args(["fmt", "--all", "--check"]);
    util::run(c).map(|()| Outcome::Passed)
}

fn clippy() -> Result<Outcome, String> {
    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    util::run(c).map(|()| Outcome::Passed)
}

/// Every Rust test. Tests that cannot run here say `SKIPPED <test>: <why>`
/// (offload-testkit's guard); they are counted and listed in the summary. As
/// root, with the tools installed by `bootstrap`, nothing may skip:
/// OFFLOAD_TESTS_NEED_ROOT=1 turns a skip into a failure.
fn workspace_tests() -> Result<Outcome, String> {
    let mut c = cargo();
    c.args(["test", "--workspace"]);
    if util::is_root() {
        c.env("OFFLOAD_TESTS_NEED_ROOT", "1");
    }
    let skipped = util::run_collecting(c, "SKIPPED ")?;
    Ok(if skipped.is_empty() {
        Outcome::Passed
    } else {
        Outcome::PassedSkipping(skipped)
    })
}

/// offload-core must build as a `no_std` library that links no allocator.
fn no_std_build() -> Result<Outcome, String> {
    let mut c = cargo();
    c.args(["build", "-p", "offload-core", "--no-default-features"]);
    util::run(c)?;
    let root = util::workspace_root().join("offload-core/src");
    let mut offenders = Vec::new();
    util::walk_files(&root, &mut |path| {
        if path.extension().is_none_or(|e| e != "rs") {
            return;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains("extern crate alloc") || text.contains("extern crate std") {
            offenders.push(path.display().to_string());
        }
    });
    if offenders.is_empty() {
        Ok(Outcome::Passed)
    } else {
        Err(format!(
            "offload-core pulls in alloc/std: {}",
            offenders.join(", ")
        ))
    }
}

/// `cargo xtask dist` in full: offloadctl and liboffload for glibc 2.17 with
/// every GLIBC_ symbol version checked, the RPM's files and requirements, the
/// wheel's tags. Incremental in target/dist-build after the first run.
fn dist() -> Result<Outcome, String> {
    let report = crate::dist::build()?;
    report.print();
    Ok(Outcome::Passed)
}

/// The README's first command on a fresh clone, proved as such: `cargo xtask
/// demo` through the cargo alias in an empty target directory of its own
/// (`target/first-run`, removed first), so a build step that only works after
/// `cargo xtask test` has built something fails here. As root the whole lab;
/// then (or without root, only) the path a user without root gets. It fails on
/// any unexpected before/after verdict.
fn first_run_demo() -> Result<Outcome, String> {
    let target = util::workspace_root().join("target/first-run");
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .map_err(|e| format!("cannot empty {}: {e}", target.display()))?;
    }
    let demo = |args: &[&str]| {
        let mut c = cargo();
        c.env("CARGO_TARGET_DIR", &target)
            .args(["xtask", "demo"])
            .args(args);
        util::run(c)
    };
    if util::is_root() {
        demo(&[])?;
    }
    demo(&["--no-lab"]).map(|()| Outcome::Passed)
}

/// Rustdoc for every crate, warnings denied (broken links, bad code blocks).
fn rustdoc() -> Result<Outcome, String> {
    let mut c = cargo();
    c.env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--workspace", "--no-deps"]);
    util::run(c).map(|()| Outcome::Passed)
}

/// The loom models (`tests/loom_*.rs`, compiled only under `cfg(offload_loom)`),
/// in their own target dir so the flag does not invalidate the normal build.
fn loom_models() -> Result<Outcome, String> {
    let root = util::workspace_root();
    let mut packages = Vec::new();
    for krate in ["offload-core", "offload-xapi", "offload-ethtool"] {
        let tests = root.join(krate).join("tests");
        let has_model = std::fs::read_dir(&tests)
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("loom_"))
            })
            .unwrap_or(false);
        if has_model {
            packages.push(krate);
        }
    }
    if packages.is_empty() {
        return Ok(Outcome::Skipped("no loom models yet".into()));
    }
    let mut c: Command = cargo();
    // Debug build with only loom and the modelled crates optimised: the
    // models run as fast as in release, without a release build of every
    // dependency (rustls, ring, ...): about 1 minute instead of 5.
    c.env("RUSTFLAGS", "--cfg offload_loom")
        .env("LOOM_MAX_PREEMPTIONS", "2")
        .env("CARGO_TARGET_DIR", root.join("target/loom"))
        .arg("test");
    for optimised in ["loom", "offload-core", "offload-xapi", "offload-ethtool"] {
        c.args([
            "--config",
            &format!("profile.dev.package.{optimised}.opt-level=3"),
        ]);
    }
    for p in &packages {
        c.args(["-p", p]);
    }
    c.args(["--test", "loom_*"]);
    util::run(c).map(|()| Outcome::Passed)
}

/// The dom0 plugin (offload-py/plugins/offload): its syntax level with vermin
/// (it must run on dom0's Python 2.7 and 3.6), then its pytest suite: the
/// XenAPIPlugin contract, both backends (ctypes over the liboffload cdylib built
/// here; the pyo3 module when importable), a netns lab when root, and
/// `host.call_plugin` through the simulator (this binary's `xapi-sim`).
fn plugin() -> Result<Outcome, String> {
    let venv = util::ensure_venv()?;
    let mut vermin = Command::new(venv.join("bin/vermin"));
    // `-t=V-` means "V or older"; a bare `-t=V` would demand exactly V.
    vermin.args([
        "-t=2.7-",
        "-t=3.6-",
        "--violations",
        "--no-tips",
        "offload-py/plugins/offload",
    ]);
    util::run(vermin)?;
    let mut build = cargo();
    build.args(["build", "-p", "offload-capi"]);
    util::run(build)?;
    let target = util::target_dir();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut pytest = Command::new(venv.join("bin/python"));
    pytest
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .arg("offload-py/tests/plugin")
        .env("OFFLOAD_LIB", target.join("debug/liboffload.so"))
        .env("XAPI_SIM_BIN", exe);
    util::run(pytest).map(|()| Outcome::Passed)
}

/// The pyo3 module `offload` (offload-py): `maturin develop` into target/venv
/// (debug build, own target dir), its pytest suite (pure functions always; a
/// netns + veth lab when root; pcap checks against offloadctl; XapiSession
/// against this binary's `xapi-sim`), then mypy's stubtest on `_offload.pyi`.
fn pytest_py() -> Result<Outcome, String> {
    let venv = util::ensure_venv()?;
    let root = util::workspace_root();
    let target = util::target_dir();
    // offloadctl and liboffload: test_xapi and test_frontends.py run one
    // operation through the CLI, the C ABI and the module and compare.
    let mut build = cargo();
    build.args(["build", "-p", "offload-cli", "-p", "offload-capi"]);
    util::run(build)?;
    let mut path = std::ffi::OsString::from(venv.join("bin"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut develop = Command::new(venv.join("bin/maturin"));
    develop
        .args(["develop", "--quiet", "-m", "offload-py/Cargo.toml"])
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        // The workspace's target dir: the dependencies the `test` stage built
        // are reused, only the pyo3 crates and the module itself compile.
        .env("CARGO_TARGET_DIR", &target);
    util::run(develop)?;
    let mut tests: Vec<String> = std::fs::read_dir(root.join("offload-py/tests"))
        .map_err(|e| format!("offload-py/tests: {e}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("test_") && name.ends_with(".py"))
        .map(|name| format!("offload-py/tests/{name}"))
        .collect();
    tests.sort();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut pytest = Command::new(venv.join("bin/python"));
    pytest
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .args(&tests)
        .env("OFFLOADCTL", target.join("debug/offloadctl"))
        .env("OFFLOAD_LIB", target.join("debug/liboffload.so"))
        .env("XAPI_SIM_BIN", exe);
    util::run(pytest)?;
    let mut stubtest = Command::new(venv.join("bin/python"));
    stubtest
        .args(["-m", "mypy.stubtest", "offload._offload", "--allowlist"])
        .arg("offload-py/.mypy-stubtest-allowlist")
        .env("MYPY_CACHE_DIR", root.join("target/pytest-py/mypy-cache"));
    util::run(stubtest).map(|()| Outcome::Passed)
}
