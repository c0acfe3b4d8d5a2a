//! The RPM as a user gets it: installed into a scratch root, offloadctl
//! started, and a C program built against what it installed.

use std::path::Path;
use std::process::Command;

use super::binaries::Layout;
use super::files::{create_dir, write};
use super::glibc::{check_glibc, SONAME};
use crate::util;

/// Installs the RPM into a scratch root (`rpm -i --root`, no scripts): every
/// installed file must equal the staged one and offloadctl must start. With the
/// header present, a C program built only from what the RPM installed (header,
/// pkg-config flags, library) calls `offload_version()`, linked once against
/// the .so (which it must then need as liboffload.so.0) and once statically.
pub(super) fn install_and_link(
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
pub(super) const LINK_TEST_C: &str = r#"#include <stdio.h>
#include <offload.h>

int main(void) {
    const char *version = offload_version();
    if (version == NULL) return 1;
    puts(version);
    return 0;
}
"#;

pub(super) fn split_flags(flags: &str) -> Vec<String> {
    flags.split_whitespace().map(str::to_string).collect()
}
