//! One re-login shared by every worker thread.
//!
//! When the host drops our session (`SESSION_INVALID`: a day idle, a
//! toolstack restart, or xapi's session GC keeping only the 500 most
//! recently active sessions of our originator), every worker sees it at
//! about the same time. Only the first one logs in again; the others wait
//! for it and use the new session, so a 16-thread run makes one login, not
//! 16 (each of which would push another session towards the limit).

#[cfg(offload_loom)]
use loom::sync::Mutex;
#[cfg(not(offload_loom))]
use std::sync::Mutex;

/// A value (the session ref) with a generation number that changes on each
/// renewal.
#[derive(Debug)]
pub struct SingleFlight<T> {
    state: Mutex<(T, u64)>,
}

impl<T: Clone> SingleFlight<T> {
    pub fn new(value: T) -> SingleFlight<T> {
        SingleFlight {
            state: Mutex::new((value, 0)),
        }
    }

    /// The current value and its generation.
    pub fn current(&self) -> (T, u64) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (state.0.clone(), state.1)
    }

    /// Renews the value if it is still generation `seen`; if another thread
    /// renewed it meanwhile, returns theirs without calling `renew`.
    /// The lock is held during `renew`, so concurrent callers wait for the
    /// one renewal instead of starting their own.
    pub fn renew<E>(&self, seen: u64, renew: impl FnOnce() -> Result<T, E>) -> Result<(T, u64), E> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.1 != seen {
            return Ok((state.0.clone(), state.1));
        }
        let value = renew()?;
        state.0 = value;
        state.1 += 1;
        Ok((state.0.clone(), state.1))
    }

    /// Replaces the value (for example with an empty one after logout).
    pub fn replace(&self, value: T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1 += 1;
        std::mem::replace(&mut state.0, value)
    }
}

#[cfg(all(test, not(offload_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn concurrent_renewals_of_one_generation_log_in_once() {
        let cell = Arc::new(SingleFlight::new("old".to_string()));
        let logins = Arc::new(AtomicUsize::new(0));
        // Every worker saw the old session fail before any of them renews it.
        let all_saw_old = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cell, logins, barrier) = (cell.clone(), logins.clone(), all_saw_old.clone());
                std::thread::spawn(move || {
                    let (_, seen) = cell.current();
                    barrier.wait();
                    cell.renew(seen, || {
                        logins.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok::<_, ()>("new".to_string())
                    })
                    .unwrap()
                })
            })
            .collect();
        for t in threads {
            let (value, generation) = t.join().unwrap();
            assert_eq!((value.as_str(), generation), ("new", 1));
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_renewal_leaves_the_generation() {
        let cell = SingleFlight::new(1);
        assert_eq!(cell.renew(0, || Err::<i32, _>("down")), Err("down"));
        assert_eq!(cell.current(), (1, 0));
        assert_eq!(cell.renew(0, || Ok::<_, ()>(2)), Ok((2, 1)));
    }
}
