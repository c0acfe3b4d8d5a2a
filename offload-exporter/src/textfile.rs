//! node_exporter's textfile collector: the exposition written to
//! `DIR/offload.prom` atomically (a temporary file in the same directory,
//! synced, then renamed over it), so the collector never reads half a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file name node_exporter reads (it reads `*.prom`).
pub const FILE_NAME: &str = "offload.prom";

/// Writes `text` to `dir/offload.prom` atomically and returns its path.
/// The temporary file starts with a dot and does not end in `.prom`, so the
/// collector ignores it even if this process dies before the rename.
pub fn write(dir: &Path, text: &str) -> Result<PathBuf> {
    let target = dir.join(FILE_NAME);
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let error = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Textfile { path, source }
    };
    let written = (|| {
        // A stale temporary file of a killed earlier run with our pid.
        let _ = fs::remove_file(&temp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(error(&temp)(e));
    }
    if let Err(e) = fs::rename(&temp, &target) {
        let _ = fs::remove_file(&temp);
        return Err(error(&target)(e));
    }
    // The rename itself is durable once the directory is synced.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(error(dir))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = std::env::temp_dir().join(format!("offload-textfile-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        write(&dir, "a 1\n").unwrap();
        let path = write(&dir, "a 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [FILE_NAME]);
        fs::remove_dir_all(&dir).unwrap();
        let missing = write(&dir, "a 3\n").unwrap_err();
        // ENOENT: the directory is gone.
        assert_eq!(missing.raw_os_error(), Some(2));
    }
}
