//! The client against scripted servers: canned answers for what a real host
//! (or a broken proxy in front of it) can send, including the bad ones.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use offload_xapi::wire::{jsonrpc, xmlrpc, Value};
use offload_xapi::{Client, ConnectOptions, Endpoint, Error, Protocol, Trust};

/// What the scripted server does with one request.
enum Reply {
    /// An HTTP 200 with this body.
    Body(String),
    /// A raw HTTP response (status line and all).
    Raw(Vec<u8>),
    /// Close the connection without answering.
    Drop,
}

/// A recorded call: method and parameters.
type Call = (String, Vec<Value>);

/// A server on 127.0.0.1 that answers each request with `script(method, params)`
/// and records the calls.
struct Scripted {
    port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Scripted {
    fn start(script: impl Fn(&str, &[Value]) -> Reply + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let recorded = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, recorded) = (script.clone(), recorded.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    while let Some(body) = read_request(&mut reader) {
                        let (method, params) = match xmlrpc::decode_call(&body) {
                            Ok(call) => call,
                            Err(_) => {
                                let call = jsonrpc::decode_call(&body).unwrap();
                                (call.method, call.params)
                            }
                        };
                        recorded
                            .lock()
                            .unwrap()
                            .push((method.clone(), params.clone()));
                        let bytes = match script(&method, &params) {
                            Reply::Body(text) => format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{text}",
                                text.len()
                            )
                            .into_bytes(),
                            Reply::Raw(bytes) => bytes,
                            Reply::Drop => return,
                        };
                        if writer.write_all(&bytes).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Scripted { port, calls }
    }

    fn options(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new(
            Endpoint::parse(&format!("http://127.0.0.1:{}", self.port)).unwrap(),
            "root",
            "secret",
        );
        o.timeout = Duration::from_secs(5);
        o
    }

    fn methods(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(m, _)| m.clone())
            .collect()
    }
}

fn ok(value: Value) -> Reply {
    Reply::Body(xmlrpc::encode_success(&value))
}

fn failure(description: &[&str]) -> Reply {
    Reply::Body(xmlrpc::encode_failure(
        &description
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ))
}

/// Logins succeed with `OpaqueRef:s<n>`; everything else goes to `rest`.
fn with_login(
    rest: impl Fn(&str, &[Value]) -> Reply + Send + Sync + 'static,
) -> impl Fn(&str, &[Value]) -> Reply {
    let logins = Mutex::new(0);
    move |method, params| match method {
        "session.login_with_password" => {
            let mut n = logins.lock().unwrap();
            *n += 1;
            ok(Value::String(format!("OpaqueRef:s{n}")))
        }
        "session.logout" => ok(Value::str("")),
        _ => rest(method, params),
    }
}

#[test]
fn login_call_logout_and_records_over_xmlrpc() {
    let server = Scripted::start(with_login(|method, _| match method {
        "VM.get_all" => ok(Value::Array(vec![Value::str("OpaqueRef:vm1")])),
        _ => failure(&["MESSAGE_METHOD_UNKNOWN", method]),
    }));
    let client = Client::connect(server.options()).unwrap();
    assert_eq!(
        client.call("VM.get_all", &[]).unwrap(),
        Value::Array(vec![Value::str("OpaqueRef:vm1")])
    );
    let err = client.call("VM.frobnicate", &[]).unwrap_err();
    assert_eq!(err.api_code(), Some("MESSAGE_METHOD_UNKNOWN"));
    assert_eq!(
        err.to_string(),
        "VM.frobnicate: MESSAGE_METHOD_UNKNOWN [VM.frobnicate]"
    );
    client.logout().unwrap();
    assert!(
        client.call("VM.get_all", &[]).is_err(),
        "calls after logout are refused locally"
    );
    let calls = server.calls.lock().unwrap().clone();
    assert_eq!(calls[0].1[..2], [Value::str("root"), Value::str("secret")]);
    assert_eq!(
        calls[1].1[0],
        Value::str("OpaqueRef:s1"),
        "session goes first"
    );
    assert_eq!(
        server.methods().last().map(String::as_str),
        Some("session.logout")
    );
}

