//! A small HTTP/1.1 server (keep-alive, one thread per connection) over TCP,
//! TLS or a unix socket, serving XML-RPC on `/` and `/RPC2`, JSON-RPC on
//! `/jsonrpc`, and the simulator-only `GET /sim/state`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::dispatch::{Origin, Reply, State};
use super::rng::Rng;
use offload_xapi::wire::{jsonrpc, xmlrpc};

/// xapi's `http_limit_max_rpc_size`.
pub const MAX_BODY: usize = 300 * 1024;

/// Fault injection, decided per API request before dispatch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Close the connection without answering the Nth API request (1-based, all listeners).
    pub drop_requests: Vec<u64>,
    /// Close the connection without answering with this probability.
    pub drop_probability: f64,
    /// Forget all sessions once, when the Nth call arrives.
    pub invalidate_sessions_after: Option<u64>,
    /// Every Nth request sleeps `slow_by` more.
    pub slow_every: Option<u64>,
    pub slow_by: Duration,
    /// Seed of the drop-probability generator.
    pub seed: u64,
    /// The first N runs of a call (`VIF.plug`, also inside an `Async.` task)
    /// fail with `INTERNAL_ERROR ["simulated fault"]`.
    pub fail_calls: BTreeMap<String, u32>,
}

/// Everything connection threads share.
pub(super) struct Shared {
    pub state: Arc<State>,
    pub latency: Duration,
    pub faults: Faults,
    pub rng: Mutex<Rng>,
    pub requests: AtomicU64,
    pub stop: AtomicBool,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The pool member's own certificate (a real member has its own).
    pub member_tls: Option<Arc<rustls::ServerConfig>>,
    /// What a member tells a client that asks for the master's certificate
    /// thumbprint (`x-xenapi-request-host-certificate-thumbprint: sha-256:master`).
    pub master_thumbprint: Option<String>,
    pub open: Mutex<HashMap<u64, Conn>>,
    pub next_conn: AtomicU64,
    pub state_json: Box<dyn Fn(&State) -> String + Send + Sync>,
}

/// A connection clone kept so `stop` can shut it down.
pub(super) enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn shutdown(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

pub(super) enum Listener {
    Tcp(TcpListener, Origin),
    Unix(UnixListener),
}

impl Shared {
    /// Stops accepting and closes every open connection.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for conn in self.open.lock().unwrap_or_else(|p| p.into_inner()).values() {
            conn.shutdown();
        }
    }
}

/// Runs the accept loop of one listener on its own thread.
pub(super) fn spawn(shared: Arc<Shared>, listener: Listener) -> JoinHandle<()> {
    std::thread::spawn(move || match listener {
        Listener::Tcp(listener, origin) => {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let id = shared.register(stream.try_clone().ok().map(Conn::Tcp));
                    let tls = match origin {
                        Origin::Member => shared.member_tls.as_ref().or(shared.tls.as_ref()),
                        _ => shared.tls.as_ref(),
                    };
                    match (tls, origin) {
                        (Some(config), _) => {
                            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
                                return;
                            };
                            serve(&shared, rustls::StreamOwned::new(conn, stream), origin);
                        }
                        (None, _) => serve(&shared, stream, origin),
                    }
                    shared.unregister(id);
                });
            }
        }
        Listener::Unix(listener) => {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let id = shared.register(stream.try_clone().ok().map(Conn::Unix));
                    serve(&shared, stream, Origin::Local);
                    shared.unregister(id);
                });
            }
        }
    })
}

impl Shared {
    fn register(&self, conn: Option<Conn>) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        if let Some(conn) = conn {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            if self.stop.load(Ordering::SeqCst) {
                conn.shutdown();
            }
            open.insert(id, conn);
        }
        id
    }

    fn unregister(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

struct Request {
    method: String,
    path: String,
    close: bool,
    body: Vec<u8>,
    /// The client asked for the master's certificate thumbprint.
    wants_master_thumbprint: bool,
}

enum ReadOutcome {
    Request(Request),
    /// Answer with this status and close.
    Bad(u16, &'static str),
    Closed,
}

fn read_request(reader: &mut impl BufRead) -> ReadOutcome {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return ReadOutcome::Closed,
        Ok(_) => {}
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), version) = (parts.next(), parts.next(), parts.next()) else {
        return ReadOutcome::Bad(400, "Bad Request");
    };
    let mut close = version == Some("HTTP/1.0");
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut wants_master_thumbprint = false;
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return ReadOutcome::Closed,
            Ok(_) => {}
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return ReadOutcome::Bad(400, "Bad Request");
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => match value.parse() {
                Ok(n) => length = Some(n),
                Err(_) => return ReadOutcome::Bad(400, "Bad Request"),
            },
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "x-xenapi-request-host-certificate-thumbprint" => {
                wants_master_thumbprint = value.eq_ignore_ascii_case("sha-256:master")
            }
            _ => {}
        }
    }
    let body = if chunked {
        match read_chunked(reader) {
            Some(b) if b.len() <= MAX_BODY => b,
            Some(_) => return ReadOutcome::Bad(413, "Request Entity Too Large"),
            None => return ReadOutcome::Closed,
        }
    } else {
        let length = length.unwrap_or(0);
        if length > MAX_BODY {
            return ReadOutcome::Bad(413, "Request Entity Too Large");
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return ReadOutcome::Closed;
        }
        body
    };
    let path = target.split('?').next().unwrap_or("/").to_string();
    ReadOutcome::Request(Request {
        method: method.to_string(),
        path,
        close,
        body,
        wants_master_thumbprint,
    })
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            let mut trailer = String::new();
            reader.read_line(&mut trailer).ok()?;
            return Some(body);
        }
        if body.len() + size > MAX_BODY {
            return Some(vec![0; MAX_BODY + 1]);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf).ok()?;
    }
}

