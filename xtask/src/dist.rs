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

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{codegen, util};

/// The oldest glibc we support: CentOS 7, the base of every current dom0.
const GLIBC_FLOOR: GlibcVersion = GlibcVersion([2, 17, 0]);
const RUST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// cargo-zigbuild's spelling of "this target, linked against glibc 2.17".
const ZIG_TARGET: &str = "x86_64-unknown-linux-gnu.2.17";
const SONAME: &str = "liboffload.so.0";
/// Files every RPM must hold, whatever else the sources provide.
const RPM_REQUIRED_FILES: &[&str] = &[
    "/usr/bin/offloadctl",
    "/usr/lib64/liboffload.so.0",
    "/usr/lib64/liboffload.so",
    "/usr/lib64/liboffload.a",
    "/usr/lib64/pkgconfig/offload.pc",
];
/// rpmlib() features that el7's rpm 4.11 understands; anything else in the
/// RPM's requirements would make `yum install` refuse it on dom0.
const EL7_RPMLIB_FEATURES: &[&str] = &[
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

/// A glibc symbol version such as `GLIBC_2.3.4`, compared numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion([u32; 3]);

impl GlibcVersion {
    /// Parses the digits after `GLIBC_` (`2.17`, `2.3.4`).
    fn parse(text: &str) -> Option<Self> {
        let mut parts = [0u32; 3];
        let mut count = 0;
        for piece in text.split('.') {
            *parts.get_mut(count)? = piece.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Self(parts))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        write!(f, "GLIBC_{major}.{minor}")?;
        if patch != 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// The glibc versions named in a tool's output (readelf, objdump, rpm -qp
/// --requires). `GLIBC_PRIVATE` comes back as an error: it ties the binary to
/// one exact glibc build.
fn glibc_versions_in(text: &str) -> Result<Vec<GlibcVersion>, String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("GLIBC_") {
        let rest = &text[at + "GLIBC_".len()..];
        if rest.starts_with("PRIVATE") {
            return Err("references GLIBC_PRIVATE".into());
        }
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let version = GlibcVersion::parse(digits.trim_end_matches('.'))
            .ok_or_else(|| format!("unreadable glibc version `GLIBC_{digits}`"))?;
        found.push(version);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The dynamic symbols of an `objdump -T` listing that need a glibc newer than
/// the floor, as `symbol@GLIBC_x.y`.
fn symbols_above_floor(objdump: &str) -> Vec<String> {
    objdump
        .lines()
        .filter_map(|line| {
            let versions = glibc_versions_in(line).ok()?;
            let newest = *versions.last()?;
            let symbol = line.split_whitespace().last()?;
            (newest > GLIBC_FLOOR).then(|| format!("{symbol}@{newest}"))
        })
        .collect()
}

/// Fails unless every glibc symbol version `file` needs is at or below 2.17.
/// Returns the newest one it needs.
fn check_glibc(file: &Path) -> Result<GlibcVersion, String> {
    let mut readelf = Command::new("readelf");
    readelf.args(["--version-info", "-W"]).arg(file);
    let needs = util::output(readelf)?;
    let versions = glibc_versions_in(&needs).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut objdump = Command::new("objdump");
    objdump.arg("-T").arg(file);
    let symbols = util::output(objdump)?;
    let offenders = symbols_above_floor(&symbols);
    let newest = *versions.last().ok_or_else(|| {
        format!(
            "{}: readelf shows no GLIBC_ version at all; is it a dynamically linked glibc binary?",
            file.display()
        )
    })?;
    if newest > GLIBC_FLOOR || !offenders.is_empty() {
        return Err(format!(
            "{} needs {newest}, newer than dom0's {GLIBC_FLOOR}: {}",
            file.display(),
            offenders.join(", ")
        ));
    }
    eprintln!(
        "dist: {} needs at most {newest} (floor {GLIBC_FLOOR})",
        file.display()
    );
    Ok(newest)
}

/// Fails unless the shared library carries the soname the RPM installs it under.
fn check_soname(library: &Path) -> Result<(), String> {
    let mut readelf = Command::new("readelf");
    readelf.arg("-d").arg(library);
    let dynamic = util::output(readelf)?;
    let wanted = format!("Library soname: [{SONAME}]");
    if dynamic.contains(&wanted) {
        Ok(())
    } else {
        Err(format!("{} has no soname {SONAME}", library.display()))
    }
}

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

/// Paths and the environment shared by the steps.
struct Layout {
    root: PathBuf,
    venv: PathBuf,
    /// Release build products for the 2.17 target.
    release: PathBuf,
    /// Scratch space: RPM staging tree, rpmbuild's topdir, generated docs.
    work: PathBuf,
    /// The artefacts.
    dist: PathBuf,
}

impl Layout {
    /// A command with the venv first on PATH (so cargo-zigbuild and maturin
    /// find `python3 -m ziglang`) and the release profile of a distribution:
    /// no debuginfo (the workspace profile keeps `debug = 1` for profiling).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
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

    fn zigbuild(&self) -> Command {
        self.command(self.venv.join("bin/cargo-zigbuild"))
    }
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

/// `offloadctl` for glibc 2.17, checked, and run once to prove it starts.
fn ship_offloadctl(layout: &Layout, report: &mut Report) -> Result<PathBuf, String> {
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
fn zigbuild(layout: &Layout, packages: &[&str]) -> Result<(), String> {
    let mut c = layout.zigbuild();
    c.args(["zigbuild", "--release", "--locked", "--target", ZIG_TARGET]);
    for package in packages {
        c.args(["-p", package]);
    }
    util::run(c)
}

/// The two liboffload flavours.
struct Library {
    shared: PathBuf,
    archive: PathBuf,
}

/// liboffload.so (its soname comes from offload-capi's build.rs; checked here)
/// and liboffload.a.
fn ship_liboffload(layout: &Layout, report: &mut Report) -> Result<Library, String> {
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
struct Docs {
    man: Vec<PathBuf>,
    completions: Vec<PathBuf>,
}

fn generate_docs(layout: &Layout, offloadctl: &Path) -> Result<Docs, String> {
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

struct RpmPieces<'a> {
    offloadctl: &'a Path,
    library: &'a Library,
    header: Option<&'a Path>,
    plugin: Option<&'a Path>,
    docs: &'a Docs,
}

/// Stages the el7 tree, runs rpmbuild on the filled-in spec and checks the result.
fn build_rpm(layout: &Layout, pieces: &RpmPieces, report: &mut Report) -> Result<(), String> {
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
    put(&pieces.library.shared, "/usr/lib64/liboffload.so.0", 0o755)?;
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
        put(plugin, "/etc/xapi.d/plugins/offload", 0o755)?;
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
fn check_rpm(rpm: &Path, staged: &[String], report: &mut Report) -> Result<(), String> {
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

/// Installs the RPM into a scratch root (`rpm -i --root`, no scripts): every
/// installed file must equal the staged one and offloadctl must start. With the
/// header present, a C program built only from what the RPM installed (header,
/// pkg-config flags, library) calls `offload_version()`, linked once against
/// the .so (which it must then need as liboffload.so.0) and once statically.
fn install_and_link(
    layout: &Layout,
    rpm: &Path,
    stage: &Path,
    files: &[String],
    with_header: bool,
    version: &str,
) -> Result<(), String> {
    let root = layout.work.join("rpm-root");
    create_dir(&root)?;
    let mut install = Command::new("rpm");
    install
        .args(["-i", "--nodeps", "--noscripts", "--root"])
        .arg(&root)
        .arg(rpm);
    util::output(install)?;
    for file in files {
        let relative = file.trim_start_matches('/');
        let (installed, staged) = (root.join(relative), stage.join(relative));
        let same = std::fs::read(&installed)
            .ok()
            .is_some_and(|bytes| std::fs::read(&staged).is_ok_and(|wanted| bytes == wanted));
        if !same {
            return Err(format!(
                "{file} installed from the RPM differs from the staged file"
            ));
        }
    }
    let mut offloadctl = Command::new(root.join("usr/bin/offloadctl"));
    offloadctl.arg("--version");
    util::output(offloadctl)?;
    if !with_header {
        return Ok(());
    }

    let libdir = root.join("usr/lib64");
    let pkg_config = |args: &[&str]| -> Result<String, String> {
        let mut c = Command::new("pkg-config");
        c.env("PKG_CONFIG_SYSROOT_DIR", &root)
            .env("PKG_CONFIG_LIBDIR", libdir.join("pkgconfig"))
            .args(args)
            .arg("offload");
        util::output(c).map(|flags| flags.trim().to_string())
    };
    let cflags = pkg_config(&["--cflags"])?;
    let libs = pkg_config(&["--libs"])?;
    let static_libs = pkg_config(&["--static", "--libs-only-l"])?;
    let source = layout.work.join("link-test.c");
    write(&source, LINK_TEST_C)?;
    let archive = libdir.join("liboffload.a");
    let links: [(&str, Vec<String>); 2] = [
        ("link-test-shared", split_flags(&libs)),
        (
            "link-test-static",
            std::iter::once(archive.display().to_string())
                .chain(
                    split_flags(&static_libs)
                        .into_iter()
                        .filter(|l| l != "-loffload"),
                )
                .collect(),
        ),
    ];
    for (name, link_flags) in links {
        let program = layout.work.join(name);
        let mut cc = Command::new("cc");
        cc.args(["-Wall", "-Wextra", "-Werror"])
            .args(split_flags(&cflags))
            .arg(&source)
            .arg("-o")
            .arg(&program)
            .args(&link_flags);
        util::run(cc)?;
        let mut needed = Command::new("readelf");
        needed.arg("-d").arg(&program);
        let needs_shared = util::output(needed)?.contains(&format!("[{SONAME}]"));
        if needs_shared != (name == "link-test-shared") {
            return Err(format!(
                "{name}: needs {SONAME} = {needs_shared}, expected the opposite"
            ));
        }
        let mut run = Command::new(&program);
        run.env("LD_LIBRARY_PATH", &libdir);
        let said = util::output(run)?;
        if said.trim() != version {
            return Err(format!(
                "{name}: offload_version() said `{}`, the workspace is {version}",
                said.trim()
            ));
        }
    }
    // The .a has no symbol versions of its own: they come from the glibc a
    // program links against. Link it as a program on dom0 would, against glibc
    // 2.17 (zig cc; zig's libunwind stands in for libgcc_s), and check that.
    let program = layout.work.join("link-test-static-glibc-2.17");
    let mut zig_cc = Command::new(layout.venv.join("bin/python"));
    zig_cc
        .args(["-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17"])
        .args(["-Wall", "-Wextra", "-Werror"])
        .args(split_flags(&cflags))
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .arg(&archive)
        .args(
            split_flags(&static_libs)
                .into_iter()
                .filter(|l| l != "-loffload")
                .map(|l| if l == "-lgcc_s" { "-lunwind".into() } else { l }),
        );
    util::run(zig_cc)?;
    check_glibc(&program)?;
    let said = util::output(Command::new(&program))?;
    if said.trim() != version {
        return Err(format!("{}: said `{}`", program.display(), said.trim()));
    }
    eprintln!(
        "dist: a C program links against the installed RPM (shared, static, static for glibc 2.17)"
    );
    Ok(())
}

/// A consumer of the installed library that uses nothing but the header.
const LINK_TEST_C: &str = r#"#include <stdio.h>
#include <offload.h>

int main(void) {
    const char *version = offload_version();
    if (version == NULL) return 1;
    puts(version);
    return 0;
}
"#;

fn split_flags(flags: &str) -> Vec<String> {
    flags.split_whitespace().map(str::to_string).collect()
}

/// The abi3 manylinux2014 wheel, when offload-py has its pyproject.toml.
fn build_wheel(layout: &Layout, report: &mut Report) -> Result<(), String> {
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
    find_files(&unpacked, &mut |p| {
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

const WHEEL_IMPORT_CHECK: &str = r#"
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
fn check_wheel_tags(name: &str) -> Result<(), String> {
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

/// A template with every `@NAME@` replaced; a placeholder left over is an error.
fn fill_template(path: &Path, values: &[(&str, &str)]) -> Result<String, String> {
    let mut text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (placeholder, value) in values {
        text = text.replace(placeholder, value);
    }
    match unfilled_placeholder(&text) {
        Some(name) => Err(format!("{}: placeholder {name} not filled", path.display())),
        None => Ok(text),
    }
}

/// The first `@NAME@` (capitals and underscores) left in a text.
fn unfilled_placeholder(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let len = rest.find('@')?;
        let name = &rest[..len];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .then(|| &text[at..at + len + 2])
    })
}

fn find_files(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_files(&path, f);
        } else {
            f(&path);
        }
    }
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cp {} {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Excerpts of real readelf / objdump / rpm output.
    const READELF: &str = "\
Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x0000000000000a10  Offset: 0x000a10  Link: 6 (.dynstr)
  000000: Version: 1  File: libc.so.6  Cnt: 3
  0x0010:   Name: GLIBC_2.3.4  Flags: none  Version: 5
  0x0020:   Name: GLIBC_2.17  Flags: none  Version: 4
  0x0030:   Name: GLIBC_2.2.5  Flags: none  Version: 3
";
    const OBJDUMP: &str = "\
0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.17) clock_gettime
0000000000000000      DF *UND*\t0000000000000000  GLIBC_2.34  __libc_start_main
0000000000000000  w   D  *UND*\t0000000000000000  Base        __gmon_start__
";

    #[test]
    fn versions_are_compared_as_numbers() {
        let found = glibc_versions_in(READELF).unwrap();
        assert_eq!(
            found,
            [
                GlibcVersion([2, 2, 5]),
                GlibcVersion([2, 3, 4]),
                GlibcVersion([2, 17, 0])
            ]
        );
        assert!(GlibcVersion([2, 17, 0]) > GlibcVersion([2, 3, 4]));
        assert_eq!(found.last().unwrap().to_string(), "GLIBC_2.17");
        assert_eq!(GlibcVersion([2, 3, 4]).to_string(), "GLIBC_2.3.4");
    }

    #[test]
    fn symbols_newer_than_the_floor_are_named() {
        assert_eq!(
            symbols_above_floor(OBJDUMP),
            ["__libc_start_main@GLIBC_2.34"]
        );
    }

    #[test]
    fn glibc_private_is_refused() {
        let err = glibc_versions_in("  Name: GLIBC_PRIVATE  Flags: none").unwrap_err();
        assert!(err.contains("GLIBC_PRIVATE"), "{err}");
    }

    #[test]
    fn rpm_requirements_are_read_too() {
        let requires = "libc.so.6()(64bit)\nlibc.so.6(GLIBC_2.14)(64bit)\nlibm.so.6(GLIBC_2.2.5)(64bit)\nrpmlib(PayloadIsXz) <= 5.2-1\n";
        let found = glibc_versions_in(requires).unwrap();
        assert_eq!(found.last(), Some(&GlibcVersion([2, 14, 0])));
    }

    /// The real check (readelf + objdump) on a binary linked against this
    /// machine's glibc: from 2.34 on, every such binary needs
    /// `__libc_start_main@GLIBC_2.34`, so the check must refuse it by name.
    #[test]
    fn a_binary_linked_against_a_new_glibc_is_refused() {
        let mut getconf = Command::new("getconf");
        getconf.arg("GNU_LIBC_VERSION");
        let host = util::output(getconf).unwrap();
        let host = GlibcVersion::parse(host.trim().trim_start_matches("glibc ")).unwrap();
        if host < GlibcVersion([2, 34, 0]) {
            eprintln!("SKIP: this machine's glibc is {host}, older than 2.34");
            return;
        }
        let this_test = std::env::current_exe().unwrap();
        let err = check_glibc(&this_test).unwrap_err();
        assert!(err.contains("__libc_start_main@GLIBC_2.34"), "{err}");
    }

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

    #[test]
    fn spec_placeholders_must_all_be_filled() {
        let spec = util::workspace_root().join("packaging/offload.spec.in");
        let unfilled = fill_template(&spec, &[("@VERSION@", "0.1.0")]).unwrap_err();
        assert!(unfilled.contains("@FILES@"), "{unfilled}");
        let filled = fill_template(&spec, &[("@VERSION@", "0.1.0"), ("@FILES@", "/x")]).unwrap();
        assert!(filled.contains("Version:        0.1.0\n"), "{filled}");
        assert_eq!(unfilled_placeholder("mail a@b.c or @x@"), None);
    }
}
