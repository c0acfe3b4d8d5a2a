//! glibc 2.17 as the floor: the symbol versions an ELF file needs (readelf,
//! objdump, and the same rule on an RPM's requirements) and liboffload's soname.

use std::fmt;
use std::path::Path;
use std::process::Command;

use crate::util;

/// The oldest glibc we support: CentOS 7, the base of every current dom0.
pub(super) const GLIBC_FLOOR: GlibcVersion = GlibcVersion([2, 17, 0]);
pub(super) const SONAME: &str = "liboffload.so.0";

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
pub(super) fn glibc_versions_in(text: &str) -> Result<Vec<GlibcVersion>, String> {
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
pub(super) fn symbols_above_floor(objdump: &str) -> Vec<String> {
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
pub(super) fn check_glibc(file: &Path) -> Result<GlibcVersion, String> {
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
pub(super) fn check_soname(library: &Path) -> Result<(), String> {
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
}
