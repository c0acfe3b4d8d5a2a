//! TLS settings: system CAs by default, a pinned SHA-256 fingerprint for the
//! self-signed certificate every XAPI host ships with, or no check at all
//! when the user says `--insecure`.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How the host's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Against the system's CA store (the default).
    System,
    /// The end-entity certificate's SHA-256 must be exactly this.
    Pinned([u8; 32]),
    /// No check (`--insecure`); the handshake signatures are still verified.
    Insecure,
}

/// Text of the error our verifier returns on a pin mismatch.
pub(crate) const MISMATCH: &str = "certificate fingerprint does not match the pinned one";

/// Parses a SHA-256 fingerprint: 64 hex digits, with or without `:`,
/// optionally prefixed `sha256:` / `sha-256:` (as `openssl x509 -fingerprint` and
/// xapi's thumbprint header print it).
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32]> {
    let lower = text.trim().to_ascii_lowercase();
    let hex: String = lower
        .strip_prefix("sha256:")
        .or_else(|| lower.strip_prefix("sha-256:"))
        .or_else(|| lower.strip_prefix("sha256 fingerprint="))
        .unwrap_or(&lower)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bad = || {
        Error::invalid(
            format!("fingerprint {text:?}"),
            "expected 64 hex digits of a SHA-256 (colons allowed)",
        )
    };
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// `AB:CD:...` as `openssl x509 -fingerprint -sha256` prints it.
pub fn format_fingerprint(digest: &[u8; 32]) -> String {
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-256 fingerprint of a DER certificate.
pub fn fingerprint_of(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

pub(crate) fn client_config(
    trust: &Trust,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            target: "TLS setup".into(),
            message: e.to_string(),
        })?;
    let config = match trust {
        Trust::System => {
            let mut roots = rustls::RootCertStore::empty();
            let loaded = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(loaded.certs);
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Pinned(expected) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(FingerprintVerifier {
                expected: Some(*expected),
                seen,
                provider,
            }))
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(FingerprintVerifier {
                expected: None,
                seen,
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Accepts exactly one certificate (or any, when `expected` is `None`),
/// whatever its issuer and name: XAPI hosts ship self-signed certificates
/// whose name rarely matches how admins reach them.
#[derive(Debug)]
struct FingerprintVerifier {
    expected: Option<[u8; 32]>,
    seen: Arc<Mutex<Option<String>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let found = fingerprint_of(end_entity.as_ref());
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(format_fingerprint(&found));
        }
        match self.expected {
            Some(expected) if expected != found => {
                Err(rustls::Error::General(MISMATCH.to_string()))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_usual_spellings() {
        let hex = "a1".repeat(32);
        let colons = vec!["A1"; 32].join(":");
        for text in [
            hex.clone(),
            colons.clone(),
            format!("sha256:{hex}"),
            format!("SHA-256:{colons}"),
        ] {
            assert_eq!(parse_fingerprint(&text).unwrap(), [0xa1; 32], "{text}");
        }
        assert_eq!(format_fingerprint(&[0xa1; 32]), colons);
        for bad in ["", "a1", &"zz".repeat(32), &"a1".repeat(33)] {
            assert!(parse_fingerprint(bad).is_err(), "{bad}");
        }
    }
}
