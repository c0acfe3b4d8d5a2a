//! One line per packet for `offloadctl check --verdicts`: tcpdump's own wording for
//! the checksums (so `grep incorrect` habits keep working) followed by our
//! classification in brackets, e.g.
//!
//! ```text
//! 16:38:07.676943 IP 10.0.0.1.46455 > 10.0.0.2.80: TCP, cksum 0x4b8f (incorrect -> 0x1f20) [offload-pending]
//! ```

use std::io::{self, Write};

use offload_core::tcpdump;
use offload_core::verdict::{Checksum, Endpoints, Verdict};
use offload_diagnose::diagnose::Observation;
use offload_diagnose::pcap::Record;

/// Our classification of one verdict, as printed in brackets.
pub fn class(verdict: Verdict) -> &'static str {
    tcpdump::class_name(verdict)
}

/// tcpdump's words (offload-core's `tcpdump` module) into an io::Write.
fn words(out: &mut impl Write, f: impl FnOnce(&mut String) -> std::fmt::Result) -> io::Result<()> {
    let mut text = String::new();
    f(&mut text).map_err(|_| io::Error::other("formatting failed"))?;
    out.write_all(text.as_bytes())
}

/// `HH:MM:SS.uuuuuu` (UTC), tcpdump's default timestamp; tcpdump's words when
/// the file's time does not fit.
fn timestamp(out: &mut impl Write, time: Option<(i64, u32)>) -> io::Result<()> {
    let Some((sec, nsec)) = time else {
        return write!(out, "[Error converting time]");
    };
    let day = sec.rem_euclid(86_400);
    write!(
        out,
        "{:02}:{:02}:{:02}.{:06}",
        day / 3600,
        day / 60 % 60,
        day % 60,
        nsec / 1000
    )
}

fn endpoint(out: &mut impl Write, addr: std::net::IpAddr, port: Option<u16>) -> io::Result<()> {
    match port {
        Some(p) => write!(out, "{addr}.{p}"),
        None => write!(out, "{addr}"),
    }
}

/// The verdicts of one IP layer: the transport in tcpdump's words with our class
/// in brackets, then a bad or unverified IPv4 header.
fn layer(
    out: &mut impl Write,
    transport: Option<(Checksum, Verdict)>,
    field: Option<u16>,
    ip_header: Option<Verdict>,
) -> io::Result<()> {
    match transport {
        Some((protocol, verdict)) => {
            words(out, |t| {
                tcpdump::write_transport(t, protocol, verdict, field)
            })?;
            write!(out, " [{}]", class(verdict))?;
        }
        None => write!(out, "no transport checksum [not verified]")?,
    }
    match ip_header {
        Some(v @ Verdict::Incorrect { .. }) => {
            write!(out, ", IP ")?;
            words(out, |t| tcpdump::write_ipv4_header(t, v))?;
            write!(out, " [{}]", class(v))?;
        }
        Some(v @ Verdict::NotVerified(_)) => write!(out, ", IP header [{}]", class(v))?,
        _ => {}
    }
    Ok(())
}

/// `IP 10.0.0.1.46455 > 10.0.0.2.80: ` (tcpdump's address part).
fn addresses(out: &mut impl Write, e: &Endpoints) -> io::Result<()> {
    write!(out, "{} ", if e.src.is_ipv4() { "IP" } else { "IP6" })?;
    endpoint(out, e.src, e.src_port)?;
    write!(out, " > ")?;
    endpoint(out, e.dst, e.dst_port)?;
    write!(out, ": ")
}

/// Writes the line for one packet; a tunnel's inner packet follows ` | ` and
/// the encapsulation's name.
pub fn write(
    out: &mut impl Write,
    record: &Record<'_>,
    observation: &Observation,
) -> io::Result<()> {
    timestamp(out, record.time())?;
    let Some(e) = observation.endpoints else {
        return writeln!(
            out,
            " no IP checksum (link type {}, length {}) [not verified]",
            record.link_type, record.orig_len
        );
    };
    write!(out, " ")?;
    addresses(out, &e)?;
    layer(
        out,
        observation.transport,
        observation.transport_field,
        observation.ip_header,
    )?;
    if let Some(inner) = &observation.tunnel {
        write!(out, " | {} ", inner.encapsulation.label())?;
        addresses(out, &inner.endpoints)?;
        layer(out, inner.transport, inner.transport_field, inner.ip_header)?;
    }
    writeln!(out)
}
