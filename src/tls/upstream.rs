//! TLS from hookgate to `https://` upstreams: CA bundle, client certificate, SNI.

use super::pem::{self, TlsError};
use std::path::Path;
use std::sync::Arc;

/// Loaded upstream TLS settings, ready to put on a pingora `HttpPeer`.
#[derive(Clone)]
pub struct UpstreamTls {
    /// Name sent in SNI and checked against the certificate (never empty:
    /// pingora would switch certificate verification off).
    pub sni: String,
    /// CA bundle, when not the system store.
    pub ca: Option<Arc<pingora::protocols::tls::CaType>>,
    /// Client certificate and key.
    pub client: Option<Arc<pingora::utils::tls::CertKey>>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("sni", &self.sni)
            .field("ca", &self.ca.is_some())
            .field("client", &self.client.is_some())
            .finish()
    }
}

impl UpstreamTls {
    /// Load the CA bundle and client certificate/key files; the error names
    /// the file at fault. `sni` is the validated, non-empty server name.
    pub fn load(
        sni: String,
        ca: Option<&Path>,
        client: Option<(&Path, &Path)>,
    ) -> Result<UpstreamTls, TlsError> {
        let ca = match ca {
            Some(path) => {
                let list: Vec<_> = pem::certs(path)?
                    .into_iter()
                    .map(|der| {
                        pingora::utils::tls::WrappedX509::new(
                            der.to_vec(),
                            pingora::utils::tls::parse_x509,
                        )
                    })
                    .collect();
                Some(Arc::from(list.into_boxed_slice()))
            }
            None => None,
        };
        let client = match client {
            Some((cert, key)) => {
                let chain = pem::certs(cert)?;
                let key = pem::key(key)?;
                Some(Arc::new(pingora::utils::tls::CertKey::new(
                    chain.iter().map(|d| d.to_vec()).collect(),
                    key.secret_der().to_vec(),
                )))
            }
            None => None,
        };
        Ok(UpstreamTls { sni, ca, client })
    }
}
