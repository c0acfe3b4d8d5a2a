//! File helpers of the dist steps: templates, directory walks, and copies
//! and writes whose errors name the path.

use std::path::Path;

/// A template with every `@NAME@` replaced; a placeholder left over is an error.
pub(super) fn fill_template(path: &Path, values: &[(&str, &str)]) -> Result<String, String> {
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
pub(super) fn unfilled_placeholder(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let len = rest.find('@')?;
        let name = &rest[..len];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .then(|| &text[at..at + len + 2])
    })
}

pub(super) fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))
}

pub(super) fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cp {} {}: {e}", from.display(), to.display()))
}

pub(super) fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util;

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
