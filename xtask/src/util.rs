//! Helpers shared by the xtask commands: the workspace root, running commands,
//! root detection, and the bootstrap of system packages and the Python venv.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Python packages the tests need, pinned so a fresh clone gets the same ones.
pub const PYTHON_PACKAGES: &[&str] = &[
    "maturin==1.16.0",
    "pytest==9.2.0",
    "XenAPI==26.21.1",
    "mypy==2.4.1",
    "vermin==1.9.2",
    // `cargo xtask dist`: zig as the linker for glibc 2.17, and cargo-zigbuild
    // as a prebuilt wheel (seconds, where `cargo install` compiles for minutes).
    "ziglang==0.17.0",
    "cargo-zigbuild==0.24.0",
    // The `ansible` stage: ansible-core 2.16, the last release whose modules
    // still run on dom0's Python 2.7 and 3.6 (2.17 needs 3.7 on the managed
    // node), and what its offline sanity tests import (ansible-test's own pins).
    "ansible-core==2.16.19",
    "voluptuous==0.13.1",
    "antsibull-docs-parser==1.0.0",
    "yamllint==1.32.0",
    "pycodestyle==2.11.0",
];

/// Debian packages the tests use as oracles or tools: (binary to look for, package).
pub const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("ethtool", "ethtool"),
    ("tcpdump", "tcpdump"),
    ("ip", "iproute2"),
    ("setpriv", "util-linux"),
    ("capsh", "libcap2-bin"),
    ("rpmbuild", "rpm"),
    // The exporter's tests scrape it with a real Prometheus server and lint
    // its output and the README's alert rule with promtool (same package).
    ("prometheus", "prometheus"),
];

/// The cargo-deny release the `deny` stage runs, built from crates.io into
/// `target/tools` the first time (`cargo install --locked`: 6 CPU-minutes of
/// compiling, measured; later runs reuse it).
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root, where cargo runs) or `target/`.
pub fn target_dir() -> PathBuf {
    workspace_root().join(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()))
}

/// The cargo binary that runs us, so nested builds use the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command in the workspace root, echoing it; an error says which command failed.
pub fn run(mut command: Command) -> Result<(), String> {
    command.current_dir(workspace_root());
    eprintln!("$ {}", describe(&command));
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(&command)))
    }
}

/// Runs a command like [`run`], passing its stderr through line by line, and
/// returns the stderr lines that start with `prefix` (without it).
pub fn run_collecting(mut command: Command, prefix: &str) -> Result<Vec<String>, String> {
    use std::io::BufRead;
    command
        .current_dir(workspace_root())
        .stderr(std::process::Stdio::piped());
    eprintln!("$ {}", describe(&command));
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&command)))?;
    let mut found = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        // Bytes, not `lines()`: one non-UTF-8 line must not stop the reading
        // (the child would then block on a full pipe).
        for line in std::io::BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line);
            eprintln!("{line}");
            if let Some(rest) = line.strip_prefix(prefix) {
                found.push(rest.to_string());
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("`{}`: {e}", describe(&command)))?;
    if status.success() {
        Ok(found)
    } else {
        Err(format!("`{}` failed ({status})", describe(&command)))
    }
}

/// Calls `f` on every file below `dir`, depth first; unreadable folders are skipped.
pub fn walk_files(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk_files(&path, f);
        } else {
            f(&path);
        }
    }
}

/// Runs a command and returns its stdout.
pub fn output(mut command: Command) -> Result<String, String> {
    command.current_dir(workspace_root());
    let out = command
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&command)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            describe(&command),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Whether we run as root (the privileged tests need it).
pub fn is_root() -> bool {
    let mut id = Command::new("id");
    id.arg("-u");
    output(id).map(|s| s.trim() == "0").unwrap_or(false)
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(program).is_file()
        || Path::new("/sbin").join(program).is_file()
}

/// Installs the missing Debian packages when root; otherwise says what is missing.
pub fn ensure_debian_packages() -> Result<(), String> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(bin, _)| !have(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: not root, cannot install {}; tests that need them will skip",
            missing.join(" ")
        );
        return Ok(());
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing);
    run(install)
}

/// `target/tools/bin/cargo-deny` at [`CARGO_DENY_VERSION`], installed when
/// absent or of another version.
pub fn ensure_cargo_deny() -> Result<PathBuf, String> {
    let root = workspace_root().join("target/tools");
    let binary = root.join("bin/cargo-deny");
    let mut version = Command::new(&binary);
    version.arg("--version");
    let installed = output(version).unwrap_or_default();
    if installed.split_whitespace().nth(1) == Some(CARGO_DENY_VERSION) {
        return Ok(binary);
    }
    let mut install = cargo();
    install
        .args([
            "install",
            "--locked",
            "--quiet",
            "--version",
            CARGO_DENY_VERSION,
        ])
        .arg("--root")
        .arg(&root)
        .arg("cargo-deny");
    run(install)?;
    Ok(binary)
}

/// The Python venv under `target/venv`, created and filled with the pinned packages.
pub fn ensure_venv() -> Result<PathBuf, String> {
    let venv = workspace_root().join("target/venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".offload-packages");
    let wanted = PYTHON_PACKAGES.join("\n");
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(venv);
    }
    let mut create = Command::new("python3");
    create.args(["-m", "venv"]).arg(&venv);
    run(create)?;
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_PACKAGES);
    run(install)?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

/// Pulls the first `"key": <unsigned number>` out of a JSON text. xtask has no
/// JSON crate on purpose (it must build fast); this reads our own stable schemas.
pub fn json_number(json: &str, key: &str) -> Option<u64> {
    let needle = format!("\"{key}\":");
    let at = json.find(&needle)? + needle.len();
    let digits: String = json[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
