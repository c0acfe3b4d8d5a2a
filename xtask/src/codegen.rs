//! `cargo xtask codegen [--check]`: writes `include/offload.h` from the
//! offload-capi sources with cbindgen (a pinned library dependency, so every
//! machine produces the same bytes). `--check` writes nothing and fails when
//! the checked-in header is stale. Also renders the pkg-config file.

use std::path::{Path, PathBuf};

use crate::util;

/// The checked-in header.
pub fn header_path() -> PathBuf {
    util::workspace_root().join("include/offload.h")
}

/// offload-capi's package version (the workspace version).
pub fn capi_version() -> Result<String, String> {
    let manifest = util::workspace_root().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let in_package = text
        .split("[workspace.package]")
        .nth(1)
        .ok_or("no [workspace.package] in Cargo.toml")?;
    in_package
        .lines()
        .find_map(|l| {
            let value = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .ok_or_else(|| "no version in [workspace.package]".to_string())
}

/// The header text the sources give now.
pub fn generate_header() -> Result<String, String> {
    let crate_dir = util::workspace_root().join("offload-capi");
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("offload-capi/cbindgen.toml: {e}"))?;
    let version = capi_version()?;
    let parts: Vec<&str> = version.split('.').collect();
    let [major, minor, patch] = parts[..] else {
        return Err(format!("version {version} is not MAJOR.MINOR.PATCH"));
    };
    config.after_includes = Some(format!(
        "\n#define OFFLOAD_VERSION_MAJOR {major}\n#define OFFLOAD_VERSION_MINOR {minor}\n#define OFFLOAD_VERSION_PATCH {patch}"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| format!("cbindgen wrote non-UTF-8: {e}"))
}

/// Whether the checked-in header equals what the sources give.
pub fn header_is_fresh() -> Result<bool, String> {
    let wanted = generate_header()?;
    let have = std::fs::read_to_string(header_path()).unwrap_or_default();
    Ok(have == wanted)
}

/// `offload.pc` for a library installed under `prefix` (libdir and includedir
/// absolute), from `offload-capi/offload.pc.in`.
pub fn render_pkg_config(
    prefix: &Path,
    libdir: &Path,
    includedir: &Path,
) -> Result<String, String> {
    let template = util::workspace_root().join("offload-capi/offload.pc.in");
    let text =
        std::fs::read_to_string(&template).map_err(|e| format!("{}: {e}", template.display()))?;
    Ok(text
        .replace("@PREFIX@", &prefix.display().to_string())
        .replace("@LIBDIR@", &libdir.display().to_string())
        .replace("@INCLUDEDIR@", &includedir.display().to_string())
        .replace("@VERSION@", &capi_version()?))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => return Err("usage: cargo xtask codegen [--check]".into()),
    };
    let path = header_path();
    if check {
        return if header_is_fresh()? {
            eprintln!("{} is up to date", path.display());
            Ok(())
        } else {
            Err(format!(
                "{} is stale: run `cargo xtask codegen` and commit the result",
                path.display()
            ))
        };
    }
    let text = generate_header()?;
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        eprintln!("{} is up to date", path.display());
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header drift check: fails when offload-capi changed and
    /// `cargo xtask codegen` was not run.
    #[test]
    fn checked_in_header_is_fresh() {
        assert!(
            header_is_fresh().unwrap(),
            "include/offload.h is stale: run `cargo xtask codegen`"
        );
    }

    #[test]
    fn pkg_config_names_the_library_and_the_paths() {
        let pc = render_pkg_config(
            Path::new("/usr"),
            Path::new("/usr/lib64"),
            Path::new("/usr/include"),
        )
        .unwrap();
        assert!(pc.contains("prefix=/usr\n"));
        assert!(pc.contains("libdir=/usr/lib64\n"));
        assert!(pc.contains("includedir=/usr/include\n"));
        assert!(pc.contains("Libs: -L${libdir} -loffload"));
        assert!(pc.contains(&format!("Version: {}\n", capi_version().unwrap())));
    }
}