#[test]
fn dropping_the_client_logs_out() {
    let server = Scripted::start(with_login(|_, _| ok(Value::str(""))));
    drop(Client::connect(server.options()).unwrap());
    assert_eq!(
        server.methods(),
        ["session.login_with_password", "session.logout"]
    );
}

#[test]
fn session_invalid_is_answered_by_one_relogin() {
    let server = Scripted::start(with_login(|method, params| {
        match (method, params[0].as_str()) {
            ("VIF.get_all", Some("OpaqueRef:s1")) => failure(&["SESSION_INVALID", "OpaqueRef:s1"]),
            ("VIF.get_all", Some("OpaqueRef:s2")) => ok(Value::Array(vec![])),
            _ => failure(&["SESSION_INVALID", params[0].as_str().unwrap_or("")]),
        }
    }));
    let client = Client::connect(server.options()).unwrap();
    assert_eq!(
        client.call("VIF.get_all", &[]).unwrap(),
        Value::Array(vec![])
    );
    assert_eq!(client.session_ref(), "OpaqueRef:s2");
    assert_eq!(
        server.methods()[..4],
        [
            "session.login_with_password",
            "VIF.get_all",
            "session.login_with_password",
            "VIF.get_all"
        ]
    );
}

#[test]
fn host_is_slave_is_followed_to_the_master() {
    let master = Scripted::start(with_login(|_, _| ok(Value::Array(vec![]))));
    let master_address = format!("127.0.0.1:{}", master.port);
    let member = Scripted::start(move |_, _| failure(&["HOST_IS_SLAVE", &master_address]));
    let client = Client::connect(member.options()).unwrap();
    assert_eq!(
        client.endpoint().display(),
        format!("http://127.0.0.1:{}", master.port)
    );
    client.call("PIF.get_all", &[]).unwrap();
    assert_eq!(member.methods(), ["session.login_with_password"]);
    assert_eq!(
        master.methods()[..2],
        ["session.login_with_password", "PIF.get_all"]
    );
}

