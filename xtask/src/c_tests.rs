//! The `c_tests` stage of `cargo xtask test`: builds liboffload (cdylib and
//! staticlib), lays it out like an install (soname links, header, offload.pc),
//! compiles the C tests and examples with `-std=c11 -Wall -Wextra -Werror
//! -Wpedantic` under AddressSanitizer + UndefinedBehaviorSanitizer against the
//! shared and the static library, runs them, and compares the examples with
//! their references (`ethtool -k`, `offloadctl check --json`).

use std::path::{Path, PathBuf};
use std::process::Command;

use offload_xapi_sim::{GenSpec, PoolDesc, SimConfig, SimHandle, Simulator};

use crate::codegen;
use crate::test::Outcome;
use crate::util::{self, cargo};

const CFLAGS: &[&str] = &[
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wpedantic",
    "-g",
    "-O1",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
];

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// An install-like tree under `target/capi-c`: lib/ (shared, with soname
/// links), lib-static/, include/, lib/pkgconfig/offload.pc.
struct Prefix {
    root: PathBuf,
}

impl Prefix {
    fn lay_out(built: &Path) -> Result<Prefix, String> {
        let root = util::target_dir().join("capi-c");
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["lib/pkgconfig", "lib-static", "include", "bin", "tmp"] {
            let d = root.join(dir);
            std::fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        let version = codegen::capi_version()?;
        let major = version.split('.').next().unwrap_or("0");
        let lib = root.join("lib");
        let real = format!("liboffload.so.{version}");
        let so = built.join("liboffload.so");
        std::fs::copy(&so, lib.join(&real)).map_err(io_err(&so))?;
        for link in [
            format!("liboffload.so.{major}"),
            "liboffload.so".to_string(),
        ] {
            std::os::unix::fs::symlink(&real, lib.join(&link)).map_err(io_err(&lib))?;
        }
        let a = built.join("liboffload.a");
        std::fs::copy(&a, root.join("lib-static/liboffload.a")).map_err(io_err(&a))?;
        let header = codegen::header_path();
        std::fs::copy(&header, root.join("include/offload.h")).map_err(io_err(&header))?;
        let pc = codegen::render_pkg_config(&root, &lib, &root.join("include"))?;
        let pc_path = lib.join("pkgconfig/offload.pc");
        std::fs::write(&pc_path, pc).map_err(io_err(&pc_path))?;
        Ok(Prefix { root })
    }

    fn pkg_config(&self, args: &[&str]) -> Result<Vec<String>, String> {
        let mut c = Command::new("pkg-config");
        c.env("PKG_CONFIG_PATH", self.root.join("lib/pkgconfig"))
            .args(args)
            .arg("offload");
        Ok(util::output(c)?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }
}

/// Compiles one C file twice: against the shared library (found through
/// pkg-config, rpath to the prefix) and against the static one.
fn compile(prefix: &Prefix, source: &Path, name: &str) -> Result<[PathBuf; 2], String> {
    let cflags = prefix.pkg_config(&["--cflags"])?;
    let libs = prefix.pkg_config(&["--libs"])?;
    let include_tests = util::workspace_root().join("offload-capi/tests/c");
    let shared = prefix.root.join("bin").join(format!("{name}-shared"));
    let static_ = prefix.root.join("bin").join(format!("{name}-static"));
    let debug = "-DOFFLOAD_TEST_DEBUG_LIBRARY";
    let mut c = Command::new("cc");
    c.args(CFLAGS)
        .args(&cflags)
        .arg(debug)
        .arg("-I")
        .arg(&include_tests)
        .arg(source)
        .arg("-o")
        .arg(&shared)
        .args(&libs)
        .arg(format!("-Wl,-rpath,{}", prefix.root.join("lib").display()));
    util::run(c)?;
    let mut c = Command::new("cc");
    c.args(CFLAGS)
        .args(&cflags)
        .arg(debug)
        .arg("-I")
        .arg(&include_tests)
        .arg(source)
        .arg("-o")
        .arg(&static_)
        .arg(prefix.root.join("lib-static/liboffload.a"))
        .args(
            prefix
                .pkg_config(&["--static", "--libs-only-l"])?
                .iter()
                .filter(|l| *l != "-loffload"),
        );
    util::run(c)?;
    for bin in [&shared, &static_] {
        let mut nm = Command::new("nm");
        nm.arg(bin);
        if !util::output(nm)?.contains("__asan_init") {
            return Err(format!(
                "{}: AddressSanitizer is not linked in",
                bin.display()
            ));
        }
    }
    // The static one must not load liboffload.so.
    let mut readelf = Command::new("readelf");
    readelf.arg("-d").arg(&static_);
    if util::output(readelf)?.contains("liboffload.so") {
        return Err(format!("{} needs liboffload.so", static_.display()));
    }
    Ok([shared, static_])
}

/// Runs a compiled C program under the sanitizers; returns its stdout.
fn run_c(bin: &Path, args: &[&str]) -> Result<String, String> {
    let mut c = Command::new(bin);
    c.args(args)
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=99",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let pid = child.id() % 1_000_000;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    // test_iface deletes its namespace itself, but not when a sanitizer
    // aborted it: make sure `capi<pid>` is gone either way.
    if Path::new(&format!("/run/netns/capi{pid}")).exists() {
        let _ = Command::new("ip")
            .args(["netns", "del", &format!("capi{pid}")])
            .status();
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} {} failed ({}):\n{stdout}{}",
            bin.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

/// A network namespace with a veth pair for the `ethtool -k` comparison,
/// deleted on drop (also on panic).
struct LabNetns {
    name: String,
    veth: String,
}

impl LabNetns {
    fn create() -> Result<LabNetns, String> {
        let pid = std::process::id() % 1_000_000;
        let lab = LabNetns {
            name: format!("capi{pid}x"),
            veth: format!("capix{pid}"),
        };
        let mut add = Command::new("ip");
        add.args(["netns", "add", &lab.name]);
        util::run(add)?;
        let mut link = Command::new("ip");
        link.args(["-n", &lab.name, "link", "add", &lab.veth, "type", "veth"])
            .args(["peer", "name", &format!("capiy{pid}")]);
        util::run(link)?;
        Ok(lab)
    }
}

impl Drop for LabNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn compare_features_dump(dump: &Path) -> Result<String, String> {
    if !util::is_root() || !util::have("ethtool") {
        return Ok("SKIP: features_dump vs ethtool -k needs root and ethtool".into());
    }
    let lab = LabNetns::create()?;
    let mut ethtool = Command::new("ip");
    ethtool.args(["netns", "exec", &lab.name, "ethtool", "-k", &lab.veth]);
    let want = util::output(ethtool)?;
    let got = run_c(dump, &["--netns", &lab.name, &lab.veth])?;
    if got != want {
        return Err(format!(
            "features_dump differs from ethtool -k:\n--- ethtool -k\n{want}--- features_dump\n{got}"
        ));
    }
    let typed = run_c(dump, &["--netns", &lab.name, "--typed", &lab.veth])?;
    if !typed.contains("tx-checksum-ip-generic: on\n") {
        return Err(format!("features_dump --typed:\n{typed}"));
    }
    Ok(format!(
        "features_dump = ethtool -k on {} ({} lines, byte for byte)",
        lab.veth,
        want.lines().count()
    ))
}

fn compare_pcap_check(check: &Path, tmp: &Path) -> Result<String, String> {
    let target = util::target_dir();
    let pcap = tmp.join("imix.pcap");
    let mut gen = Command::new(target.join("debug/examples/imix_pcap"));
    gen.arg(&pcap).arg("3000");
    util::run(gen)?;
    let pcap_arg = pcap.display().to_string();
    let mut offloadctl = Command::new(target.join("debug/offloadctl"));
    offloadctl.args(["check", "--json", &pcap_arg]);
    // offloadctl check exits 1 when it sees corruption (the capture has 1 %).
    let reference = offloadctl
        .output()
        .map_err(|e| format!("offloadctl: {e}"))?;
    let reference = String::from_utf8_lossy(&reference.stdout).into_owned();
    let mut c = Command::new(check);
    c.arg(&pcap);
    let out = c.output().map_err(|e| format!("pcap_check: {e}"))?;
    if out.status.code() != Some(1) {
        return Err(format!(
            "pcap_check exited {} (want 1: corruption)",
            out.status
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = |key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .and_then(|v| v.trim().parse().ok())
    };
    for key in [
        "packets",
        "bytes",
        "undecoded",
        "incorrect",
        "offload_pending",
    ] {
        let (ours, theirs) = (value(key), util::json_number(&reference, key));
        if ours.is_none() || ours != theirs {
            return Err(format!(
                "pcap_check {key} = {ours:?}, offloadctl check --json says {theirs:?}"
            ));
        }
    }
    let mut c = Command::new(check);
    c.arg("--json").arg(&pcap);
    let json = c.output().map_err(|e| format!("pcap_check --json: {e}"))?;
    let json = String::from_utf8_lossy(&json.stdout).into_owned();
    if json != reference {
        return Err(format!(
            "pcap_check --json differs from offloadctl check --json:\n{json}\n---\n{reference}"
        ));
    }
    Ok(format!(
        "pcap_check = offloadctl check --json on {} packets (counts and JSON text)",
        value("packets").unwrap_or(0)
    ))
}

/// Every function the header declares is called by some C test or example.
fn every_export_is_exercised(sources: &[PathBuf]) -> Result<(), String> {
    let header = std::fs::read_to_string(codegen::header_path()).map_err(|e| e.to_string())?;
    let mut c_text = String::new();
    for s in sources {
        c_text.push_str(&std::fs::read_to_string(s).map_err(io_err(s))?);
    }
    let mut missing = Vec::new();
    for line in header
        .lines()
        .filter(|l| !l.starts_with(' ') && l.contains('('))
    {
        // The declared name is the identifier right before the first '('.
        let Some(paren) = line.find('(') else {
            continue;
        };
        let start = line[..paren]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &line[start..paren];
        if name.starts_with("offload_") && !c_text.contains(&format!("{name}(")) {
            missing.push(name.to_string());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("exports no C test calls: {}", missing.join(", ")))
    }
}

/// A simulated pool on 127.0.0.1 (user root, password secret) for test_xapi.
fn start_simulator() -> Result<SimHandle, String> {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 2,
        pifs_per_host: 2,
        vms: 3,
        vifs_per_vm: 2,
        seed: 6,
    });
    Simulator::start(&pool, SimConfig::default()).map_err(|e| format!("XAPI simulator: {e}"))
}

/// The stage.
pub fn stage() -> Result<Outcome, String> {
    if !util::have("cc") || !util::have("pkg-config") {
        return Ok(Outcome::Skipped("cc or pkg-config missing".into()));
    }
    if !codegen::header_is_fresh()? {
        return Err("include/offload.h is stale: run `cargo xtask codegen`".into());
    }
    let mut build = cargo();
    build.args(["build", "-p", "offload-capi", "-p", "offload-cli"]);
    util::run(build)?;
    let mut build = cargo();
    build.args(["build", "-p", "offload-diagnose", "--example", "imix_pcap"]);
    util::run(build)?;
    let prefix = Prefix::lay_out(&util::target_dir().join("debug"))?;
    let tmp = prefix.root.join("tmp");
    let tmp_arg = tmp.display().to_string();
    let root = util::workspace_root().join("offload-capi");
    let tests = ["test_core", "test_iface", "test_xapi"];
    let examples = ["features_dump", "pcap_check"];
    let mut sources: Vec<PathBuf> = tests
        .iter()
        .map(|t| root.join(format!("tests/c/{t}.c")))
        .collect();
    sources.extend(
        examples
            .iter()
            .map(|e| root.join(format!("examples/c/{e}.c"))),
    );
    every_export_is_exercised(&sources)?;

    let mut notes = Vec::new();
    let mut bins = std::collections::BTreeMap::new();
    for (name, source) in tests.iter().chain(examples.iter()).zip(&sources) {
        bins.insert(*name, compile(&prefix, source, name)?);
    }
    for name in tests {
        for bin in &bins[name] {
            // test_xapi changes the pool: a fresh simulated one per run.
            let sim = match name {
                "test_xapi" => Some(start_simulator()?),
                _ => None,
            };
            let arg = sim.as_ref().map_or(tmp_arg.clone(), |s| s.url());
            let out = run_c(bin, &[&arg])?;
            for line in out.lines().filter(|l| l.starts_with("SKIP:")) {
                notes.push(format!("{}: {line}", bin.display()));
            }
        }
    }
    notes.push(compare_features_dump(&bins["features_dump"][0])?);
    notes.push(compare_pcap_check(&bins["pcap_check"][1], &tmp)?);
    for note in &notes {
        eprintln!("c_tests: {note}");
    }
    Ok(Outcome::Passed)
}
