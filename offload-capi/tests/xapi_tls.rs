//! `offload_xapi_verify_json` against a TLS simulator: a pinned fingerprint
//! is the only way to trust a self-signed host, and a wrong pin is refused
//! before any request.

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

// The exports are #[no_mangle] C functions; declare them as a C caller does
// and link the library in.
extern crate offload;

extern "C" {
    fn offload_xapi_verify_json(
        url: *const c_char,
        user: *const c_char,
        password: *const c_char,
        request: *const c_char,
        buf: *mut c_char,
        len: usize,
        len_out: *mut usize,
        errno_out: *mut c_int,
    ) -> u32;
}
use offload_xapi_sim::{GenSpec, PoolDesc, SimConfig, Simulator};

fn verify(url: &str, request: &str) -> (u32, String) {
    let (url, user, password) = (
        CString::new(url).unwrap(),
        CString::new("root").unwrap(),
        CString::new("secret").unwrap(),
    );
    let request = CString::new(request).unwrap();
    let mut buf = vec![0 as c_char; 1 << 20];
    let (mut len, mut errno): (usize, c_int) = (0, 0);
    // SAFETY: every pointer is valid for the call: NUL-terminated strings
    // that outlive it, and a buffer of `buf.len()` bytes.
    let code = unsafe {
        offload_xapi_verify_json(
            url.as_ptr(),
            user.as_ptr(),
            password.as_ptr(),
            request.as_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
            &mut errno,
        )
    };
    let text: Vec<u8> = buf[..len].iter().map(|&c| c as u8).collect();
    (code, String::from_utf8_lossy(&text).into_owned())
}

#[test]
fn pinned_fingerprint_is_required_and_checked() {
    let pool = PoolDesc::generate(GenSpec {
        hosts: 1,
        pifs_per_host: 1,
        vms: 2,
        vifs_per_vm: 1,
        seed: 4,
    });
    let sim = Simulator::start(
        &pool,
        SimConfig {
            tls: true,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let pin = sim.fingerprint().unwrap().to_string();
    let (ok, report) = verify(
        &sim.url(),
        &format!(r#"{{"class": "vif", "preset": "seed", "fingerprint": "{pin}"}}"#),
    );
    assert_eq!(ok, 0, "{report}");
    assert!(report.contains("\"ok\""), "{report}");
    let calls_before = sim.total_calls();

    let wrong = format!("00{}", &sim.fingerprint_hex().unwrap()[2..]);
    let (refused, _) = verify(
        &sim.url(),
        &format!(r#"{{"class": "vif", "preset": "seed", "fingerprint": "{wrong}"}}"#),
    );
    let (unpinned, _) = verify(&sim.url(), r#"{"class": "vif", "preset": "seed"}"#);
    assert_ne!(refused, 0);
    assert_eq!(refused, unpinned, "both are TLS refusals");
    assert_eq!(
        sim.total_calls(),
        calls_before,
        "no request reached the host"
    );
    let (bad_pin, _) = verify(
        &sim.url(),
        r#"{"class": "vif", "preset": "seed", "fingerprint": "xyz"}"#,
    );
    assert_eq!(
        bad_pin, 1005,
        "a malformed pin is OFFLOAD_RESULT_INVALID_ARGUMENT"
    );
}
