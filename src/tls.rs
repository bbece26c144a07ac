//! TLS termination with rustls, mutual TLS, and material that reloads in place.
//!
//! Each TLS listener owns a [`TlsListener`]: a certificate resolver and a
//! client-certificate verifier that both read through `ArcSwap`s, so a reload
//! swaps the server certificate, CA bundle and CRLs for new handshakes while
//! established connections keep what they negotiated. A broken file on
//! reload changes nothing and reports the file.
//!
//! After each handshake the client's leaf certificate is parsed once into a
//! [`ClientIdentity`] and attached to the connection (pingora's
//! `SslDigest` extension), where routes read it.

use crate::identity::ClientIdentity;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{TlsAccept, ALPN};
use pingora::protocols::tls::TlsRef;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use serde::Deserialize;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// `tls = { ... }` on a listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    /// PEM certificate chain (leaf first).
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// PEM bundle of CAs trusted for client certificates.
    pub client_ca: Option<String>,
    /// `off` (default), `optional` or `required`.
    pub client_auth: Option<String>,
    /// PEM or DER certificate revocation lists for client certificates.
    #[serde(default)]
    pub crls: Vec<String>,
}

/// Whether and how client certificates are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Not asked for.
    Off,
    /// Asked for and verified if sent; routes decide whether one is needed.
    Optional,
    /// A valid certificate is required to complete the handshake.
    Required,
}

/// Validated TLS settings of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Certificate chain file.
    pub cert: PathBuf,
    /// Key file.
    pub key: PathBuf,
    /// Client CA bundle.
    pub client_ca: Option<PathBuf>,
    /// Client certificate mode.
    pub client_auth: ClientAuth,
    /// CRL files.
    pub crls: Vec<PathBuf>,
}

impl FileTls {
    /// Validate paths (relative to `base_dir`) and the mode.
    pub fn validate(&self, base_dir: &Path) -> Result<TlsPaths, (String, String)> {
        let client_auth = match self.client_auth.as_deref().unwrap_or("off") {
            "off" => ClientAuth::Off,
            "optional" => ClientAuth::Optional,
            "required" => ClientAuth::Required,
            other => {
                return Err((
                    "tls.client_auth".into(),
                    format!("{other:?}: use \"off\", \"optional\" or \"required\""),
                ))
            }
        };
        if client_auth != ClientAuth::Off && self.client_ca.is_none() {
            return Err((
                "tls.client_ca".into(),
                "required when client_auth is not \"off\"".into(),
            ));
        }
        let p = |s: &String| base_dir.join(s);
        Ok(TlsPaths {
            cert: p(&self.cert),
            key: p(&self.key),
            client_ca: self.client_ca.as_ref().map(p),
            client_auth,
            crls: self.crls.iter().map(p).collect(),
        })
    }
}

/// A TLS problem, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

fn err(file: &Path, message: impl Into<String>) -> TlsError {
    TlsError {
        file: file.display().to_string(),
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| err(path, e.to_string()))
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| err(path, format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err(path, "no certificate found"));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| err(path, format!("invalid PEM: {e}")))?
        .ok_or_else(|| err(path, "no private key found"))
}

fn crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, TlsError> {
    let raw = read(path)?;
    if raw.starts_with(b"-----BEGIN") {
        rustls_pemfile::crls(&mut raw.as_slice())
            .next()
            .ok_or_else(|| err(path, "no CRL found"))?
            .map_err(|e| err(path, format!("invalid PEM: {e}")))
    } else {
        Ok(CertificateRevocationListDer::from(raw))
    }
}

/// The crypto provider hookgate uses for TLS (the one pingora installs).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Everything one generation of a listener's files produces.
struct Material {
    key: Arc<CertifiedKey>,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
    not_after: SystemTime,
}

