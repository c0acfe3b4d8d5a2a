//! The dom0 RPM: the el7 tree staged from the built files, `rpmbuild` on
//! `packaging/offload.spec.in`, and the checks of what came out (file list,
//! requirements, payload format el7's rpm 4.11 can read).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::binaries::{Docs, Layout, Library};
use super::files::{copy, create_dir, fill_template, write};
use super::glibc::{glibc_versions_in, GLIBC_FLOOR, SONAME};
use super::install_check::install_and_link;
use super::Report;
use crate::{codegen, util};

/// Where the RPM installs liboffload and the dom0 plugin (the plugin finds the
/// library under the same root; the demo lays a dom0 out the same way).
pub(crate) const LIBRARY_FILE: &str = "/usr/lib64/liboffload.so.0";
pub(crate) const PLUGIN_FILE: &str = "/etc/xapi.d/plugins/offload";

/// Files every RPM must hold, whatever else the sources provide.
pub(super) const RPM_REQUIRED_FILES: &[&str] = &[
    "/usr/bin/offloadctl",
    LIBRARY_FILE,
    "/usr/lib64/liboffload.so",
    "/usr/lib64/liboffload.a",
    "/usr/lib64/pkgconfig/offload.pc",
];
/// rpmlib() features that el7's rpm 4.11 understands; anything else in the
/// RPM's requirements would make `yum install` refuse it on dom0.
pub(super) const EL7_RPMLIB_FEATURES: &[&str] = &[
    "BuiltinLuaScripts",
    "CompressedFileNames",
    "ConcurrentAccess",
    "ExplicitPackageProvide",
    "FileCaps",
    "FileDigests",
    "HeaderLoadSortsTags",
    "LargeFiles",
    "PartialHardlinkSets",
    "PayloadFilesHavePrefix",
    "PayloadIsBzip2",
    "PayloadIsLzma",
    "PayloadIsXz",
    "ScriptletExpansion",
    "ScriptletInterpreterArgs",
    "TildeInVersions",
    "VersionedDependencies",
];

pub(super) struct RpmPieces<'a> {
    pub(super) offloadctl: &'a Path,
    pub(super) library: &'a Library,
    pub(super) header: Option<&'a Path>,
    pub(super) plugin: Option<&'a Path>,
    pub(super) docs: &'a Docs,
}

