//! One command at a time per network namespace: `disable` and `restore` take
//! an advisory lock (flock) on a file named after the namespace's inode, so
//! two runs started together never leave a mix of states. The second waits,
//! up to a bound, then fails clearly.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// Where the lock files live.
pub const LOCK_DIR: &str = "/run/offload";
/// How long a second run waits for the first by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// The held lock; released on drop (and by the kernel if the process dies).
#[derive(Debug)]
pub struct NetnsLock {
    _held: Flock<File>,
}

/// The lock file of the calling thread's network namespace.
pub fn lock_path() -> Result<PathBuf> {
    let ns = std::fs::metadata("/proc/thread-self/ns/net").map_err(|source| Error::Lock {
        path: "/proc/thread-self/ns/net".into(),
        source,
    })?;
    Ok(PathBuf::from(LOCK_DIR).join(format!("netns-{}-{}.lock", ns.dev(), ns.ino())))
}

/// Takes the lock of the calling thread's namespace, waiting up to `wait`
/// (`OFFLOAD_LOCK_WAIT_SECS` overrides it); gives up early when `stop` is set.
pub fn lock_here(wait: Duration, stop: Option<&Arc<AtomicBool>>) -> Result<NetnsLock> {
    let path = lock_path()?;
    let wait = std::env::var("OFFLOAD_LOCK_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(wait, Duration::from_secs);
    let error = |source| Error::Lock {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(LOCK_DIR).map_err(error)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(error)?;
    let started = Instant::now();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(NetnsLock { _held: held }),
            Err((back, nix::errno::Errno::EWOULDBLOCK)) => file = back,
            Err((_, errno)) => return Err(error(errno.into())),
        }
        let stopped = stop.is_some_and(|s| s.load(Ordering::Relaxed));
        if stopped || started.elapsed() >= wait {
            return Err(Error::Busy {
                path: path.display().to_string(),
                waited: started.elapsed(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
