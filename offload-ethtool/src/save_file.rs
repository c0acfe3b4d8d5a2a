//! The one rule for files that hold a state to put back later: local
//! snapshots (`disable --save`) and XAPI undo files (`xapi ... apply --save`).
//!
//! - A saved file is never replaced: a second save is refused unless
//!   `force`, which adds to the file and keeps what it already holds (the
//!   state from before the first run; a re-run must never save the state the
//!   first run made).
//! - A file that cannot be read as what it should be (damaged, another
//!   schema, too large) is refused, also with `force`: nothing is merged
//!   into it and nothing is overwritten.
//! - Writing is atomic: a new file beside it (no symlink followed, never an
//!   existing one), fsync, link or rename into place, fsync of the directory.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Saved files larger than this are refused before being read whole.
pub const MAX_SAVED_BYTES: u64 = 16 << 20;

/// A state that can be saved: it says its schema and how a newer save is
/// added to an older one.
pub trait SavedState: Serialize + DeserializeOwned {
    /// Whether `schema` is one this type reads.
    fn reads_schema(schema: &str) -> bool;
    /// The schema tag of a value.
    fn schema(&self) -> &str;
    /// `self` (a new save) added to `older`: whatever `older` holds wins.
    fn merged_into(self, older: Self) -> Self;
}

/// Reads a saved file (at most [`MAX_SAVED_BYTES`], a schema `T` reads).
pub fn load<T: SavedState>(path: &Path) -> Result<T> {
    let bad = |reason: String| Error::BadSnapshot {
        path: path.display().to_string(),
        reason,
    };
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_SAVED_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    if text.len() as u64 > MAX_SAVED_BYTES {
        return Err(bad(format!(
            "larger than {} MiB, not a saved state",
            MAX_SAVED_BYTES >> 20
        )));
    }
    let value: T =
        serde_json::from_str(&text).map_err(|e| bad(format!("not an offload save ({e})")))?;
    if !T::reads_schema(value.schema()) {
        return Err(bad(format!(
            "schema '{}' is not one this version reads",
            value.schema().escape_debug()
        )));
    }
    Ok(value)
}

/// Whether [`save`] would be allowed: without `force` the file must not
/// exist; with `force` an existing file must be readable (a dry run checks
/// this and writes nothing).
pub fn check_writable<T: SavedState>(path: &Path, force: bool) -> Result<()> {
    let exists = path.symlink_metadata().is_ok();
    if exists && !force {
        return Err(Error::SnapshotExists {
            path: path.display().to_string(),
        });
    }
    if exists {
        load::<T>(path)?;
    }
    Ok(())
}

/// Writes `value` to `path` atomically; an existing file is refused unless
/// `force`, which merges `value` into it (its entries win). Nothing is left
/// behind on error, and a damaged file is left as it is.
pub fn save<T: SavedState>(path: &Path, value: T, force: bool) -> Result<()> {
    check_writable::<T>(path, force)?;
    let existing = force && path.symlink_metadata().is_ok();
    let value = if existing {
        value.merged_into(load(path)?)
    } else {
        value
    };
    let text = serde_json::to_string_pretty(&value).map_err(|e| Error::BadSnapshot {
        path: path.display().to_string(),
        reason: e.to_string(),
    })? + "\n";
    write_atomically(path, text.as_bytes(), existing)
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::SnapshotWrite {
        path: path.display().to_string(),
        source,
    }
}

/// Temp file beside `path` (O_EXCL | O_NOFOLLOW, mode 0600), fsync, then
/// rename over (`replace`) or hard-link into place (fails if `path` appeared
/// meanwhile), fsync the directory; the temp file is removed on every path.
fn write_atomically(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let error = write_error(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| error(std::io::Error::from_raw_os_error(libc::EISDIR)))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp.{}", std::process::id()));
    let temp = dir.join(temp_name);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if replace {
            std::fs::rename(&temp, path)?;
        } else {
            std::fs::hard_link(&temp, path)?;
            std::fs::remove_file(&temp)?;
        }
        File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists && !replace {
            Error::SnapshotExists {
                path: path.display().to_string(),
            }
        } else {
            error(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Counts {
        schema: String,
        entries: Vec<(String, u32)>,
    }

    impl SavedState for Counts {
        fn reads_schema(schema: &str) -> bool {
            schema == "test/1"
        }
        fn schema(&self) -> &str {
            &self.schema
        }
        fn merged_into(self, mut older: Counts) -> Counts {
            for (k, v) in self.entries {
                if !older.entries.iter().any(|(o, _)| *o == k) {
                    older.entries.push((k, v));
                }
            }
            older
        }
    }

    fn counts(entries: &[(&str, u32)]) -> Counts {
        Counts {
            schema: "test/1".into(),
            entries: entries.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn a_second_save_keeps_the_first_state_and_a_damaged_file_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("offload-save-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        save(&path, counts(&[("a", 1)]), false).unwrap();
        assert!(matches!(
            save(&path, counts(&[("a", 2)]), false),
            Err(Error::SnapshotExists { .. })
        ));
        save(&path, counts(&[("a", 2), ("b", 3)]), true).unwrap();
        assert_eq!(
            load::<Counts>(&path).unwrap(),
            counts(&[("a", 1), ("b", 3)])
        );

        std::fs::write(&path, "{\"schema\": \"test/1\", \"entr").unwrap();
        assert!(matches!(
            check_writable::<Counts>(&path, true),
            Err(Error::BadSnapshot { .. })
        ));
        assert!(matches!(
            save(&path, counts(&[("c", 4)]), true),
            Err(Error::BadSnapshot { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"schema\": \"test/1\", \"entr",
            "a damaged file is never overwritten"
        );
        std::fs::write(&path, "{\"schema\": \"test/9\", \"entries\": []}").unwrap();
        assert!(load::<Counts>(&path)
            .unwrap_err()
            .to_string()
            .contains("test/9"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
