//! The binaries for glibc 2.17: `offloadctl` and liboffload cross-built with
//! cargo-zigbuild (zig as the linker, pinned in the venv), checked and copied
//! to target/dist, and the man pages and completions they generate.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::files::copy;
use super::glibc::{check_glibc, check_soname};
use super::Report;
use crate::util;

pub(super) const RUST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// cargo-zigbuild's spelling of "this target, linked against glibc 2.17".
pub(super) const ZIG_TARGET: &str = "x86_64-unknown-linux-gnu.2.17";

/// Paths and the environment shared by the steps.
pub(super) struct Layout {
    pub(super) root: PathBuf,
    pub(super) venv: PathBuf,
    /// Release build products for the 2.17 target.
    pub(super) release: PathBuf,
    /// Scratch space: RPM staging tree, rpmbuild's topdir, generated docs.
    pub(super) work: PathBuf,
    /// The artefacts.
    pub(super) dist: PathBuf,
}

impl Layout {
    /// A command with the venv first on PATH (so cargo-zigbuild and maturin
    /// find `python3 -m ziglang`) and the release profile of a distribution:
    /// no debuginfo (the workspace profile keeps `debug = 1` for profiling).
    pub(super) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.venv.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        command
            .env(
                "PATH",
                std::env::join_paths(dirs).expect("PATH entries have no ':'"),
            )
            .env("CARGO_TARGET_DIR", self.root.join("target/dist-build"))
            .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
            .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
        command
    }

    pub(super) fn zigbuild(&self) -> Command {
        self.command(self.venv.join("bin/cargo-zigbuild"))
    }
}

/// `offloadctl` for glibc 2.17, checked, and run once to prove it starts.
pub(super) fn ship_offloadctl(layout: &Layout, report: &mut Report) -> Result<PathBuf, String> {
    let built = layout.release.join("offloadctl");
    report.note_glibc(check_glibc(&built)?);
    let shipped = layout.dist.join("offloadctl");
    copy(&built, &shipped)?;
    let mut version = Command::new(&shipped);
    version.arg("--version");
    let said = util::output(version)?;
    eprintln!("dist: {} --version: {}", shipped.display(), said.trim());
    report.artefacts.push(shipped.clone());
    Ok(shipped)
}

/// `cargo zigbuild --release` of the default targets of `packages` for glibc 2.17
/// (offload-cli: offloadctl; offload-capi: the .so, the .a and the rlib).
pub(super) fn zigbuild(layout: &Layout, packages: &[&str]) -> Result<(), String> {
    let mut c = layout.zigbuild();
    c.args(["zigbuild", "--release", "--locked", "--target", ZIG_TARGET]);
    for package in packages {
        c.args(["-p", package]);
    }
    util::run(c)
}

/// The two liboffload flavours.
pub(super) struct Library {
    pub(super) shared: PathBuf,
    pub(super) archive: PathBuf,
}

/// liboffload.so (its soname comes from offload-capi's build.rs; checked here)
/// and liboffload.a.
pub(super) fn ship_liboffload(layout: &Layout, report: &mut Report) -> Result<Library, String> {
    let shared = layout.release.join("liboffload.so");
    let archive = layout.release.join("liboffload.a");
    check_soname(&shared)?;
    report.note_glibc(check_glibc(&shared)?);
    let library = Library {
        shared: layout.dist.join("liboffload.so"),
        archive: layout.dist.join("liboffload.a"),
    };
    copy(&shared, &library.shared)?;
    copy(&archive, &library.archive)?;
    // Rust's std objects carry their debuginfo into the archive (21 MB -> 13 MB);
    // el7's own packaging strips static archives the same way.
    let mut strip = Command::new("strip");
    strip.arg("--strip-debug").arg(&library.archive);
    util::run(strip)?;
    report.artefacts.push(library.shared.clone());
    report.artefacts.push(library.archive.clone());
    Ok(library)
}

/// Man pages and completions from the shipped binary's hidden `generate`.
pub(super) struct Docs {
    pub(super) man: Vec<PathBuf>,
    pub(super) completions: Vec<PathBuf>,
}

pub(super) fn generate_docs(layout: &Layout, offloadctl: &Path) -> Result<Docs, String> {
    let mut docs = Docs {
        man: Vec::new(),
        completions: Vec::new(),
    };
    for (what, list) in [
        ("man", &mut docs.man),
        ("completions", &mut docs.completions),
    ] {
        let dir = layout.work.join(what);
        let mut c = Command::new(offloadctl);
        c.args(["generate", what]).arg(&dir);
        let written = util::output(c)?;
        list.extend(written.lines().map(PathBuf::from));
    }
    if docs.man.is_empty() || docs.completions.is_empty() {
        return Err("`offloadctl generate` wrote no man page or no completion".into());
    }
    Ok(docs)
}