#[test]
fn wrong_password_is_an_api_error_with_its_parameters() {
    let server = Scripted::start(|_, params| {
        failure(&[
            "SESSION_AUTHENTICATION_FAILED",
            params[0].as_str().unwrap(),
            "Authentication failure",
        ])
    });
    match Client::connect(server.options()) {
        Err(Error::Api { code, params, .. }) => {
            assert_eq!(code, "SESSION_AUTHENTICATION_FAILED");
            assert_eq!(params, ["root", "Authentication failure"]);
        }
        other => panic!("expected an auth failure, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn malformed_truncated_and_http_errors_are_named() {
    let full = xmlrpc::encode_success(&Value::Array(vec![Value::str("OpaqueRef:a")]));
    let truncated = full[..full.len() / 2].to_string();
    let server = Scripted::start(with_login(move |method, _| {
        match method {
        "VM.get_all" => Reply::Body(truncated.clone()),
        "PIF.get_all" => Reply::Body("<html>not xml-rpc</html>".into()),
        "VIF.get_all" => Reply::Raw(
            b"HTTP/1.1 500 Internal Error\r\nContent-Type: text/html\r\nContent-Length: 31\r\n\r\nXmlrpc.Parse_error(\"x\", \"y\", _)"
                .to_vec(),
        ),
        "host.get_all" => Reply::Body(xmlrpc::encode_raw_response(&Value::structure([("Value", Value::str("x"))]))),
        _ => Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec()),
    }
    }));
    let client = Client::connect(server.options()).unwrap();
    let e = client.call("VM.get_all", &[]).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert!(e.to_string().contains("bad response to VM.get_all"), "{e}");
    let e = client.call("PIF.get_all", &[]).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    let e = client.call("VIF.get_all", &[]).unwrap_err();
    assert!(matches!(e, Error::Http { status: 500, .. }), "{e}");
    assert!(e.to_string().contains("Parse_error"), "{e}");
    let e = client.call("host.get_all", &[]).unwrap_err();
    assert!(e.to_string().contains("no Status member"), "{e}");
}

#[test]
fn unreachable_host_is_a_transport_error_with_errno() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut options = ConnectOptions::new(
        Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        "root",
        "x",
    );
    options.retries = 0;
    let e = Client::connect(options).map(|_| ()).unwrap_err();
    assert!(e.raw_os_error().is_some(), "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn dropped_connections_are_retried_for_reads_only() {
    let drops = Arc::new(Mutex::new(0));
    let seen = drops.clone();
    let server = Scripted::start(with_login(move |method, _| match method {
        "VM.get_all" => {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n < 3 {
                Reply::Drop
            } else {
                ok(Value::Array(vec![]))
            }
        }
        "VM.clean_reboot" => Reply::Drop,
        _ => ok(Value::str("")),
    }));
    let client = Client::connect(server.options()).unwrap();
    client.call("VM.get_all", &[]).unwrap();
    assert_eq!(*drops.lock().unwrap(), 3);
    // The idle connection is older than the freshness limit by now: a new one is used.
    std::thread::sleep(Duration::from_millis(2100));
    let before = server
        .methods()
        .iter()
        .filter(|m| *m == "VM.clean_reboot")
        .count();
    assert!(client
        .call("VM.clean_reboot", &[Value::str("OpaqueRef:v")])
        .is_err());
    let after = server
        .methods()
        .iter()
        .filter(|m| *m == "VM.clean_reboot")
        .count();
    assert_eq!(after - before, 1, "a reboot must never be sent twice");
}

#[test]
fn json_rpc_speaks_v2_and_maps_errors() {
    let server = Scripted::start(|method, params| {
        let reply = match method {
            "session.login_with_password" => Ok(Value::str("OpaqueRef:j")),
            "VM.get_record" => Err(vec![
                "HANDLE_INVALID".to_string(),
                "VM".into(),
                params[1].as_str().unwrap().into(),
            ]),
            _ => Ok(Value::str("")),
        };
        let body = jsonrpc::encode_result(
            jsonrpc::Version::V2,
            &serde_json::json!(1),
            reply.as_ref().map_err(|e| e.as_slice()),
        );
        Reply::Raw(
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                .into_bytes(),
        )
    });
    let mut options = server.options();
    options.protocol = Protocol::JsonRpc;
    let client = Client::connect(options).unwrap();
    let e = client
        .call("VM.get_record", &[Value::str("OpaqueRef:nope")])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "VM.get_record: HANDLE_INVALID [VM, OpaqueRef:nope]"
    );
}

#[test]
fn pinned_fingerprint_mismatch_is_refused_before_any_call() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let real = offload_xapi::tls::fingerprint_of(der.as_ref());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, counted) = (config.clone(), counted.clone());
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                if let Some(body) = read_request(&mut reader) {
                    let _ = body;
                    *counted.lock().unwrap() += 1;
                    let text = xmlrpc::encode_success(&Value::str("OpaqueRef:tls"));
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = reader.get_mut().write_all(response.as_bytes());
                    let _ = reader.get_mut().flush();
                }
            });
        }
    });
    let endpoint = Endpoint::parse(&format!("https://127.0.0.1:{port}")).unwrap();
    let mut wrong = real;
    wrong[0] ^= 0xff;
    let mut options = ConnectOptions::new(endpoint.clone(), "root", "secret");
    options.trust = Trust::Pinned(wrong);
    options.retries = 0;
    match Client::connect(options) {
        Err(Error::CertificateMismatch { found, .. }) => {
            assert_eq!(found, offload_xapi::tls::format_fingerprint(&real));
        }
        other => panic!("expected a mismatch, got {:?}", other.map(|_| ())),
    }
    // The default (system CAs) refuses the self-signed certificate too.
    let mut options = ConnectOptions::new(endpoint.clone(), "root", "secret");
    options.retries = 0;
    let e = Client::connect(options).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert_eq!(
        *calls.lock().unwrap(),
        0,
        "no request may reach an untrusted host"
    );
    // The right pin works.
    let mut options = ConnectOptions::new(endpoint, "root", "secret");
    options.trust = Trust::Pinned(real);
    let client = Client::connect(options).unwrap();
    assert_eq!(client.session_ref(), "OpaqueRef:tls");
}

fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}
