//! The TLS client configuration shared by every HTTPS client of the project: rustls with
//! ring as the only crypto provider and the webpki (Mozilla) roots, plus roots the app
//! hands in. Core's issuer client (`sync::client`) uses it, and so does the issuer's SMS
//! webhook, which is why it has its own feature (`tls`): the issuer gets the one TLS
//! policy without compiling core's HTTP client.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::sync::error::SyncError;

/// The rustls configuration: ring as the provider (explicitly, so nothing depends on a
/// process-wide default or pulls in aws-lc), the webpki roots plus the app's roots.
pub fn tls_config(extra_roots_der: &[Vec<u8>]) -> Result<rustls::ClientConfig, SyncError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (index, der) in extra_roots_der.iter().enumerate() {
        roots
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|_| SyncError::BadRootCertificate { index })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::ClientSetup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // reqwest uses a preconfigured config as given. HTTP/1.1 only: a sync is one request,
    // and leaving out reqwest's HTTP/2 keeps the mobile library under its 5 MB budget.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_config_uses_ring_and_webpki_roots() {
        let c = tls_config(&[]).unwrap();
        // ring's provider offers exactly ring's suites; aws-lc would add its own names.
        assert!(!c.crypto_provider().cipher_suites.is_empty());
        assert_eq!(c.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            c.crypto_provider().cipher_suites.len(),
            ring.cipher_suites.len()
        );
    }
}
