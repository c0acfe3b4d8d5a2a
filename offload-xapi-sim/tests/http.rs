//! The simulator's HTTP side: keep-alive, body limit, concurrent latency,
//! dropped connections, `/sim/state`, JSON-RPC.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use offload_xapi::wire::{jsonrpc, xmlrpc, Value};
use offload_xapi_sim::{Faults, GenSpec, PoolDesc, SimConfig, SimHandle, Simulator, MAX_BODY};

fn start(config: SimConfig) -> SimHandle {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 2,
        vms: 3,
        vifs_per_vm: 1,
        seed: 9,
    });
    Simulator::start(&pool, config).unwrap()
}

/// Sends one request on `stream`; returns (status, body) or None if the server hung up.
fn exchange(stream: &mut BufReader<TcpStream>, path: &str, body: &str) -> Option<(u16, String)> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: sim\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(request.as_bytes()).ok()?;
    let mut status = String::new();
    if stream.read_line(&mut status).ok()? == 0 {
        return None;
    }
    let code = status.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0;
    loop {
        let mut header = String::new();
        stream.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    Some((code, String::from_utf8(body).ok()?))
}

fn connect(sim: &SimHandle) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(sim.addr()).unwrap())
}

fn login_body() -> String {
    xmlrpc::encode_call(
        "session.login_with_password",
        &[Value::str("root"), Value::str("secret")],
    )
}

#[test]
fn keep_alive_serves_many_calls_on_one_connection() {
    let sim = start(SimConfig::default());
    let mut conn = connect(&sim);
    let (code, body) = exchange(&mut conn, "/", &login_body()).unwrap();
    assert_eq!(code, 200);
    let session = xmlrpc::decode_response(body.as_bytes()).unwrap();
    let session = session.get("Value").cloned().unwrap();
    for path in ["/", "/RPC2", "/"] {
        let (code, body) = exchange(
            &mut conn,
            path,
            &xmlrpc::encode_call("VM.get_all", std::slice::from_ref(&session)),
        )
        .unwrap();
        assert_eq!(code, 200);
        let value = xmlrpc::decode_response(body.as_bytes()).unwrap();
        assert_eq!(
            value
                .get("Value")
                .and_then(Value::as_array)
                .map(<[Value]>::len),
            Some(4)
        );
    }
    assert_eq!(sim.calls().get("VM.get_all"), Some(&3));
}

#[test]
fn oversized_bodies_are_refused() {
    let sim = start(SimConfig::default());
    let mut conn = connect(&sim);
    let big = format!("<methodCall>{}</methodCall>", " ".repeat(MAX_BODY));
    let (code, _) = exchange(&mut conn, "/", &big).unwrap();
    assert_eq!(code, 413);
    assert_eq!(sim.total_calls(), 0);
}

#[test]
fn latency_is_per_request_and_concurrent() {
    let sim = start(SimConfig {
        latency: Duration::from_millis(300),
        ..SimConfig::default()
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let addr = sim.addr();
            std::thread::spawn(move || {
                let mut conn = BufReader::new(TcpStream::connect(addr).unwrap());
                exchange(&mut conn, "/", &login_body()).unwrap().0
            })
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().unwrap(), 200);
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(1500),
        "requests slept one after another: {elapsed:?}"
    );
}

#[test]
fn the_nth_request_loses_its_connection() {
    let sim = start(SimConfig {
        faults: Faults {
            drop_requests: vec![2],
            ..Faults::default()
        },
        ..SimConfig::default()
    });
    let mut conn = connect(&sim);
    assert!(exchange(&mut conn, "/", &login_body()).is_some());
    assert!(exchange(&mut conn, "/", &login_body()).is_none());
    let mut conn = connect(&sim);
    assert!(exchange(&mut conn, "/", &login_body()).is_some());
    assert_eq!(sim.calls().get("session.login_with_password"), Some(&2));
}

#[test]
fn json_rpc_and_state_dump() {
    let sim = start(SimConfig::default());
    let mut conn = connect(&sim);
    let call = jsonrpc::encode_call(
        "session.login_with_password",
        &[Value::str("root"), Value::str("secret")],
        1,
    );
    let (code, body) = exchange(&mut conn, "/jsonrpc", &call).unwrap();
    assert_eq!(code, 200);
    let session = jsonrpc::decode_response(body.as_bytes()).unwrap().unwrap();
    let call = jsonrpc::encode_call("PIF.get_all", &[session], 2);
    let (_, body) = exchange(&mut conn, "/jsonrpc", &call).unwrap();
    let pifs = jsonrpc::decode_response(body.as_bytes()).unwrap().unwrap();
    assert_eq!(pifs.as_array().map(<[Value]>::len), Some(2));

    let mut raw = TcpStream::connect(sim.addr()).unwrap();
    raw.write_all(b"GET /sim/state HTTP/1.1\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    raw.read_to_string(&mut text).unwrap();
    let json = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(doc["pifs"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["vifs"].as_array().map(Vec::len), Some(3));
    assert_eq!(doc["calls"]["PIF.get_all"], 1);
    assert_eq!(sim.state().pifs.len(), 2);
}

#[test]
fn dropping_the_handle_closes_keep_alive_connections() {
    let sim = start(SimConfig::default());
    let mut conn = connect(&sim);
    assert!(exchange(&mut conn, "/", &login_body()).is_some());
    drop(sim);
    conn.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(exchange(&mut conn, "/", &login_body()).is_none());
}

#[test]
fn only_loopback_addresses_are_accepted() {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 0,
        vifs_per_vm: 0,
        seed: 1,
    });
    let config = SimConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..SimConfig::default()
    };
    assert!(Simulator::start(&pool, config).is_err());
}
