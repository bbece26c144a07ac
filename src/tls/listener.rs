//! The reloading TLS listener: a certificate resolver and a client-certificate
//! verifier that both read through `ArcSwap`s, so a reload swaps the server
//! certificate, CA bundle and CRLs for new handshakes while established
//! connections keep what they negotiated.
//!
//! After each handshake the client's leaf certificate is parsed once into a
//! [`ClientIdentity`] and attached to the connection (pingora's `SslDigest`
//! extension), where routes read it.

use super::material::{ClientAuth, ListenerTls};
use crate::identity::ClientIdentity;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::listeners::tls::{Acceptor, TlsSettings};
use pingora::listeners::{TlsAccept, ALPN};
use pingora::protocols::tls::TlsRef;
use pingora::tls::TlsAcceptor;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{version, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// TLS listeners by listener name, for reload and the expiry gauge.
pub type TlsListeners = HashMap<String, Arc<TlsListener>>;

/// Why a running listener cannot take new TLS settings or build pingora's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerError {
    /// Switching `client_auth` on, off or between modes changes what the
    /// handshake asks for, which pingora fixes when it starts the listener.
    #[error("client_auth cannot change from {} to {} without a restart", from.as_str(), to.as_str())]
    ModeChanged {
        /// The listener.
        listener: String,
        /// Running mode.
        from: ClientAuth,
        /// Mode in the new config.
        to: ClientAuth,
    },
    /// pingora refused the settings.
    #[error("listener {listener:?}: {message}")]
    Settings {
        /// The listener.
        listener: String,
        /// pingora's message.
        message: String,
    },
}

/// A listener's live TLS material.
pub struct TlsListener {
    name: String,
    mode: ClientAuth,
    key: Arc<ArcSwap<CertifiedKey>>,
    verifier: Option<Arc<ReloadingVerifier>>,
    not_after: ArcSwap<SystemTime>,
}

impl TlsListener {
    /// The live listener `name` serving `tls` (loaded and checked by the config layer).
    pub fn new(name: &str, tls: &ListenerTls, metrics: Arc<Metrics>) -> Self {
        for reason in FAILURE_REASONS {
            metrics
                .tls_handshake_failures
                .with_label_values(&[name, reason]);
        }
        let mode = tls.paths.client_auth();
        let verifier = tls.verifier.clone().map(|v| {
            Arc::new(ReloadingVerifier {
                inner: ArcSwap::from_pointee(v),
                mandatory: mode == ClientAuth::Required,
                metrics,
                listener: name.to_string(),
            })
        });
        TlsListener {
            name: name.to_string(),
            key: Arc::new(ArcSwap::new(tls.key.clone())),
            verifier,
            not_after: ArcSwap::from_pointee(tls.not_after),
            mode,
        }
    }

    /// Can `tls` replace what this listener serves? Only a change of
    /// `client_auth` mode cannot be done in place.
    pub fn can_reload(&self, tls: &ListenerTls) -> Result<(), ListenerError> {
        let to = tls.paths.client_auth();
        if to == self.mode {
            Ok(())
        } else {
            Err(ListenerError::ModeChanged {
                listener: self.name.clone(),
                from: self.mode,
                to,
            })
        }
    }

    /// Serve `tls` (already loaded) to new handshakes.
    pub fn reload(&self, tls: &ListenerTls) -> Result<(), ListenerError> {
        self.can_reload(tls)?;
        self.key.store(tls.key.clone());
        if let (Some(v), Some(new)) = (&self.verifier, &tls.verifier) {
            v.inner.store(Arc::new(new.clone()));
        }
        self.not_after.store(Arc::new(tls.not_after));
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

    /// The acceptor for this listener: pingora's, with hookgate's own rustls
    /// server config (see [`server_config`]) in place of the one pingora builds,
    /// whose suite order and ticket count cannot be set through its settings.
    pub fn acceptor(&self) -> Result<Acceptor, ListenerError> {
        let mut acceptor = self.settings()?.build();
        let alpn = acceptor.acceptor.config().alpn_protocols.clone();
        let builder = ServerConfig::builder_with_provider(super::material::provider())
            .with_protocol_versions(&[&version::TLS12, &version::TLS13])
            .map_err(|e| ListenerError::Settings {
                listener: self.name.clone(),
                message: e.to_string(),
            })?;
        let builder = match &self.verifier {
            Some(v) => builder.with_client_cert_verifier(v.clone()),
            None => builder.with_no_client_auth(),
        };
        let config = server_config(
            builder.with_cert_resolver(Arc::new(Resolver(self.key.clone()))),
            alpn,
        );
        acceptor.acceptor = TlsAcceptor::from(Arc::new(config));
        Ok(acceptor)
    }

    /// pingora settings for this listener: HTTP/1.1 over TLS 1.2/1.3 (pingora's
    /// rustls build allows only those), the reloading resolver and verifier,
    /// and the identity callback.
    fn settings(&self) -> Result<TlsSettings, ListenerError> {
        let mut s = TlsSettings::with_callbacks(Box::new(IdentityCallback)).map_err(|e| {
            ListenerError::Settings {
                listener: self.name.clone(),
                message: e.to_string(),
            }
        })?;
        s.set_cert_resolver(Arc::new(Resolver(self.key.clone())));
        if let Some(v) = &self.verifier {
            s.set_client_cert_verifier(v.clone());
        }
        s.set_alpn(ALPN::H1);
        Ok(s)
    }
}

/// TLS tickets sent after a full handshake: a sender resumes its next
/// connection with one. rustls and OpenSSL send two by default, for clients
/// that open two connections at once; the second costs a random id, a cache
/// slot and a record on every handshake.
const TLS13_TICKETS: usize = 1;

/// hookgate's choices over rustls' defaults: the server picks the suite, in
/// the provider's order, which puts the SHA-256 suites first (see
/// [`super::material::provider`]), so the handshake's transcript hash and
/// key schedule run on the CPU's SHA extensions rather than SHA-384 in
/// software; and one ticket per handshake.
fn server_config(mut config: ServerConfig, alpn: Vec<Vec<u8>>) -> ServerConfig {
    config.alpn_protocols = alpn;
    config.ignore_client_order = true;
    config.send_tls13_tickets = TLS13_TICKETS;
    config
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
