//! HTTP/1.1 with keep-alive over TCP, TLS or xapi's local unix socket.
//!
//! XAPI needs only `POST` with a body and a response with a body, so a
//! small client over std streams is enough and works the same on all three
//! transports (a general HTTP crate would need a custom connector for the
//! unix socket anyway).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::error::{Error, Result};
use crate::tls::{self, Trust};

/// Where the host listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://host[:port]` or `http://host[:port]`.
    Tcp { host: String, port: u16, tls: bool },
    /// xapi's local socket (`/var/lib/xcp/xapi` in dom0): HTTP over a unix socket.
    Unix(PathBuf),
}

/// xapi's unix socket in dom0.
pub const DOM0_SOCKET: &str = "/var/lib/xcp/xapi";

impl Endpoint {
    /// Parses `https://h[:p][/]`, `http://h[:p][/]`, `unix:/path` or a bare host name
    /// (which means HTTPS, like `xe -s`).
    pub fn parse(url: &str) -> Result<Endpoint> {
        let shown = redact_userinfo(url);
        let bad = |message: &str| Error::invalid(format!("URL {shown:?}"), message.to_string());
        if let Some(path) = url.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("unix: needs a socket path"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if url.contains("://") {
            return Err(bad("scheme must be https://, http:// or unix:"));
        } else {
            (true, url)
        };
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        // user:password@host would put a secret in argv and in every message;
        // XAPI logs in with its own call, so refuse instead of guessing.
        if authority.contains('@') {
            return Err(bad(
                "user or password in the URL: give the user with --user and the password with --password-file or OFFLOAD_XAPI_PASSWORD",
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_host_port(authority, default_port).map_err(|m| bad(&m))?;
        Ok(Endpoint::Tcp { host, port, tls })
    }

    /// The same scheme and port, another host: where `HOST_IS_SLAVE` points.
    /// `address` may carry its own port (`10.0.0.1:8443`).
    pub fn with_host(&self, address: &str) -> Result<Endpoint> {
        match self {
            Endpoint::Tcp { port, tls, .. } => {
                let (host, port) = split_host_port(address, *port)
                    .map_err(|m| Error::invalid(format!("master address {address:?}"), m))?;
                Ok(Endpoint::Tcp {
                    host,
                    port,
                    tls: *tls,
                })
            }
            // A pool member's socket forwards to the master itself.
            Endpoint::Unix(_) => Ok(self.clone()),
        }
    }

    /// How errors name this endpoint.
    pub fn display(&self) -> String {
        match self {
            Endpoint::Tcp { host, port, tls } => {
                let scheme = if *tls { "https" } else { "http" };
                if host.contains(':') {
                    format!("{scheme}://[{host}]:{port}")
                } else {
                    format!("{scheme}://{host}:{port}")
                }
            }
            Endpoint::Unix(path) => format!("unix:{}", path.display()),
        }
    }
}

fn split_host_port(
    authority: &str,
    default_port: u16,
) -> std::result::Result<(String, u16), String> {
    // [v6]:port, v6 without brackets, host:port, host.
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in IPv6 address")?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port {p:?}"))?,
            None if after.is_empty() => default_port,
            None => return Err(format!("unexpected {after:?} after ]")),
        };
        return Ok((host.to_string(), port));
    }
    match authority.matches(':').count() {
        0 => Ok((authority.to_string(), default_port)),
        1 => {
            let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
            let port = port.parse().map_err(|_| format!("bad port {port:?}"))?;
            if host.is_empty() {
                return Err("no host".into());
            }
            Ok((host.to_string(), port))
        }
        _ => Ok((authority.to_string(), default_port)),
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server will close the connection after this response.
    pub close: bool,
    /// `x-xenapi-response-host-certificate-thumbprint`: the pool master's
    /// certificate, named by a member when asked.
    pub master_thumbprint: Option<String>,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One open connection.
pub struct Connection {
    reader: BufReader<Box<dyn Stream>>,
    host_header: String,
    /// Whether it already carried a request (a reused connection may have been
    /// closed by the server while idle).
    pub reused: bool,
    last_used: Instant,
}

impl Connection {
    /// Time since the last response was read on it.
    pub fn idle_for(&self) -> Duration {
        self.last_used.elapsed()
    }
}

/// Biggest response accepted (a pool's `get_all_records` is a few MiB).
const MAX_BODY: usize = 512 << 20;

/// Opens connections to one endpoint.
pub struct Connector {
    pub endpoint: Endpoint,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Fingerprint of the last certificate the host presented (for errors).
    seen_fingerprint: Arc<Mutex<Option<String>>>,
    trust: Trust,
}

impl Connector {
    pub fn new(endpoint: Endpoint, trust: Trust, timeout: Duration) -> Result<Connector> {
        let seen_fingerprint = Arc::new(Mutex::new(None));
        let tls = match &endpoint {
            Endpoint::Tcp { tls: true, .. } => {
                Some(tls::client_config(&trust, seen_fingerprint.clone())?)
            }
            _ => None,
        };
        Ok(Connector {
            endpoint,
            timeout,
            tls,
            seen_fingerprint,
            trust,
        })
    }

    /// A connector for another host with the same settings.
    pub fn to(&self, endpoint: Endpoint) -> Result<Connector> {
        Connector::new(endpoint, self.trust.clone(), self.timeout)
    }

    /// A connector for another host that trusts another certificate.
    pub fn to_with_trust(&self, endpoint: Endpoint, trust: Trust) -> Result<Connector> {
        Connector::new(endpoint, trust, self.timeout)
    }

    pub fn target(&self) -> String {
        self.endpoint.display()
    }

    fn transport_error(&self, source: io::Error) -> Error {
        Error::Transport {
            target: self.target(),
            source,
        }
    }

    pub fn connect(&self) -> Result<Connection> {
        let stream: Box<dyn Stream> = match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path).map_err(|e| self.transport_error(e))?;
                stream
                    .set_read_timeout(Some(self.timeout))
                    .map_err(|e| self.transport_error(e))?;
                stream
                    .set_write_timeout(Some(self.timeout))
                    .map_err(|e| self.transport_error(e))?;
                Box::new(stream)
            }
            Endpoint::Tcp { host, port, .. } => {
                let addrs: Vec<_> = (host.as_str(), *port)
                    .to_socket_addrs()
                    .map_err(|e| self.transport_error(e))?
                    .collect();
                let mut last = io::Error::new(io::ErrorKind::NotFound, "host name has no address");
                let mut connected = None;
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, self.timeout) {
                        Ok(s) => {
                            connected = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let tcp = connected.ok_or_else(|| self.transport_error(last))?;
                tcp.set_read_timeout(Some(self.timeout))
                    .map_err(|e| self.transport_error(e))?;
                tcp.set_write_timeout(Some(self.timeout))
                    .map_err(|e| self.transport_error(e))?;
                // Calls are small request/response pairs: do not wait for Nagle.
                let _ = tcp.set_nodelay(true);
                match &self.tls {
                    None => Box::new(tcp),
                    Some(config) => {
                        let name = ServerName::try_from(host.clone())
                            .map_err(|e| Error::invalid(format!("host {host:?}"), e.to_string()))?;
                        let conn =
                            rustls::ClientConnection::new(config.clone(), name).map_err(|e| {
                                Error::Tls {
                                    target: self.target(),
                                    message: e.to_string(),
                                }
                            })?;
                        let mut stream = rustls::StreamOwned::new(conn, tcp);
                        // Handshake now, so certificate errors surface as such.
                        while stream.conn.is_handshaking() {
                            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                                return Err(self.tls_error(e));
                            }
                        }
                        Box::new(stream)
                    }
                }
            }
        };
        let host_header = match &self.endpoint {
            Endpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
            Endpoint::Unix(_) => "localhost".to_string(),
        };
        Ok(Connection {
            reader: BufReader::with_capacity(64 << 10, stream),
            host_header,
            reused: false,
            last_used: Instant::now(),
        })
    }

    fn tls_error(&self, e: io::Error) -> Error {
        let text = e.to_string();
        if let (Trust::Pinned(expected), true) = (&self.trust, text.contains(tls::MISMATCH)) {
            let found = self
                .seen_fingerprint
                .lock()
                .ok()
                .and_then(|seen| seen.clone())
                .unwrap_or_else(|| "unknown".to_string());
            return Error::CertificateMismatch {
                target: self.target(),
                expected: tls::format_fingerprint(expected),
                found,
            };
        }
        if e.kind() == io::ErrorKind::InvalidData {
            Error::Tls {
                target: self.target(),
                message: text,
            }
        } else {
            self.transport_error(e)
        }
    }

    /// Sends one POST and reads its response. `extra_headers`: header lines,
    /// each ending in CRLF.
    pub fn post(
        &self,
        conn: &mut Connection,
        path: &str,
        content_type: &str,
        body: &[u8],
        extra_headers: &str,
    ) -> io::Result<Response> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: offload/{}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n{extra_headers}Connection: keep-alive\r\n\r\n",
            conn.host_header,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        let was_reused = conn.reused;
        conn.reused = true;
        let stream = conn.reader.get_mut();
        let written = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush());
        if let Err(e) = written {
            return Err(mark_stale(e, was_reused));
        }
        let response = read_response(&mut conn.reader, was_reused);
        conn.last_used = Instant::now();
        response
    }
}

