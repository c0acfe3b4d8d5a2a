//! In dom0: whether this host's PIFs and its guests' VIFs match a policy,
//! asked of xapi over its local (pre-authenticated) socket.

use std::path::PathBuf;
use std::sync::Mutex;
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
    /// Ask xapi at most this often; scrapes in between reuse the answer.
    pub refresh: Duration,
    /// Per-call timeout.
    pub timeout: Duration,
}

/// The xapi source: one session kept between scrapes, renewed after an error.
pub struct XapiSource {
    config: XapiConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    client: Option<Client>,
    last: Option<(Instant, Exposition)>,
}

impl XapiSource {
    /// A source that connects on its first scrape.
    pub fn new(config: XapiConfig) -> XapiSource {
        XapiSource {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// `offload_xapi_up` and, when xapi answered, the objects by state.
    pub fn collect(&self) -> Exposition {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, cached)) = &state.last {
            if at.elapsed() < self.config.refresh {
                return cached.clone();
            }
        }
        let mut out = Exposition::new();
        match self.check(&mut state.client) {
            Ok(check) => {
                out.add(&XAPI_UP, &[], 1.0);
                let policy = self.config.policy.name.as_str();
                for (object, checked) in [("pif", &check.pifs), ("vif", &check.vifs)] {
                    let matching = checked.iter().filter(|o| o.ok).count();
                    let differing = checked.len() - matching;
                    out.add(&XAPI_OBJECTS, &[object, policy, "match"], matching as f64);
                    out.add(
                        &XAPI_OBJECTS,
                        &[object, policy, "mismatch"],
                        differing as f64,
                    );
                }
            }
            Err(_) => {
                // The session may be gone (xapi restarted): log in again next time.
                state.client = None;
                out.add(&XAPI_UP, &[], 0.0);
            }
        }
        state.last = Some((Instant::now(), out.clone()));
        out
    }

    fn check(&self, client: &mut Option<Client>) -> offload_xapi::Result<HostCheck> {
        let connected = match client {
            Some(c) => c.clone(),
            None => {
                // The local socket is pre-authenticated: the password is not checked.
                let mut options =
                    ConnectOptions::new(Endpoint::Unix(self.config.socket.clone()), "root", "");
                options.timeout = self.config.timeout;
                options.retries = 0;
                options.originator = "offload-exporter".into();
                let c = Client::connect(options)?;
                *client = Some(c.clone());
                c
            }
        };
        local::check_host(&connected, &self.config.policy, &self.config.host_uuid)
    }
}

impl Drop for XapiSource {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = state.client.take() {
            let _ = client.logout();
        }
    }
}
