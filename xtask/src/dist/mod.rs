//! `cargo xtask dist`: the release artefacts for dom0, in `target/dist/`.
//!
//! - `offloadctl`, `liboffload.so` (soname `liboffload.so.0`) and `liboffload.a`,
//!   cross-built for glibc 2.17 (XenServer 7/8 and XCP-ng 8 dom0 are CentOS 7
//!   based) with cargo-zigbuild and the `ziglang` wheel, both pinned in the venv;
//! - `offload-<version>-1.x86_64.rpm` with el7 paths, built by `rpmbuild` from
//!   `packaging/offload.spec.in` around the files staged here;
//! - the abi3 manylinux2014 Python wheel of offload-py (maturin `--zig`).
//!
//! Every artefact is checked, not just built: glibc symbol versions at or below
//! 2.17 (readelf and objdump), the soname, the RPM's file list, requirements and
//! payload format (el7's rpm 4.11 cannot read rpm 4.18's default zstd), the
//! wheel's tags and the glibc versions of the extension inside it.
//! Parts whose sources do not exist yet (header, plugin, pyproject) are
//! reported as missing; a part that exists but fails to build fails the run.

mod binaries;
mod files;
mod glibc;
mod install_check;
mod rpm;
pub(crate) use rpm::{LIBRARY_FILE, PLUGIN_FILE};
mod wheel;

use std::path::PathBuf;

use binaries::{generate_docs, ship_liboffload, ship_offloadctl, zigbuild, Layout, RUST_TARGET};
use files::create_dir;
use glibc::{GlibcVersion, GLIBC_FLOOR};
use rpm::{build_rpm, RpmPieces};
use wheel::build_wheel;

use crate::{codegen, util};

/// What one `cargo xtask dist` produced.
pub struct Report {
    /// Files in `target/dist/`.
    pub artefacts: Vec<PathBuf>,
    /// The newest glibc symbol version any shipped ELF file needs.
    pub max_glibc: Option<GlibcVersion>,
    /// Parts not built because their sources do not exist yet.
    pub missing: Vec<String>,
}

impl Report {
    fn note_glibc(&mut self, version: GlibcVersion) {
        self.max_glibc = Some(self.max_glibc.map_or(version, |v| v.max(version)));
    }

    /// Prints the artefacts with their sizes, the newest glibc and what is missing.
    pub fn print(&self) {
        for path in &self.artefacts {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!("{:>12}  {}", size, path.display());
        }
        if let Some(version) = self.max_glibc {
            println!("newest glibc symbol version needed: {version} (floor {GLIBC_FLOOR})");
        }
        for part in &self.missing {
            println!("MISSING: {part}");
        }
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`dist` takes no arguments (got `{arg}`); it writes target/dist/"
        ));
    }
    let report = build()?;
    report.print();
    Ok(())
}

/// Builds and checks everything; see the module docs.
pub fn build() -> Result<Report, String> {
    let root = util::workspace_root();
    let venv = util::ensure_venv()?;
    for tool in ["readelf", "objdump", "rpmbuild"] {
        if !util::have(tool) {
            util::ensure_debian_packages()?;
            if !util::have(tool) {
                return Err(format!(
                    "`{tool}` is missing (binutils / rpm); run as root so xtask can install it"
                ));
            }
        }
    }
    let layout = Layout {
        release: root
            .join("target/dist-build")
            .join(RUST_TARGET)
            .join("release"),
        work: root.join("target/dist-work"),
        dist: root.join("target/dist"),
        venv,
        root,
    };
    for dir in [&layout.work, &layout.dist] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
        }
        create_dir(dir)?;
    }
    let mut report = Report {
        artefacts: Vec::new(),
        max_glibc: None,
        missing: Vec::new(),
    };
    let mut failures = Vec::new();

    // One cargo invocation for both, so the dependencies they share are resolved
    // with the same features and compiled once; if that fails, each alone, so
    // whatever builds still ships.
    let (cli_built, capi_built) = match zigbuild(&layout, &["offload-cli", "offload-capi"]) {
        Ok(()) => (Ok(()), Ok(())),
        Err(_) => (
            zigbuild(&layout, &["offload-cli"]),
            zigbuild(&layout, &["offload-capi"]),
        ),
    };
    cli_built?;
    let offloadctl = ship_offloadctl(&layout, &mut report)?;
    let library = match capi_built.and_then(|()| ship_liboffload(&layout, &mut report)) {
        Ok(library) => Some(library),
        Err(e) => {
            failures.push(format!("liboffload: {e}"));
            None
        }
    };
    let docs = generate_docs(&layout, &offloadctl)?;
    let header = Some(codegen::header_path()).filter(|p| p.is_file());
    if header.is_none() {
        report
            .missing
            .push("offload.h (`cargo xtask codegen` has not written include/offload.h)".into());
    }
    let plugin = layout.root.join("offload-py/plugins/offload");
    let plugin = plugin.is_file().then_some(plugin);
    if plugin.is_none() {
        report
            .missing
            .push("XAPI plugin (offload-py/plugins/offload does not exist yet)".into());
    }
    match &library {
        Some(library) => {
            let pieces = RpmPieces {
                offloadctl: &offloadctl,
                library,
                header: header.as_deref(),
                plugin: plugin.as_deref(),
                docs: &docs,
            };
            if let Err(e) = build_rpm(&layout, &pieces, &mut report) {
                failures.push(format!("rpm: {e}"));
            }
        }
        None => failures.push("rpm: not built, liboffload did not build".into()),
    }
    if let Err(e) = build_wheel(&layout, &mut report) {
        failures.push(format!("wheel: {e}"));
    }

    if failures.is_empty() {
        Ok(report)
    } else {
        report.print();
        Err(format!("dist failed:\n  {}", failures.join("\n  ")))
    }
}
