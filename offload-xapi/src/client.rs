//! A logged-in XAPI client: sessions, connection reuse, retries.
//!
//! [`Client`] is cheap to clone and safe to share between threads: each call
//! borrows an idle connection (or opens one), so N worker threads use N
//! connections to the host.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::session::SingleFlight;
use crate::tls::Trust;
use crate::transport::{Connection, Connector, Endpoint, STALE};
use crate::wire::{jsonrpc, xmlrpc, Value};

/// Which of xapi's two wire formats to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// XML-RPC on `/` (what `xe` and the official SDKs use).
    #[default]
    XmlRpc,
    /// JSON-RPC 2.0 on `/jsonrpc`.
    JsonRpc,
}

/// How to reach and log in to a pool.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub endpoint: Endpoint,
    pub protocol: Protocol,
    pub trust: Trust,
    pub user: String,
    pub password: String,
    /// Per-call network timeout.
    pub timeout: Duration,
    /// Extra attempts of idempotent calls after a transport error.
    pub retries: u32,
    /// Sent with the login so the host groups our sessions (empty: sent as
    /// [`ORIGINATOR`]).
    pub originator: String,
    /// Follow `HOST_IS_SLAVE` to the pool master.
    pub follow_master: bool,
}

impl ConnectOptions {
    pub fn new(
        endpoint: Endpoint,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> ConnectOptions {
        ConnectOptions {
            endpoint,
            protocol: Protocol::XmlRpc,
            trust: Trust::System,
            user: user.into(),
            password: password.into(),
            timeout: Duration::from_secs(60),
            retries: 3,
            originator: ORIGINATOR.to_string(),
            follow_master: true,
        }
    }
}

/// A logged-in session with a pool master.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    options: ConnectOptions,
    idle: Mutex<Vec<Connection>>,
    session: SingleFlight<String>,
    logged_out: AtomicBool,
    calls: AtomicU64,
    next_id: AtomicU64,
    /// The master's certificate thumbprint as a pool member named it.
    master_thumbprint: Mutex<Option<String>>,
}

/// The originator our logins carry. xapi's session GC
/// (`Db_gc_util.timeout_sessions`, every 30 s) keeps the 500 most recently
/// active sessions per originator; root's sessions without one share 400
/// with every anonymous script on the pool, whose leaks would then end ours.
pub const ORIGINATOR: &str = "offload";

/// How long an idle connection is trusted for calls that must not be repeated.
const FRESH_CONNECTION: Duration = Duration::from_secs(2);

/// The pool master's address from a `HOST_IS_SLAVE` error.
fn master_of(error: &Error) -> Option<&str> {
    match error {
        Error::Api { code, params, .. } if code == "HOST_IS_SLAVE" => {
            params.first().map(String::as_str)
        }
        _ => None,
    }
}

