//! The abi3 manylinux2014 Python wheel of offload-py (maturin `--zig`), its
//! tags, the glibc versions of the extension inside it, and an import from it.

use std::path::PathBuf;
use std::process::Command;

use super::binaries::{Layout, RUST_TARGET};
use super::files::copy;
use super::glibc::check_glibc;
use super::Report;
use crate::util;

/// The abi3 manylinux2014 wheel, when offload-py has its pyproject.toml.
pub(super) fn build_wheel(layout: &Layout, report: &mut Report) -> Result<(), String> {
    let project = layout.root.join("offload-py");
    if !project.join("pyproject.toml").is_file() {
        report
            .missing
            .push("Python wheel (offload-py has no pyproject.toml yet)".into());
        return Ok(());
    }
    let out = layout.work.join("wheel");
    let mut c = layout.command(layout.venv.join("bin/python"));
    // Its own target dir: maturin's zig wrapper is another linker path than
    // cargo-zigbuild's, and cargo rebuilds every linked unit (build scripts,
    // proc macros, so nearly everything) when the linker changes, in place.
    c.env(
        "CARGO_TARGET_DIR",
        layout.root.join("target/dist-build-wheel"),
    );
    c.args(["-m", "maturin", "build", "--release", "--locked", "--zig"])
        .args(["--compatibility", "manylinux2014", "--target", RUST_TARGET])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .arg("--out")
        .arg(&out);
    util::run(c)?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    let [wheel] = wheels.as_slice() else {
        return Err(format!(
            "expected one wheel in {}, found {wheels:?}",
            out.display()
        ));
    };
    let name = wheel
        .file_name()
        .expect("wheel file")
        .to_string_lossy()
        .into_owned();
    check_wheel_tags(&name)?;
    // The extension inside must keep to 2.17 like everything else.
    let unpacked = layout.work.join("wheel-unpacked");
    let mut unzip = Command::new(layout.venv.join("bin/python"));
    unzip
        .args(["-m", "zipfile", "-e"])
        .arg(wheel)
        .arg(&unpacked);
    util::run(unzip)?;
    let mut extensions = Vec::new();
    util::walk_files(&unpacked, &mut |p| {
        if p.extension().is_some_and(|e| e == "so") {
            extensions.push(p.to_path_buf());
        }
    });
    if extensions.is_empty() {
        return Err(format!("{name} holds no native extension (.so)"));
    }
    for extension in &extensions {
        report.note_glibc(check_glibc(extension)?);
    }
    // The unpacked wheel imports on this CPython (abi3), from the wheel and not
    // from a development install that may sit in the venv.
    let mut import = Command::new(layout.venv.join("bin/python"));
    import.arg("-c").arg(WHEEL_IMPORT_CHECK).arg(&unpacked);
    let said = util::output(import)?;
    eprintln!("dist: {}", said.trim());
    let shipped = layout.dist.join(&name);
    copy(wheel, &shipped)?;
    report.artefacts.push(shipped);
    Ok(())
}

pub(super) const WHEEL_IMPORT_CHECK: &str = r#"
import os, sys
root = os.path.realpath(sys.argv[1])
sys.path.insert(0, root)
import offload, offload._offload as native
assert os.path.realpath(native.__file__).startswith(root + os.sep), native.__file__
assert offload.LINKTYPE_ETHERNET == 1, offload.LINKTYPE_ETHERNET
print("the wheel imports on Python %d.%d: %s" % (sys.version_info[0], sys.version_info[1], native.__file__))
"#;

/// A wheel name is `name-version-pythontag-abitag-platformtag.whl`; ours must be
/// abi3 (one wheel for every CPython from 3.9) and manylinux2014 (glibc 2.17).
pub(super) fn check_wheel_tags(name: &str) -> Result<(), String> {
    let stem = name
        .strip_suffix(".whl")
        .ok_or_else(|| format!("`{name}` is not a wheel"))?;
    let tags: Vec<&str> = stem.rsplitn(4, '-').collect();
    let [platform, abi, python, _] = tags.as_slice() else {
        return Err(format!("`{name}` has no python-abi-platform tags"));
    };
    if *abi != "abi3" || !python.starts_with("cp3") {
        return Err(format!("`{name}` is not a CPython abi3 wheel"));
    }
    let manylinux_2_17 = platform
        .split('.')
        .any(|p| p == "manylinux_2_17_x86_64" || p == "manylinux2014_x86_64");
    if !manylinux_2_17 || platform.split('.').any(|p| p.starts_with("linux_")) {
        return Err(format!("`{name}` is not tagged manylinux2014 (glibc 2.17)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_tags() {
        // The name maturin 1.16 gives an abi3 wheel built with --zig --compatibility manylinux2014.
        check_wheel_tags("probe-0.1.0-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
            .unwrap();
        check_wheel_tags("offload-0.1.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
            .unwrap();
        check_wheel_tags("offload-0.1.0-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap_err();
        check_wheel_tags("offload-0.1.0-cp39-abi3-linux_x86_64.whl").unwrap_err();
        check_wheel_tags("offload-0.1.0-cp39-abi3-manylinux_2_28_x86_64.whl").unwrap_err();
    }
}
