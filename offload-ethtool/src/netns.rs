//! Acting inside another network namespace without moving the calling thread:
//! a helper thread enters it (setns) and runs the work there. Sockets created
//! there keep that namespace, for ioctls and capture alike.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use crate::error::Error;

/// The file of a namespace given as a name under /run/netns or as a path.
fn netns_path(netns: &str) -> PathBuf {
    if netns.contains('/') {
        PathBuf::from(netns)
    } else {
        PathBuf::from("/run/netns").join(netns)
    }
}

/// Runs `f` inside `netns` (on a helper thread), or right here when `netns` is None.
/// `f` may return any error that an interface [`Error`] converts into.
pub fn run_in<T: Send + 'static, E: From<Error> + Send + 'static>(
    netns: Option<&str>,
    f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static,
) -> std::result::Result<T, E> {
    let Some(netns) = netns else { return f() };
    let name = netns.to_string();
    let netns_error = move |source: io::Error| Error::Netns {
        netns: name.clone(),
        source,
    };
    let file = File::open(netns_path(netns)).map_err(|e| E::from(netns_error(e)))?;
    std::thread::spawn(move || {
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| E::from(netns_error(io::Error::from(e))))?;
        f()
    })
    .join()
    .map_err(|_| E::from(Error::WorkerPanicked))?
}
