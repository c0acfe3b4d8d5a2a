//! `cargo xtask compare NAME`: side-by-side comparisons with the tools users know,
//! measured in one run and printed as `RATIO <name> ours=<..> peer=<..> x<ratio>`.

/// Prints one ratio line in the agreed format; `ratio` is peer / ours for times.
pub fn print_ratio(name: &str, ours: &str, peer: &str, ratio: f64) {
    println!("RATIO {name} ours={ours} peer={peer} x{ratio:.2}");
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(name) = args.first() else {
        return Err(
            "usage: cargo xtask compare NAME (checksum, ethtool, pcap, xapi [--small], all)".into(),
        );
    };
    match name.as_str() {
        "pcap" => crate::compare_pcap::run(&args[1..]),
        "checksum" => crate::compare_checksum::run(&args[1..]),
        "ethtool" => crate::compare_ethtool::run(&args[1..]),
        "xapi" => crate::compare_xapi::run(&args[1..]),
        "bindings" => crate::compare_bindings::run(&args[1..]),
        "all" => {
            crate::compare_checksum::run(&[])?;
            crate::compare_pcap::run(&[])?;
            crate::compare_xapi::run(&[])?;
            crate::compare_ethtool::run(&[])
        }
        _ => Err(format!("no comparison named `{name}` yet")),
    }
}