fn load(p: &TlsPaths) -> Result<Material, TlsError> {
    let chain = certs(&p.cert)?;
    let signing = provider()
        .key_provider
        .load_private_key(key(&p.key)?)
        .map_err(|e| err(&p.key, format!("unusable private key: {e}")))?;
    let certified = CertifiedKey::new(chain.clone(), signing);
    certified.keys_match().map_err(|e| {
        err(
            &p.key,
            format!(
                "does not match the certificate in {}: {e}",
                p.cert.display()
            ),
        )
    })?;
    let not_after = x509_parser::parse_x509_certificate(&chain[0])
        .map_err(|e| err(&p.cert, format!("unparseable certificate: {e}")))?
        .1
        .validity()
        .not_after
        .timestamp();
    let verifier = match (&p.client_ca, p.client_auth) {
        (Some(ca), mode) if mode != ClientAuth::Off => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| err(ca, format!("unusable CA certificate: {e}")))?;
            }
            let crls = p
                .crls
                .iter()
                .map(|c| crl(c))
                .collect::<Result<Vec<_>, _>>()?;
            let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .with_crls(crls);
            if mode == ClientAuth::Optional {
                b = b.allow_unauthenticated();
            }
            Some(
                b.build()
                    .map_err(|e| err(ca, format!("cannot build client verifier: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(Material {
        key: Arc::new(certified),
        verifier,
        not_after: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(not_after.max(0) as u64),
    })
}

/// A listener's live TLS material.
pub struct TlsListener {
    name: String,
    paths: ArcSwap<TlsPaths>,
    key: Arc<ArcSwap<CertifiedKey>>,
    verifier: Option<Arc<ReloadingVerifier>>,
    not_after: ArcSwap<SystemTime>,
}

impl TlsListener {
    /// Load the files for listener `name`.
    pub fn new(name: &str, paths: TlsPaths, metrics: Arc<Metrics>) -> Result<Self, TlsError> {
        let m = load(&paths)?;
        for reason in FAILURE_REASONS {
            metrics
                .tls_handshake_failures
                .with_label_values(&[name, reason]);
        }
        let verifier = m.verifier.map(|v| {
            Arc::new(ReloadingVerifier {
                inner: ArcSwap::from_pointee(v),
                mandatory: paths.client_auth == ClientAuth::Required,
                metrics,
                listener: name.to_string(),
            })
        });
        Ok(TlsListener {
            name: name.to_string(),
            key: Arc::new(ArcSwap::new(m.key)),
            verifier,
            not_after: ArcSwap::from_pointee(m.not_after),
            paths: ArcSwap::from_pointee(paths),
        })
    }

    /// Load `paths` without installing anything: does a reload stand a chance?
    pub fn preflight(paths: &TlsPaths) -> Result<(), TlsError> {
        load(paths).map(|_| ())
    }

    /// Re-read the files (possibly at new paths); swap only if all load.
    /// A change of `client_auth` mode needs a restart.
    pub fn reload(&self, paths: TlsPaths) -> Result<(), TlsError> {
        if paths.client_auth != self.paths.load().client_auth {
            return Err(err(&paths.cert, "client_auth mode changes need a restart"));
        }
        let m = load(&paths)?;
        self.key.store(m.key);
        if let (Some(v), Some(new)) = (&self.verifier, m.verifier) {
            v.inner.store(Arc::new(new));
        }
        self.not_after.store(Arc::new(m.not_after));
        self.paths.store(Arc::new(paths));
        Ok(())
    }

    /// When the served certificate expires.
    pub fn not_after(&self) -> SystemTime {
        **self.not_after.load()
    }

    /// Listener name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// pingora settings for this listener: HTTP/1.1 over TLS 1.2/1.3 (pingora's
    /// rustls build allows only those), the reloading resolver and verifier,
    /// and the identity callback.
    pub fn settings(&self) -> Result<TlsSettings, TlsError> {
        let mut s =
            TlsSettings::with_callbacks(Box::new(IdentityCallback)).map_err(|e| TlsError {
                file: self.name.clone(),
                message: e.to_string(),
            })?;
        s.set_cert_resolver(Arc::new(Resolver(self.key.clone())));
        if let Some(v) = &self.verifier {
            s.set_client_cert_verifier(v.clone());
        }
        s.set_alpn(ALPN::H1);
        Ok(s)
    }
}

/// Serves whatever certificate is current.
#[derive(Debug)]
struct Resolver(Arc<ArcSwap<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// Delegates to the current WebPKI verifier and counts failures by reason.
struct ReloadingVerifier {
    inner: ArcSwap<Arc<dyn ClientCertVerifier>>,
    mandatory: bool,
    metrics: Arc<Metrics>,
    listener: String,
}

impl std::fmt::Debug for ReloadingVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingVerifier")
            .field("mandatory", &self.mandatory)
            .finish()
    }
}

/// Every value [`failure_reason`] returns, to create the series up front.
const FAILURE_REASONS: [&str; 8] = [
    "expired",
    "not_yet_valid",
    "revoked",
    "unknown_issuer",
    "bad_signature",
    "invalid_purpose",
    "invalid_certificate",
    "other",
];