/// Writes one response; `extra_headers` are header lines, each ending in CRLF.
fn respond(
    out: &mut impl Write,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &str,
    close: bool,
    extra_headers: &str,
) -> bool {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         access-control-allow-origin: *\r\naccess-control-allow-headers: X-Requested-With\r\n\
         {extra_headers}connection: {}\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    out.write_all(head.as_bytes()).is_ok()
        && out.write_all(body.as_bytes()).is_ok()
        && out.flush().is_ok()
}

/// xapi's answer to a body it cannot parse: HTTP 500 naming the exception.
fn internal_error(exception: &str) -> String {
    let escaped = exception
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; \
         please wait a while and try again. If the problem persists, please contact your \
         support representative.<h1> Additional information </h1>{escaped}</body></html>"
    )
}

fn serve<S: Read + Write>(shared: &Shared, stream: S, origin: Origin) {
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            ReadOutcome::Closed => return,
            ReadOutcome::Bad(status, reason) => {
                respond(reader.get_mut(), status, reason, "text/html", "", true, "");
                return;
            }
            ReadOutcome::Request(r) => r,
        };
        let close = request.close;
        let answered = match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/" | "/RPC2" | "/jsonrpc") => {
                let n = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
                if shared.should_drop(n) {
                    return;
                }
                shared.delay(n);
                let (status, content_type, body) = if request.path == "/jsonrpc" {
                    json_call(shared, origin, &request.body)
                } else {
                    xml_call(shared, origin, &request.body)
                };
                let reason = if status == 200 {
                    "OK"
                } else {
                    "Internal Error"
                };
                // A member names the master's certificate when asked, so a
                // client that pinned the member can follow HOST_IS_SLAVE.
                let extra = match (
                    &shared.master_thumbprint,
                    origin,
                    request.wants_master_thumbprint,
                ) {
                    (Some(thumbprint), Origin::Member, true) => {
                        format!("x-xenapi-response-host-certificate-thumbprint: {thumbprint}\r\n")
                    }
                    _ => String::new(),
                };
                respond(
                    reader.get_mut(),
                    status,
                    reason,
                    content_type,
                    &body,
                    close,
                    &extra,
                )
            }
            ("OPTIONS", _) => respond(reader.get_mut(), 200, "OK", "text/plain", "", close, ""),
            ("GET", "/sim/state") => {
                let body = (shared.state_json)(&shared.state);
                respond(
                    reader.get_mut(),
                    200,
                    "OK",
                    "application/json",
                    &body,
                    close,
                    "",
                )
            }
            _ => respond(
                reader.get_mut(),
                404,
                "Not Found",
                "text/html",
                "",
                close,
                "",
            ),
        };
        if !answered || close {
            return;
        }
    }
}

impl Shared {
    fn should_drop(&self, n: u64) -> bool {
        if self.faults.drop_requests.contains(&n) {
            return true;
        }
        self.faults.drop_probability > 0.0
            && self
                .rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .next_f64()
                < self.faults.drop_probability
    }

    fn delay(&self, n: u64) {
        let mut pause = self.latency;
        if let Some(every) = self.faults.slow_every.filter(|e| *e > 0) {
            if n.is_multiple_of(every) {
                pause += self.faults.slow_by;
            }
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

fn xml_call(shared: &Shared, origin: Origin, body: &[u8]) -> (u16, &'static str, String) {
    match xmlrpc::decode_call(body) {
        Err(e) => (
            500,
            "text/html",
            internal_error(&format!("Xmlrpc.Parse_error({e})")),
        ),
        Ok((method, params)) => {
            let body = match shared.state.call(origin, &method, &params) {
                Reply::Success(v) => xmlrpc::encode_success(&v),
                Reply::Failure(d) => xmlrpc::encode_failure(&d),
                Reply::Raw(v) => xmlrpc::encode_raw_response(&v),
            };
            (200, "text/xml", body)
        }
    }
}

fn json_call(shared: &Shared, origin: Origin, body: &[u8]) -> (u16, &'static str, String) {
    match jsonrpc::decode_call(body) {
        Err(e) => (
            500,
            "text/html",
            internal_error(&format!("Jsonrpc.Malformed_method_request({e})")),
        ),
        Ok(call) => {
            let body = match shared.state.call(origin, &call.method, &call.params) {
                Reply::Success(v) | Reply::Raw(v) => {
                    jsonrpc::encode_result(call.version, &call.id, Ok(&v))
                }
                Reply::Failure(d) => jsonrpc::encode_result(call.version, &call.id, Err(&d)),
            };
            (200, "application/json", body)
        }
    }
}
