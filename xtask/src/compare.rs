//! `cargo xtask compare NAME`: side-by-side comparisons with the tools users know,
//! measured in one run and printed as `RATIO <name> ours=<..> peer=<..> x<ratio>`.

/// Prints one ratio line in the agreed format; `ratio` is peer / ours for times.
pub fn print_ratio(name: &str, ours: &str, peer: &str, ratio: f64) {
    println!("RATIO {name} ours={ours} peer={peer} x{ratio:.2}");
}

/// Every comparison `run` knows, in the order `--help` and the README list them.
pub const NAMES: &[&str] = &["checksum", "ethtool", "pcap", "xapi", "bindings", "all"];

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(name) = args.first() else {
        return Err(format!(
            "usage: cargo xtask compare NAME ({}; xapi takes --small)",
            NAMES.join(", ")
        ));
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
        _ => Err(format!(
            "no comparison named `{name}` (names: {})",
            NAMES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::NAMES;

    /// The README's "Measuring" section names the same comparisons as the code.
    #[test]
    fn readme_lists_every_comparison() {
        let readme = std::fs::read_to_string(crate::util::workspace_root().join("README.md"))
            .expect("README.md is readable");
        let listed = readme
            .split("`cargo xtask compare ")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .expect("the README names the comparisons as `cargo xtask compare a|b|...`");
        let mut listed: Vec<&str> = listed.split('|').collect();
        listed.sort_unstable();
        let mut ours: Vec<&str> = NAMES.to_vec();
        ours.sort_unstable();
        assert_eq!(listed, ours);
    }
}
