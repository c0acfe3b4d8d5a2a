//! An interface name, checked once where it enters (command line, C, Python,
//! a snapshot, the kernel's own list) and carried as the kernel holds it: up
//! to 15 bytes plus a NUL in a fixed array (IFNAMSIZ), not necessarily UTF-8.
//! Printed and stored escaped (`\xNN` for anything but printable ASCII, `\\`
//! for a backslash), which reads back to the same bytes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// IFNAMSIZ: 15 bytes and the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// A valid interface name (the kernel's `dev_valid_name`): 1 to 15 bytes, not
/// `.` or `..`, no `/`, `:`, NUL or whitespace as the kernel's `isspace()`
/// counts it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName {
    /// The name, NUL-padded; byte 15 is always 0.
    raw: [u8; IFNAMSIZ],
    len: u8,
}

impl IfName {
    /// Checks `name` (raw bytes, as the kernel and the C ABI give them).
    pub fn new(name: impl AsRef<[u8]>) -> Result<IfName> {
        let bytes = name.as_ref();
        let bad = bytes.is_empty()
            || bytes.len() >= IFNAMSIZ
            || bytes == b"."
            || bytes == b".."
            || bytes
                .iter()
                .any(|&b| b == b'/' || b == b':' || b == 0 || kernel_isspace(b));
        if bad {
            return Err(Error::InvalidIfname {
                ifname: escape(bytes),
            });
        }
        let mut raw = [0u8; IFNAMSIZ];
        raw[..bytes.len()].copy_from_slice(bytes);
        Ok(IfName {
            raw,
            len: bytes.len() as u8,
        })
    }

    /// Reads the escaped form back (what [`fmt::Display`] and JSON give);
    /// plain names are their own escaped form.
    pub fn parse_escaped(text: &str) -> Result<IfName> {
        let invalid = || Error::InvalidIfname {
            ifname: text.escape_debug().to_string(),
        };
        let mut bytes = Vec::with_capacity(text.len());
        let mut rest = text.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b != b'\\' {
                bytes.push(b);
                rest = tail;
                continue;
            }
            match tail {
                [b'\\', more @ ..] => {
                    bytes.push(b'\\');
                    rest = more;
                }
                [b'x', h, l, more @ ..] => {
                    let hex = std::str::from_utf8(&[*h, *l])
                        .ok()
                        .and_then(|s| u8::from_str_radix(s, 16).ok())
                        .ok_or_else(invalid)?;
                    bytes.push(hex);
                    rest = more;
                }
                _ => return Err(invalid()),
            }
        }
        IfName::new(bytes)
    }

    /// The name's bytes (no NUL).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[..usize::from(self.len)]
    }

    /// The NUL-terminated array `struct ifreq` wants.
    pub fn as_ifr_name(&self) -> &[u8; IFNAMSIZ] {
        &self.raw
    }

    /// The name as text when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
}

/// The kernel's `isspace()` (lib/ctype.c): tab to carriage return (vertical
/// tab included, which `u8::is_ascii_whitespace` leaves out), space, and
/// 0xA0, Latin-1's no-break space, so `à` (C3 A0 in UTF-8) is refused.
fn kernel_isspace(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | 0xa0)
}

/// `\xNN` for bytes outside printable ASCII, `\\` for a backslash.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x21..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.as_bytes()))
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IfName({self})")
    }
}

impl std::str::FromStr for IfName {
    type Err = Error;

    /// A name as typed: taken as is (not unescaped).
    fn from_str(s: &str) -> Result<IfName> {
        IfName::new(s)
    }
}

impl PartialEq<str> for IfName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for IfName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Serialize for IfName {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IfName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        IfName::parse_escaped(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_once_as_the_kernel_does() {
        for bad in [
            &b""[..],
            b"sixteen-chars-xx",
            b"a/b",
            b"a:b",
            b"a b",
            b"a\tb",
            b"..",
            b".",
            b"a\0b",
            b"a\x0bb",
            "\u{e0}0".as_bytes(),
        ] {
            assert!(
                matches!(IfName::new(bad), Err(Error::InvalidIfname { .. })),
                "{bad:?}"
            );
        }
        for good in ["eth0", "vif12.0", "fifteen-chars-x", "\u{e9}0"] {
            assert_eq!(IfName::new(good).unwrap().as_bytes(), good.as_bytes());
        }
        let full = IfName::new("fifteen-chars-x").unwrap();
        assert_eq!(full.as_ifr_name()[15], 0);
    }

    #[test]
    fn bytes_that_are_not_utf8_round_trip_escaped() {
        let name = IfName::new(b"eth\xff\\x\n").unwrap_err();
        assert!(name.to_string().contains("\\x0a"), "{name}");
        let odd = IfName::new(b"eth\xff\\x").unwrap();
        assert_eq!(odd.to_string(), "eth\\xff\\\\x");
        assert_eq!(odd.to_str(), None);
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(serde_json::from_str::<IfName>(&json).unwrap(), odd);
        assert_eq!(IfName::parse_escaped("eth0").unwrap(), "eth0");
        assert!(IfName::parse_escaped("eth\\q").is_err());
        assert!(IfName::parse_escaped("eth\\x4").is_err());
    }
}
