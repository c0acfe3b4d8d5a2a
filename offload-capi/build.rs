//! Gives liboffload.so its soname, so programs link against the ABI major
//! version (`liboffload.so.0`) and a later incompatible library can sit beside it.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liboffload.so.{major}");
    println!("cargo:rerun-if-changed=build.rs");
}
