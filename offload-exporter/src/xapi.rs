//! In dom0: whether this host's PIFs and its guests' VIFs match a policy,
//! asked of xapi over its local (pre-authenticated) socket.
//!
//! xapi is asked on a thread of its own every `refresh`; a scrape only reads
//! the last answer, so a slow or hung xapi never makes a scrape slow (which
//! would mark every other metric of the host down with it).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use offload_xapi::local::{self, HostCheck};
use offload_xapi::policy::Policy;
use offload_xapi::{Client, ConnectOptions, Endpoint};

use crate::model::{Exposition, XAPI_OBJECTS, XAPI_UP};

/// Where xapi is and what to check.
#[derive(Debug, Clone)]
pub struct XapiConfig {
    /// xapi's unix socket.
    pub socket: PathBuf,
    /// This host's uuid (dom0's inventory by default).
    pub host_uuid: String,
    /// The policy PIFs and VIFs should match.
    pub policy: Policy,
    /// Time from the start of one check to the start of the next.
    pub refresh: Duration,
    /// Per-call timeout.
    pub timeout: Duration,
}

/// The xapi source: a background checker and its last answer.
pub struct XapiSource {
    last: Arc<Mutex<Option<Exposition>>>,
    stop: Arc<AtomicBool>,
    /// Says the checker has logged out (in a Mutex: the source is shared by scrapes).
    finished: Mutex<mpsc::Receiver<()>>,
}

/// How long dropping the source waits for the checker to log out.
const LOGOUT_WAIT: Duration = Duration::from_secs(2);

impl XapiSource {
    /// Starts checking on a background thread (the first check at once).
    pub fn start(config: XapiConfig) -> XapiSource {
        let last = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (done, finished) = mpsc::channel();
        {
            let last = Arc::clone(&last);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                run(&config, &last, &stop);
                let _ = done.send(());
            });
        }
        XapiSource {
            last,
            stop,
            finished: Mutex::new(finished),
        }
    }

    /// Waits until the first check has ended, for at most `limit` (a
    /// textfile written once must not miss the answer).
    pub fn wait_for_answer(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last answer: `offload_xapi_up` and, when xapi answered, the
    /// objects by state (nothing before the first check ends).
    pub fn collect(&self) -> Exposition {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }
}

impl Drop for XapiSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // A call in flight ends within its timeout; shutting down does not
        // wait that long for a logout.
        let finished = self.finished.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = finished.recv_timeout(LOGOUT_WAIT);
    }
}

fn run(config: &XapiConfig, last: &Mutex<Option<Exposition>>, stop: &AtomicBool) {
    let mut client: Option<Client> = None;
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let answer = match check(config, &mut client) {
            Ok(check) => exposition(&config.policy, &check),
            Err(_) => {
                // The session may be gone (xapi restarted): log in again next time.
                client = None;
                let mut down = Exposition::new();
                down.add(&XAPI_UP, &[], 0.0);
                down
            }
        };
        *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
        while started.elapsed() < config.refresh && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Some(client) = client {
        let _ = client.logout();
    }
}

fn check(config: &XapiConfig, client: &mut Option<Client>) -> offload_xapi::Result<HostCheck> {
    let connected = match client {
        Some(c) => c.clone(),
        None => {
            // The local socket is pre-authenticated: the password is not checked.
            let mut options =
                ConnectOptions::new(Endpoint::Unix(config.socket.clone()), "root", "");
            options.timeout = config.timeout;
            options.retries = 0;
            options.originator = "offload-exporter".into();
            let c = Client::connect(options)?;
            *client = Some(c.clone());
            c
        }
    };
    local::check_host(&connected, &config.policy, &config.host_uuid)
}

fn exposition(policy: &Policy, check: &HostCheck) -> Exposition {
    let mut out = Exposition::new();
    out.add(&XAPI_UP, &[], 1.0);
    for (object, checked) in [("pif", &check.pifs), ("vif", &check.vifs)] {
        let matching = checked.iter().filter(|o| o.ok).count();
        let differing = checked.len() - matching;
        out.add(
            &XAPI_OBJECTS,
            &[object, &policy.name, "match"],
            matching as f64,
        );
        out.add(
            &XAPI_OBJECTS,
            &[object, &policy.name, "mismatch"],
            differing as f64,
        );
    }
    out
}
