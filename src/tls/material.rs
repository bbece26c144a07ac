//! A TLS listener's files, loaded and checked: the certified key, the
//! client-certificate verifier and the certificate's expiry.
//!
//! Loading happens while the config is validated, so `hookgate check`, start
//! and reload all run this same code and a bad file is refused at load with
//! the key and line that named it.

use super::pem::{self, error, TlsError};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// Whether and how client certificates are asked for (`client_auth`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Not asked for.
    #[default]
    Off,
    /// Asked for and verified if sent; routes decide whether one is needed.
    Optional,
    /// A valid certificate is required to complete the handshake.
    Required,
}

/// Where a listener's TLS files are (absolute or relative to the working
/// directory: the config layer has joined them to the config's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Certificate chain file.
    pub cert: PathBuf,
    /// Key file.
    pub key: PathBuf,
    /// Client-certificate verification; `None` when `client_auth` is off.
    pub client: Option<ClientCertPaths>,
}

/// What verifies client certificates on a listener that asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertPaths {
    /// `Optional` or `Required` (never `Off`).
    pub mode: ClientAuth,
    /// CA bundle the certificates must chain to.
    pub ca: PathBuf,
    /// CRL files.
    pub crls: Vec<PathBuf>,
}

impl ClientAuth {
    /// The word used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Off => "off",
            ClientAuth::Optional => "optional",
            ClientAuth::Required => "required",
        }
    }
}

impl TlsPaths {
    /// The client-certificate mode.
    pub fn client_auth(&self) -> ClientAuth {
        self.client.as_ref().map_or(ClientAuth::Off, |c| c.mode)
    }
}

/// A listener's TLS settings with their files loaded.
#[derive(Clone)]
pub struct ListenerTls {
    /// The files this was loaded from.
    pub paths: TlsPaths,
    /// Certificate and key, checked to belong together.
    pub(super) key: Arc<CertifiedKey>,
    /// Client-certificate verifier, unless `client_auth` is off.
    pub(super) verifier: Option<Arc<dyn ClientCertVerifier>>,
    /// When the server certificate expires.
    pub not_after: SystemTime,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls")
            .field("paths", &self.paths)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The crypto provider hookgate uses for TLS: ring (the one pingora
/// installs), with its suites reordered so that a server choosing the suite
/// picks AES-128-GCM with SHA-256 first. Every suite stays offered; only the
/// order differs from ring's, which leads with AES-256-GCM-SHA384, whose
/// SHA-384 has no hardware path on x86-64 and cost 7% of a full handshake's
/// CPU in a profile, against ~1% for SHA-256 on the SHA extensions.
pub(super) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|s| s.suite().as_str().is_some_and(|n| n.contains("SHA384")));
    Arc::new(provider)
}

impl ListenerTls {
    /// Read and check every file; the error names the file at fault.
    pub fn load(paths: TlsPaths) -> Result<ListenerTls, TlsError> {
        let chain = pem::certs(&paths.cert)?;
        let signing = provider()
            .key_provider
            .load_private_key(pem::key(&paths.key)?)
            .map_err(|e| error(&paths.key, format!("unusable private key: {e}")))?;
        let certified = CertifiedKey::new(chain.clone(), signing);
        certified.keys_match().map_err(|e| {
            error(
                &paths.key,
                format!(
                    "does not match the certificate in {}: {e}",
                    paths.cert.display()
                ),
            )
        })?;
        let not_after = x509_parser::parse_x509_certificate(&chain[0])
            .map_err(|e| error(&paths.cert, format!("unparseable certificate: {e}")))?
            .1
            .validity()
            .not_after
            .timestamp();
        let verifier = client_verifier(&paths)?;
        Ok(ListenerTls {
            key: Arc::new(certified),
            verifier,
            not_after: SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(not_after).unwrap_or(0)),
            paths,
        })
    }
}

/// The WebPKI verifier for client certificates, with CRLs; `None` when off.
fn client_verifier(p: &TlsPaths) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    let Some(c) = &p.client else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for der in pem::certs(&c.ca)? {
        roots
            .add(der)
            .map_err(|e| error(&c.ca, format!("unusable CA certificate: {e}")))?;
    }
    let mut crls = Vec::new();
    for path in &c.crls {
        let these = pem::crls(path)?;
        // Build once per file so an unusable CRL is reported with its own file.
        build_verifier(&roots, these.clone(), c.mode)
            .map_err(|e| error(path, format!("unusable CRL: {e}")))?;
        crls.extend(these);
    }
    build_verifier(&roots, crls, c.mode)
        .map(Some)
        .map_err(|e| error(&c.ca, format!("cannot build the client verifier: {e}")))
}

fn build_verifier(
    roots: &RootCertStore,
    crls: Vec<rustls::pki_types::CertificateRevocationListDer<'static>>,
    mode: ClientAuth,
) -> Result<Arc<dyn ClientCertVerifier>, rustls::server::VerifierBuilderError> {
    let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), provider())
        .with_crls(crls);
    if mode == ClientAuth::Optional {
        b = b.allow_unauthenticated();
    }
    b.build()
}
