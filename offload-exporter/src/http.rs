//! The scrape endpoint: `GET /metrics` over HTTP/1.x on std's TcpListener.
//!
//! A metrics endpoint needs one route and no keep-alive, so ~150 lines of
//! std beat an HTTP crate and its dependency tree; what such a crate would
//! add is written out here instead: a whole-request deadline (a client that
//! trickles bytes cannot hold a thread longer than it), a cap on the request
//! head, a write deadline, a cap on open connections, a thread per
//! connection so one bad client never stalls another, and a stop flag
//! (SIGTERM/SIGINT) that ends the accept loop and waits for the clients in
//! flight.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How much a client may ask of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The request line and headers together (larger: 431).
    pub max_request_bytes: usize,
    /// From accepting to the end of the request head (slower: 408).
    pub request_timeout: Duration,
    /// For the whole response (a client that reads slowly is cut off).
    pub write_timeout: Duration,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request_bytes: 8 * 1024,
            request_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_connections: 32,
        }
    }
}

/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Serves `metrics()` on `listener` until `stop` is set, then waits for the
/// connections in flight (each bounded by `limits`) and returns.
pub fn serve(
    listener: &TcpListener,
    limits: Limits,
    stop: &AtomicBool,
    metrics: &(dyn Fn() -> String + Sync),
) -> Result<()> {
    let address = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let listen_error = |source| Error::Listen {
        address: address.clone(),
        source,
    };
    listener.set_nonblocking(true).map_err(listen_error)?;
    let open = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        while !stop.load(Ordering::SeqCst) {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(POLL);
                    continue;
                }
                // A client that gave up before we accepted it, or a
                // transient lack of descriptors: not the server's end.
                Err(e) if transient(&e) => {
                    std::thread::sleep(POLL);
                    continue;
                }
                Err(e) => return Err(listen_error(e)),
            };
            if open.load(Ordering::SeqCst) >= limits.max_connections {
                drop(stream);
                continue;
            }
            open.fetch_add(1, Ordering::SeqCst);
            let open = &open;
            scope.spawn(move || {
                handle(stream, limits, stop, metrics);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
        Ok(())
    })
}

fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) || matches!(
        e.raw_os_error(),
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM)
    )
}

/// The few errno values `accept` may return for lack of resources (Linux).
mod libc_errno {
    pub const ENOMEM: i32 = 12;
    pub const ENFILE: i32 = 23;
    pub const EMFILE: i32 = 24;
    pub const ENOBUFS: i32 = 105;
}

/// Why a request head could not be read.
#[derive(Debug, PartialEq, Eq)]
enum HeadError {
    TooLarge,
    TimedOut,
    /// Closed or broken: nobody to answer.
    Gone,
}

/// Reads up to the blank line that ends the head, within `deadline` overall;
/// gives up when `stop` is set (a silent client never delays a shutdown).
fn read_head(
    stream: &mut TcpStream,
    max: usize,
    deadline: Instant,
    stop: &AtomicBool,
) -> std::result::Result<Vec<u8>, HeadError> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if stop.load(Ordering::SeqCst) {
            return Err(HeadError::Gone);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HeadError::TimedOut);
        }
        stream
            .set_read_timeout(Some(left.min(POLL * 4)))
            .map_err(|_| HeadError::Gone)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(HeadError::Gone),
            Ok(n) => n,
            // Look at the deadline and the stop flag again.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Err(HeadError::Gone),
        };
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&head) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > max {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Where the head ends (CRLF CRLF, or LF LF from lenient clients).
fn find_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    crlf.into_iter().chain(lf).min()
}

/// One answer: status, extra headers, body; HEAD requests get the headers only.
struct Response {
    status: &'static str,
    allow: bool,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: &str) -> Response {
        Response {
            status,
            allow: false,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n"),
        }
    }
}

/// What a request head asks for; `None` for the body means HEAD.
fn route(head: &[u8], metrics: &(dyn Fn() -> String + Sync)) -> (Response, bool) {
    let bad = (Response::text("400 Bad Request", "bad request"), false);
    let Ok(head) = std::str::from_utf8(head) else {
        return bad;
    };
    let line = head.lines().next().unwrap_or("");
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return bad;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return bad;
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let mut r = Response::text("405 Method Not Allowed", "only GET and HEAD");
        r.allow = true;
        return (r, false);
    }
    let path = target.split('?').next().unwrap_or(target);
    let response = match path {
        "/metrics" => Response {
            status: "200 OK",
            allow: false,
            content_type: CONTENT_TYPE,
            body: metrics(),
        },
        "/" => Response::text("200 OK", "offloadctl exporter: metrics at /metrics"),
        _ => Response::text("404 Not Found", "not found: metrics are at /metrics"),
    };
    (response, head_only)
}

fn handle(
    mut stream: TcpStream,
    limits: Limits,
    stop: &AtomicBool,
    metrics: &(dyn Fn() -> String + Sync),
) {
    // Accepted sockets are blocking; the listener's O_NONBLOCK is not inherited.
    let _ = stream.set_nonblocking(false);
    let deadline = Instant::now() + limits.request_timeout;
    let (response, head_only) =
        match read_head(&mut stream, limits.max_request_bytes, deadline, stop) {
            Ok(head) => route(&head, metrics),
            Err(HeadError::TooLarge) => (
                Response::text(
                    "431 Request Header Fields Too Large",
                    "request head too large",
                ),
                false,
            ),
            Err(HeadError::TimedOut) => (
                Response::text("408 Request Timeout", "request timeout"),
                false,
            ),
            Err(HeadError::Gone) => return,
        };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if response.allow {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&response.body);
    }
    write_within(
        &mut stream,
        out.as_bytes(),
        Instant::now() + limits.write_timeout,
    );
    let _ = stream.shutdown(Shutdown::Both);
}

/// Writes `bytes` in pieces, each with what is left of `deadline`: a
/// client that reads a byte at a time cannot hold the thread past it.
fn write_within(stream: &mut TcpStream, bytes: &[u8], deadline: Instant) {
    for piece in bytes.chunks(16 * 1024) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero()
            || stream.set_write_timeout(Some(left)).is_err()
            || stream.write_all(piece).is_err()
        {
            return;
        }
    }
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(head: &str) -> (String, bool) {
        let (r, head_only) = route(head.as_bytes(), &|| "m 1\n".to_string());
        (format!("{} {}", r.status, r.body.trim_end()), head_only)
    }

    #[test]
    fn routes_like_a_metrics_endpoint() {
        assert_eq!(
            answer("GET /metrics HTTP/1.1\r\nHost: x"),
            ("200 OK m 1".into(), false)
        );
        assert_eq!(
            answer("GET /metrics?x=1 HTTP/1.0"),
            ("200 OK m 1".into(), false)
        );
        assert!(answer("HEAD /metrics HTTP/1.1").1);
        assert!(answer("GET /other HTTP/1.1").0.starts_with("404"));
        assert!(answer("POST /metrics HTTP/1.1").0.starts_with("405"));
        for garbage in [
            "",
            "GET",
            "GET /metrics",
            "GET /metrics SPDY/3",
            "\u{1}\u{2} x y",
            "GET metrics HTTP/1.1",
            "GET  /metrics HTTP/1.1",
        ] {
            assert!(answer(garbage).0.starts_with("400"), "{garbage:?}");
        }
        assert_eq!(
            route(b"GET /\xff HTTP/1.1", &String::new).0.status,
            "400 Bad Request"
        );
    }

    #[test]
    fn the_head_ends_at_the_first_blank_line() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(20));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