/// Stages the el7 tree, runs rpmbuild on the filled-in spec and checks the result.
pub(super) fn build_rpm(
    layout: &Layout,
    pieces: &RpmPieces,
    report: &mut Report,
) -> Result<(), String> {
    let version = codegen::capi_version()?;
    let stage = layout.work.join("rpm-stage");
    let mut files: Vec<String> = Vec::new();
    let mut put = |from: &Path, to: &str, mode: u32| -> Result<(), String> {
        let target = stage.join(to.trim_start_matches('/'));
        create_dir(target.parent().expect("staged paths have a folder"))?;
        copy(from, &target)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", target.display()))?;
        files.push(to.to_string());
        Ok(())
    };
    put(pieces.offloadctl, "/usr/bin/offloadctl", 0o755)?;
    put(&pieces.library.shared, LIBRARY_FILE, 0o755)?;
    put(&pieces.library.archive, "/usr/lib64/liboffload.a", 0o644)?;
    if let Some(header) = pieces.header {
        put(header, "/usr/include/offload.h", 0o644)?;
        copy(header, &layout.dist.join("offload.h"))?;
        report.artefacts.push(layout.dist.join("offload.h"));
    }
    let pc = codegen::render_pkg_config(
        Path::new("/usr"),
        Path::new("/usr/lib64"),
        Path::new("/usr/include"),
    )?;
    let pc_path = layout.dist.join("offload.pc");
    write(&pc_path, &pc)?;
    report.artefacts.push(pc_path.clone());
    put(&pc_path, "/usr/lib64/pkgconfig/offload.pc", 0o644)?;
    if let Some(plugin) = pieces.plugin {
        put(plugin, PLUGIN_FILE, 0o755)?;
    }
    for page in &pieces.docs.man {
        // el7 ships man pages gzipped; rpm's own compression step is off (see the spec).
        let mut gzip = Command::new("gzip");
        gzip.args(["-9", "-n", "-f", "-k"]).arg(page);
        util::output(gzip)?;
        let name = page.file_name().expect("man page file").to_string_lossy();
        put(
            &PathBuf::from(format!("{}.gz", page.display())),
            &format!("/usr/share/man/man1/{name}.gz"),
            0o644,
        )?;
    }
    for script in &pieces.docs.completions {
        let name = script
            .file_name()
            .expect("completion file")
            .to_string_lossy();
        let to = match name.as_ref() {
            "offloadctl.bash" => "/usr/share/bash-completion/completions/offloadctl",
            "_offloadctl" => "/usr/share/zsh/site-functions/_offloadctl",
            "offloadctl.fish" => "/usr/share/fish/vendor_completions.d/offloadctl.fish",
            other => return Err(format!("no install path for completion file `{other}`")),
        };
        put(script, to, 0o644)?;
    }
    let link = stage.join("usr/lib64/liboffload.so");
    std::os::unix::fs::symlink(SONAME, &link)
        .map_err(|e| format!("symlink {}: {e}", link.display()))?;
    files.push("/usr/lib64/liboffload.so".into());
    files.sort();

    let topdir = layout.work.join("rpmbuild");
    let spec_path = topdir.join("SPECS/offload.spec");
    create_dir(spec_path.parent().expect("SPECS"))?;
    let spec = fill_template(
        &layout.root.join("packaging/offload.spec.in"),
        &[("@VERSION@", &version), ("@FILES@", &files.join("\n"))],
    )?;
    write(&spec_path, &spec)?;
    let mut rpmbuild = Command::new("rpmbuild");
    rpmbuild
        .args(["-bb", "--quiet", "--target", "x86_64-redhat-linux"])
        .arg("--define")
        .arg(format!("_topdir {}", topdir.display()))
        .arg("--define")
        .arg(format!("stage {}", stage.display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", layout.dist.display()))
        .args([
            "--define",
            "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
        ])
        // el7's rpm 4.11 reads gzip and xz payloads, not rpm 4.18's default zstd.
        .args(["--define", "_binary_payload w9.xzdio"])
        .arg(&spec_path);
    util::run(rpmbuild)?;
    let rpm = layout.dist.join(format!("offload-{version}-1.x86_64.rpm"));
    if !rpm.is_file() {
        return Err(format!("rpmbuild did not write {}", rpm.display()));
    }
    check_rpm(&rpm, &files, report)?;
    install_and_link(
        layout,
        &rpm,
        &stage,
        &files,
        pieces.header.is_some(),
        &version,
    )?;
    report.artefacts.push(rpm);
    Ok(())
}

/// The RPM holds exactly the staged files (with the required ones among them),
/// the .so symlink, no glibc requirement above 2.17 and nothing el7 cannot read.
pub(super) fn check_rpm(rpm: &Path, staged: &[String], report: &mut Report) -> Result<(), String> {
    let mut list = Command::new("rpm");
    list.args(["-qlvp"]).arg(rpm);
    let listing = util::output(list)?;
    let mut packaged: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(8).map(str::to_string))
        .collect();
    packaged.sort();
    if packaged != staged {
        return Err(format!(
            "rpm -qlp lists\n{}\nbut we staged\n{}",
            packaged.join("\n"),
            staged.join("\n")
        ));
    }
    if let Some(absent) = RPM_REQUIRED_FILES
        .iter()
        .find(|f| !packaged.iter().any(|p| p == *f))
    {
        return Err(format!("the RPM lacks {absent}"));
    }
    if !listing
        .lines()
        .any(|l| l.ends_with(&format!("/usr/lib64/liboffload.so -> {SONAME}")))
    {
        return Err(format!(
            "/usr/lib64/liboffload.so is not a symlink to {SONAME}:\n{listing}"
        ));
    }

    let mut requires = Command::new("rpm");
    requires.args(["-qp", "--requires"]).arg(rpm);
    let requires = util::output(requires)?;
    let versions = glibc_versions_in(&requires).map_err(|e| format!("the RPM {e}"))?;
    let newest = *versions.last().ok_or_else(|| {
        format!("rpm -qp --requires shows no libc.so.6(GLIBC_*) at all (dependency generator off?):\n{requires}")
    })?;
    if newest > GLIBC_FLOOR {
        return Err(format!(
            "the RPM requires {newest}, newer than {GLIBC_FLOOR}:\n{requires}"
        ));
    }
    report.note_glibc(newest);
    if requires.contains("pkg-config") {
        return Err(format!(
            "the RPM requires pkg-config, which dom0 lacks:\n{requires}"
        ));
    }
    let unknown: Vec<&str> = requires
        .lines()
        .filter_map(|l| l.trim().strip_prefix("rpmlib("))
        .filter_map(|l| l.split(')').next())
        .filter(|feature| !EL7_RPMLIB_FEATURES.contains(feature))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the RPM needs rpmlib features el7's rpm lacks: {}",
            unknown.join(", ")
        ));
    }
    eprintln!(
        "dist: {} holds {} files, requires at most {newest}",
        rpm.display(),
        packaged.len()
    );
    Ok(())
}
