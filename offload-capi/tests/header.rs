//! The checked-in header as C users see it: every function documented (the
//! comments are the C API docs), the version macros equal to the package
//! version, and the contract's names present. (Freshness against the sources
//! is `cargo xtask codegen --check`, tested in xtask.)

use std::path::Path;

fn header() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/offload.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (name, line index) of every function declaration.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(' ') || line.starts_with('#') || line.starts_with('}') {
            continue;
        }
        // The declared name is the identifier right before the first '('.
        let Some(paren) = line.find('(') else {
            continue;
        };
        let name: String = line[..paren]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if name.starts_with("offload_") {
            out.push((name, i));
        }
    }
    out
}

#[test]
fn every_function_has_a_doc_comment() {
    let text = header();
    let lines: Vec<&str> = text.lines().collect();
    let found = functions(&text);
    assert!(found.len() >= 38, "only {} functions found", found.len());
    let undocumented: Vec<&str> = found
        .iter()
        .filter(|(_, i)| *i == 0 || lines[i - 1].trim() != "*/")
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
}

#[test]
fn version_macros_are_the_package_version() {
    let text = header();
    let version: Vec<&str> = env!("CARGO_PKG_VERSION").split('.').collect();
    for (part, value) in ["MAJOR", "MINOR", "PATCH"].iter().zip(version) {
        let line = format!("#define OFFLOAD_VERSION_{part} {value}\n");
        assert!(text.contains(&line), "missing {line:?}");
    }
}

#[test]
fn the_contract_functions_and_codes_are_declared() {
    let text = header();
    let names: Vec<String> = functions(&text).into_iter().map(|(n, _)| n).collect();
    for wanted in [
        "offload_version",
        "offload_result_message",
        "offload_features_json",
        "offload_features_apply_json",
        "offload_pcap_check_json",
    ] {
        assert!(names.iter().any(|n| n == wanted), "{wanted} missing");
    }
    for (code, number) in [
        ("OFFLOAD_RESULT_OK", 0),
        ("OFFLOAD_RESULT_NULL_PARAMETER", 1001),
        ("OFFLOAD_RESULT_PANIC", 1002),
        ("OFFLOAD_RESULT_INSUFFICIENT_SIZE", 1003),
        ("OFFLOAD_RESULT_INVALID_UTF8", 1004),
        ("OFFLOAD_RESULT_INVALID_ARGUMENT", 1005),
        ("OFFLOAD_RESULT_ALREADY_USED", 1006),
        ("OFFLOAD_RESULT_NO_SUCH_INTERFACE", 1201),
        ("OFFLOAD_RESULT_PERMISSION_DENIED", 1202),
        ("OFFLOAD_RESULT_NOT_SUPPORTED", 1203),
        ("OFFLOAD_RESULT_INVALID_IFNAME", 1204),
        ("OFFLOAD_RESULT_UNKNOWN_FEATURE", 1205),
        ("OFFLOAD_RESULT_FIXED_FEATURE", 1206),
        ("OFFLOAD_RESULT_NETNS", 1207),
        ("OFFLOAD_RESULT_OS_ERROR", 1208),
        ("OFFLOAD_RESULT_CAPTURE_FORMAT", 1209),
    ] {
        assert!(
            text.contains(&format!("  {code} = {number},\n")),
            "{code} = {number} missing"
        );
    }
}