/// A bounded label for a certificate error.
fn failure_reason(e: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "expired",
            C::NotValidYet | C::NotValidYetContext { .. } => "not_yet_valid",
            C::Revoked => "revoked",
            C::UnknownIssuer => "unknown_issuer",
            C::BadSignature => "bad_signature",
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => "invalid_purpose",
            _ => "invalid_certificate",
        },
        _ => "other",
    }
}

impl ClientCertVerifier for ReloadingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    /// No CA hints: they would have to borrow from the swappable inner
    /// verifier. Clients send their certificate regardless.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let r = self
            .inner
            .load()
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(e) = &r {
            self.metrics
                .tls_handshake_failures
                .with_label_values(&[self.listener.as_str(), failure_reason(e)])
                .inc();
        }
        r
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.load().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.load().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.load().supported_verify_schemes()
    }
}

/// Parses the verified client certificate once per connection.
struct IdentityCallback;

#[async_trait]
impl TlsAccept for IdentityCallback {
    async fn handshake_complete_callback(
        &self,
        tls: &TlsRef,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        let der = tls.peer_certificate_der()?;
        ClientIdentity::from_der(der).map(|id| Arc::new(id) as Arc<dyn Any + Send + Sync>)
    }
}

/// The verified client identity of a session's connection, if any.
pub fn peer_identity(session: &pingora::proxy::Session) -> Option<ClientIdentity> {
    session
        .digest()?
        .ssl_digest
        .as_ref()?
        .extension
        .get::<ClientIdentity>()
        .cloned()
}

/// Is the session's connection TLS?
pub fn is_tls(session: &pingora::proxy::Session) -> bool {
    session.digest().is_some_and(|d| d.ssl_digest.is_some())
}

// === upstream TLS ===

/// `upstream_tls = { ... }` on a route with `https://` upstreams.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstreamTls {
    /// PEM bundle of CAs trusted for the upstream (default: the system store).
    pub ca: Option<String>,
    /// Client certificate chain for mutual TLS to the upstream.
    pub client_cert: Option<String>,
    /// Its private key.
    pub client_key: Option<String>,
    /// Server name sent and verified (default: the upstream's host).
    pub sni: Option<String>,
}

/// Validated upstream TLS settings, ready to put on a pingora `HttpPeer`.
#[derive(Clone)]
pub struct UpstreamTls {
    /// Name sent in SNI and checked against the certificate.
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

impl FileUpstreamTls {
    /// Load the files (relative to `base_dir`); `host` is the upstream's host for SNI.
    pub fn load(&self, host: &str, base_dir: &Path) -> Result<UpstreamTls, TlsError> {
        // pingora turns certificate verification off entirely for an empty SNI
        // (as nginx does); never let a config do that by accident.
        if self.sni.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(err(
                base_dir,
                "sni is empty, which would switch off certificate verification: \
                 set the name on the upstream's certificate, or omit sni to use the upstream host",
            ));
        }
        let ca = match &self.ca {
            Some(f) => {
                let path = base_dir.join(f);
                let mut list = Vec::new();
                for der in certs(&path)? {
                    // pingora parses these again and panics on bad DER: check first.
                    x509_parser::parse_x509_certificate(&der)
                        .map_err(|e| err(&path, format!("unparseable CA certificate: {e}")))?;
                    list.push(pingora::utils::tls::WrappedX509::new(
                        der.to_vec(),
                        pingora::utils::tls::parse_x509,
                    ));
                }
                Some(Arc::from(list.into_boxed_slice()))
            }
            None => None,
        };
        let client = match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => {
                let cpath = base_dir.join(c);
                let chain = certs(&cpath)?;
                for der in &chain {
                    x509_parser::parse_x509_certificate(der)
                        .map_err(|e| err(&cpath, format!("unparseable certificate: {e}")))?;
                }
                let key = key(&base_dir.join(k))?;
                Some(Arc::new(pingora::utils::tls::CertKey::new(
                    chain.iter().map(|d| d.to_vec()).collect(),
                    key.secret_der().to_vec(),
                )))
            }
            (None, None) => None,
            _ => {
                return Err(err(
                    base_dir,
                    "upstream_tls: client_cert and client_key go together",
                ))
            }
        };
        Ok(UpstreamTls {
            sni: self.sni.clone().unwrap_or_else(|| host.to_string()),
            ca,
            client,
        })
    }
}
