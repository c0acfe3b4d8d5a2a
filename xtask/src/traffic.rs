//! `xtask __traffic`: the demo's traffic generator, run inside the lab's network
//! namespaces with `ip netns exec`. TCP throughput (sink / send) and a burst of
//! UDP datagrams, so that captures see both protocols and the before/after
//! throughput figure is measured, not assumed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: xtask __traffic sink PORT | send ADDR PORT SECONDS | udp ADDR PORT COUNT";

pub fn run(args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["sink", port] => sink(parse(port, "PORT")?),
        ["send", addr, port, secs] => send(addr, parse(port, "PORT")?, parse(secs, "SECONDS")?),
        ["udp", addr, port, count] => udp(addr, parse(port, "PORT")?, parse(count, "COUNT")?),
        _ => Err(USAGE.into()),
    }
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} `{text}` is not a number\n{USAGE}"))
}

/// Accepts connections one after another and reads them to the end; stops after
/// 10 idle minutes so a demo that died never leaves it running for ever.
fn sink(port: u16) -> Result<(), String> {
    let listener =
        TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("bind port {port}: {e}"))?;
    println!("listening on {port}");
    let mut buf = vec![0u8; 1 << 16];
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    Ok(())
}

/// Sends as fast as possible for `secs` seconds and prints `bytes=N seconds=S gbit_per_s=G`.
fn send(addr: &str, port: u16, secs: f64) -> Result<(), String> {
    let mut stream =
        TcpStream::connect((addr, port)).map_err(|e| format!("connect {addr}:{port}: {e}"))?;
    let chunk = vec![0x5au8; 1 << 16];
    let started = Instant::now();
    let limit = Duration::from_secs_f64(secs);
    let mut sent: u64 = 0;
    while started.elapsed() < limit {
        let n = stream
            .write(&chunk)
            .map_err(|e| format!("send to {addr}:{port}: {e}"))?;
        sent += n as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "bytes={sent} seconds={elapsed:.3} gbit_per_s={:.3}",
        sent as f64 * 8.0 / elapsed / 1e9
    );
    Ok(())
}

/// Sends `count` UDP datagrams of 512 bytes.
fn udp(addr: &str, port: u16, count: u32) -> Result<(), String> {
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("udp bind: {e}"))?;
    let payload = [0xa5u8; 512];
    for _ in 0..count {
        socket
            .send_to(&payload, (addr, port))
            .map_err(|e| format!("udp send to {addr}:{port}: {e}"))?;
    }
    println!("datagrams={count}");
    Ok(())
}