impl Client {
    /// Connects and logs in; follows `HOST_IS_SLAVE` to the master.
    pub fn connect(options: ConnectOptions) -> Result<Client> {
        let mut connector = Connector::new(
            options.endpoint.clone(),
            options.trust.clone(),
            options.timeout,
        )?;
        let mut hops = 0;
        loop {
            let inner = Inner {
                connector,
                options: options.clone(),
                idle: Mutex::new(Vec::new()),
                session: SingleFlight::new(String::new()),
                logged_out: AtomicBool::new(true),
                calls: AtomicU64::new(0),
                next_id: AtomicU64::new(1),
                master_thumbprint: Mutex::new(None),
            };
            match inner.login() {
                Ok(session) => {
                    inner.session.replace(session);
                    inner.logged_out.store(false, Ordering::SeqCst);
                    return Ok(Client {
                        inner: Arc::new(inner),
                    });
                }
                Err(e) => match master_of(&e) {
                    Some(master) if options.follow_master && hops < 3 => {
                        hops += 1;
                        let endpoint = inner.connector.endpoint.with_host(master)?;
                        // The member we pinned vouches for the master's certificate.
                        let named = inner
                            .master_thumbprint
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone();
                        connector = match (&options.trust, named) {
                            (Trust::Pinned(_), Some(thumbprint)) => {
                                let pin = crate::tls::parse_fingerprint(&thumbprint)?;
                                inner
                                    .connector
                                    .to_with_trust(endpoint, Trust::Pinned(pin))?
                            }
                            _ => inner.connector.to(endpoint)?,
                        };
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    /// Where the session lives (the master, after following `HOST_IS_SLAVE`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.connector.endpoint
    }

    /// The session ref (for `host.call_plugin`-style callers that pass it on).
    pub fn session_ref(&self) -> String {
        self.inner.session.current().0
    }

    /// How many HTTP calls this client made (logins included).
    pub fn calls_made(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// Calls `method` with the session as first parameter.
    ///
    /// `SESSION_INVALID` triggers one shared re-login and a retry; transport
    /// errors are retried with backoff for idempotent (read-only or
    /// naturally idempotent) methods only.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value> {
        if self.inner.logged_out.load(Ordering::SeqCst) {
            return Err(Error::invalid(method, "session already logged out"));
        }
        let idempotent = is_idempotent(method);
        let mut relogged = false;
        let mut attempt = 0;
        let mut protocol = self.inner.options.protocol;
        // The XML-RPC answer that could not be read, while JSON-RPC is tried.
        let mut unreadable: Option<Error> = None;
        loop {
            let (session, generation) = self.inner.session.current();
            let mut full = Vec::with_capacity(params.len() + 1);
            full.push(Value::String(session));
            full.extend_from_slice(params);
            match self.inner.raw_call(protocol, method, &full, idempotent) {
                Err(Error::Api { code, .. }) if code == "SESSION_INVALID" && !relogged => {
                    relogged = true;
                    self.inner
                        .session
                        .renew(generation, || self.inner.login())?;
                }
                Err(e)
                    if e.is_transient() && idempotent && attempt < self.inner.options.retries =>
                {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(100 << attempt.min(5)));
                }
                // xapi writes struct member names unescaped: one other_config
                // key with `&` or `<` makes an XML-RPC read invalid XML. The
                // same read over JSON-RPC (same port, /jsonrpc) is unaffected.
                Err(e @ Error::Decode { .. }) if idempotent && protocol == Protocol::XmlRpc => {
                    protocol = Protocol::JsonRpc;
                    unreadable = Some(e);
                }
                // A host that does not answer JSON-RPC either: its XML-RPC
                // answer is the error to report. An API error is an answer.
                Err(e) if unreadable.is_some() && !matches!(e, Error::Api { .. }) => {
                    return Err(unreadable.unwrap_or(e));
                }
                other => return other,
            }
        }
    }

    /// Logs out (also done when the last clone is dropped).
    pub fn logout(&self) -> Result<()> {
        self.inner.logout()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.logout();
    }
}

/// Methods safe to send twice: reads, and writes whose second run changes nothing.
fn is_idempotent(method: &str) -> bool {
    // Class names have no underscore, so this also splits `VM_get_record`.
    let short = method.split_once(['.', '_']).map_or(method, |(_, m)| m);
    short.starts_with("get_")
        || short.starts_with("remove_from_")
        || matches!(short, "login_with_password" | "logout" | "from" | "plug")
}

impl Inner {
    fn target(&self) -> String {
        self.connector.target()
    }

    fn login(&self) -> Result<String> {
        let o = &self.options;
        let params = [
            Value::str(o.user.as_str()),
            Value::str(o.password.as_str()),
            Value::str("1.1"),
            Value::str(if o.originator.is_empty() {
                ORIGINATOR
            } else {
                o.originator.as_str()
            }),
        ];
        let mut attempt = 0;
        loop {
            match self.raw_call(
                self.options.protocol,
                "session.login_with_password",
                &params,
                true,
            ) {
                Ok(v) => {
                    return v.as_str().map(str::to_string).ok_or_else(|| Error::Decode {
                        target: self.target(),
                        method: "session.login_with_password".into(),
                        message: format!("expected a session ref, got a {}", v.kind()),
                    })
                }
                Err(e) if e.is_transient() && attempt < o.retries => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(100 << attempt.min(5)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn logout(&self) -> Result<()> {
        if self.logged_out.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let session = self.session.replace(String::new());
        match self.raw_call(
            self.options.protocol,
            "session.logout",
            &[Value::String(session)],
            true,
        ) {
            Ok(_) => Ok(()),
            // Already gone on the host: nothing left to clean up.
            Err(Error::Api { code, .. }) if code == "SESSION_INVALID" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An idle connection, or a new one. Calls that must not be sent twice
    /// only reuse recently used connections: a server closes idle ones after
    /// a while, and a request lost that way cannot be told from one the
    /// server received before dying.
    fn take_connection(&self, idempotent: bool) -> Result<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(conn) = idle.pop() {
            if idempotent || conn.idle_for() < FRESH_CONNECTION {
                return Ok(conn);
            }
        }
        drop(idle);
        self.connector.connect()
    }

    /// One HTTP exchange. A reused connection the server had closed is
    /// replaced once by a new one, for idempotent calls only.
    fn raw_call(
        &self,
        protocol: Protocol,
        method: &str,
        params: &[Value],
        idempotent: bool,
    ) -> Result<Value> {
        let (path, content_type, body) = match protocol {
            Protocol::XmlRpc => ("/", "text/xml", xmlrpc::encode_call(method, params)),
            Protocol::JsonRpc => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                (
                    "/jsonrpc",
                    "application/json",
                    jsonrpc::encode_call(method, params, id),
                )
            }
        };
        // With a pinned certificate, ask a pool member to name the master's,
        // so HOST_IS_SLAVE can be followed without trusting anything new.
        let extra = match (&self.options.trust, method) {
            (Trust::Pinned(_), "session.login_with_password") => {
                "x-xenapi-request-host-certificate-thumbprint: sha-256:master\r\n"
            }
            _ => "",
        };
        let mut conn = self.take_connection(idempotent)?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response =
            match self
                .connector
                .post(&mut conn, path, content_type, body.as_bytes(), extra)
            {
                Ok(r) => r,
                Err(e) if idempotent && e.to_string() == STALE => {
                    conn = self.connector.connect()?;
                    self.connector
                        .post(&mut conn, path, content_type, body.as_bytes(), extra)
                        .map_err(|e| self.io_error(method, e))?
                }
                Err(e) => return Err(self.io_error(method, e)),
            };
        if let Some(thumbprint) = &response.master_thumbprint {
            *self
                .master_thumbprint
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(thumbprint.clone());
        }
        if !response.close {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        if response.status != 200 {
            return Err(Error::Http {
                target: self.target(),
                status: response.status,
                body: String::from_utf8_lossy(&response.body).into_owned(),
            });
        }
        let decode_error = |message: String| Error::Decode {
            target: self.target(),
            method: method.to_string(),
            message,
        };
        match protocol {
            Protocol::XmlRpc => {
                let value =
                    xmlrpc::decode_response(&response.body).map_err(|e| decode_error(e.message))?;
                unwrap_status(method, value).map_err(|e| match e {
                    StatusError::Api(e) => e,
                    StatusError::Shape(m) => decode_error(m),
                })
            }
            Protocol::JsonRpc => match jsonrpc::decode_response(&response.body)
                .map_err(|e| decode_error(e.message))?
            {
                Ok(value) => Ok(value),
                Err(description) => Err(api_error(method, description)),
            },
        }
    }

    fn io_error(&self, method: &str, e: std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Error::Timeout {
                target: self.target(),
                method: method.to_string(),
            },
            std::io::ErrorKind::InvalidData => Error::Decode {
                target: self.target(),
                method: method.to_string(),
                message: e.to_string(),
            },
            _ => Error::Transport {
                target: self.target(),
                source: e,
            },
        }
    }
}

enum StatusError {
    Api(Error),
    Shape(String),
}

fn api_error(method: &str, mut description: Vec<String>) -> Error {
    let code = if description.is_empty() {
        "UNKNOWN_ERROR".to_string()
    } else {
        description.remove(0)
    };
    Error::Api {
        method: method.to_string(),
        code,
        params: description,
    }
}

/// XAPI's `{Status, Value | ErrorDescription}` envelope.
fn unwrap_status(method: &str, value: Value) -> std::result::Result<Value, StatusError> {
    let Value::Struct(mut members) = value else {
        return Err(StatusError::Shape(format!(
            "expected a Status struct, got a {}",
            value.kind()
        )));
    };
    match members.get("Status").and_then(Value::as_str) {
        Some("Success") => members
            .remove("Value")
            .ok_or_else(|| StatusError::Shape("Status is Success but Value is missing".into())),
        Some("Failure") => {
            let description = match members.remove("ErrorDescription") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
                    .collect(),
                _ => {
                    return Err(StatusError::Shape(
                        "Status is Failure but ErrorDescription is missing".into(),
                    ))
                }
            };
            Err(StatusError::Api(api_error(method, description)))
        }
        _ => Err(StatusError::Shape("response has no Status member".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_methods_are_the_reads_and_natural_repeats() {
        for m in [
            "VIF.get_all_records",
            "VM_get_record",
            "session.login_with_password",
            "event.from",
            "event_from",
            "PIF.remove_from_other_config",
            "PIF.plug",
        ] {
            assert!(is_idempotent(m), "{m}");
        }
        for m in [
            "VIF.add_to_other_config",
            "VM.clean_reboot",
            "VIF.unplug",
            "host.call_plugin",
        ] {
            assert!(!is_idempotent(m), "{m}");
        }
    }

    #[test]
    fn status_envelopes_become_values_or_verbatim_api_errors() {
        let ok =
            xmlrpc::decode_response(xmlrpc::encode_success(&Value::str("r")).as_bytes()).unwrap();
        assert!(matches!(unwrap_status("m", ok), Ok(Value::String(s)) if s == "r"));
        let failure = xmlrpc::decode_response(
            xmlrpc::encode_failure(&[
                "MAP_DUPLICATE_KEY".into(),
                "VIF".into(),
                "other_config".into(),
                "OpaqueRef:x".into(),
                "ethtool-tx".into(),
            ])
            .as_bytes(),
        )
        .unwrap();
        match unwrap_status("VIF.add_to_other_config", failure) {
            Err(StatusError::Api(Error::Api {
                code,
                params,
                method,
            })) => {
                assert_eq!(code, "MAP_DUPLICATE_KEY");
                assert_eq!(params, ["VIF", "other_config", "OpaqueRef:x", "ethtool-tx"]);
                assert_eq!(method, "VIF.add_to_other_config");
            }
            _ => panic!("expected an API error"),
        }
        assert!(matches!(
            unwrap_status("m", Value::str("x")),
            Err(StatusError::Shape(_))
        ));
        assert!(matches!(
            unwrap_status("m", Value::structure([("Status", Value::str("Success"))])),
            Err(StatusError::Shape(_))
        ));
    }
}
