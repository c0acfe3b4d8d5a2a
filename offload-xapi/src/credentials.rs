//! Where a password comes from: the one rule for reading a password file,
//! used by every front-end.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};

/// A password file larger than this is not a password file (`/dev/zero`
/// must not read until memory runs out).
pub const MAX_PASSWORD_FILE: u64 = 4096;

/// A password read from a file, with what the caller should tell the user.
#[derive(Debug)]
pub struct PasswordFile {
    /// The first line, without its line ending.
    pub password: String,
    /// Set when group or others may read the file (mode & 0o077 != 0).
    pub readable_by_others: Option<u32>,
}

/// Reads the first line of `path` as the password. Refuses, before any
/// login, a file that cannot be read, one larger than
/// [`MAX_PASSWORD_FILE`], and an empty password.
pub fn read_password_file(path: &Path) -> Result<PasswordFile> {
    let fail = |message: String| Error::Credentials {
        source: path.display().to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mode = file
        .metadata()
        .map_err(|e| fail(e.to_string()))?
        .permissions()
        .mode();
    let mut bytes = Vec::new();
    file.take(MAX_PASSWORD_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_PASSWORD_FILE {
        return Err(fail(format!(
            "longer than {MAX_PASSWORD_FILE} bytes: not a password file"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("not valid UTF-8".into()))?;
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        return Err(fail(
            "the first line is empty: no password to log in with".into(),
        ));
    }
    let readable_by_others = (mode & 0o077 != 0).then_some(mode & 0o777);
    Ok(PasswordFile {
        password,
        readable_by_others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("offload-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn first_line_is_the_password_and_loose_modes_are_flagged() {
        let tight = read_password_file(&file("tight", b"secret\nrest\n", 0o600)).unwrap();
        assert_eq!(tight.password, "secret");
        assert_eq!(tight.readable_by_others, None);
        let loose = read_password_file(&file("loose", b"secret\r\n", 0o644)).unwrap();
        assert_eq!(loose.password, "secret");
        assert_eq!(loose.readable_by_others, Some(0o644));
    }

    #[test]
    fn empty_huge_and_endless_files_are_refused() {
        for (name, bytes) in [("empty", &b""[..]), ("blank", &b"\nsecret\n"[..])] {
            let err = read_password_file(&file(name, bytes, 0o600)).unwrap_err();
            assert!(err.to_string().contains("empty"), "{err}");
        }
        let huge = vec![b'x'; 10_000];
        let err = read_password_file(&file("huge", &huge, 0o600)).unwrap_err();
        assert!(err.to_string().contains("not a password file"), "{err}");
        let err = read_password_file(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("not a password file"), "{err}");
    }
}