/// A reused connection that fails before any response byte was most likely
/// closed by the server while idle; callers may retry once on a new one.
fn mark_stale(e: io::Error, reused: bool) -> io::Error {
    if reused
        && matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::UnexpectedEof
        )
    {
        io::Error::new(io::ErrorKind::ConnectionAborted, STALE)
    } else {
        e
    }
}

/// Marker text of an idle connection the server had closed.
pub const STALE: &str = "idle connection closed by the server";

fn read_response(reader: &mut BufReader<Box<dyn Stream>>, reused: bool) -> io::Result<Response> {
    let mut status_line = String::new();
    let n = reader
        .read_line(&mut status_line)
        .map_err(|e| mark_stale(e, reused))?;
    if n == 0 {
        return Err(mark_stale(
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response",
            ),
            reused,
        ));
    }
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or("");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| {
            invalid_data(format!("bad HTTP status line {:?}", status_line.trim_end()))
        })?;
    let mut content_length = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    let mut master_thumbprint = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the headers",
            ));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid_data(format!("bad header line {line:?}")));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| invalid_data(format!("bad Content-Length {value:?}")))?,
                )
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "x-xenapi-response-host-certificate-thumbprint" => {
                master_thumbprint = Some(value.to_string())
            }
            "connection" => {
                let value = value.to_ascii_lowercase();
                if value.contains("close") {
                    close = true;
                } else if value.contains("keep-alive") {
                    close = false;
                }
            }
            _ => {}
        }
    }
    let body = if chunked {
        read_chunked(reader)?
    } else if let Some(len) = content_length {
        if len > MAX_BODY {
            return Err(invalid_data(format!("response of {len} bytes is too big")));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    } else {
        close = true;
        let mut body = Vec::new();
        reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        body,
        close,
        master_thumbprint,
    })
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        let size_text = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid_data(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers until the blank line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid_data("chunked response is too big".to_string()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn invalid_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// `url` with any `user:password@` part of its authority replaced by `***@`,
/// so that a message never repeats a secret.
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_like_xe_and_the_sdk() {
        assert_eq!(
            Endpoint::parse("https://pool.example").unwrap(),
            Endpoint::Tcp {
                host: "pool.example".into(),
                port: 443,
                tls: true
            }
        );
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8080/").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 8080,
                tls: false
            }
        );
        assert_eq!(
            Endpoint::parse("https://[::1]:8443").unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: 8443,
                tls: true
            }
        );
        assert_eq!(
            Endpoint::parse("unix:/var/lib/xcp/xapi").unwrap(),
            Endpoint::Unix(DOM0_SOCKET.into())
        );
        assert_eq!(
            Endpoint::parse("10.0.0.1").unwrap(),
            Endpoint::Tcp {
                host: "10.0.0.1".into(),
                port: 443,
                tls: true
            }
        );
        for bad in [
            "ftp://x",
            "https://",
            "http://h:port",
            "unix:",
            "https://[::1",
        ] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn user_info_in_a_url_is_refused_without_repeating_the_password() {
        for url in [
            "http://user:s3cret@host",
            "https://root:s3cret@[::1]:8443/",
            "root:s3cret@10.0.0.1",
        ] {
            let err = Endpoint::parse(url).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{err}");
            assert!(err.contains("***@"), "{err}");
            assert!(err.contains("--password-file"), "{err}");
        }
        let member = Endpoint::parse("http://127.0.0.1:8081").unwrap();
        assert_eq!(
            member.with_host("127.0.0.1:8080").unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 8080,
                tls: false
            }
        );
        assert_eq!(
            member.with_host("10.1.2.3").unwrap(),
            Endpoint::Tcp {
                host: "10.1.2.3".into(),
                port: 8081,
                tls: false
            }
        );
    }

    fn response_of(raw: &[u8]) -> io::Result<Response> {
        let stream: Box<dyn Stream> = Box::new(io::Cursor::new(raw.to_vec()));
        read_response(&mut BufReader::new(stream), false)
    }

    #[test]
    fn reads_length_chunked_and_close_delimited_bodies() {
        let r = response_of(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.close),
            (200, &b"hello"[..], false)
        );
        let r = response_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"hello");
        let r =
            response_of(b"HTTP/1.1 500 Internal Error\r\nConnection: close\r\n\r\nboom").unwrap();
        assert_eq!(
            (r.status, r.body.as_slice(), r.close),
            (500, &b"boom"[..], true)
        );
        assert!(response_of(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        assert!(response_of(b"garbage\r\n\r\n").is_err());
        assert!(response_of(b"").is_err());
    }
}
