//! TLS termination with rustls, mutual TLS, material that reloads in place,
//! and TLS to upstreams.
//!
//! - [`pem`]: reading certificate, key and CRL files (errors name the file);
//! - [`material`]: a listener's files loaded and checked, at config load;
//! - [`listener`]: the live listener whose certificate and verifier a reload swaps;
//! - [`upstream`]: CA bundle, client certificate and SNI for `https://` upstreams.

pub mod listener;
pub mod material;
pub mod pem;
pub mod upstream;

pub use listener::{ListenerError, TlsListener, TlsListeners};
pub use material::{ClientAuth, ClientCertPaths, ListenerTls, TlsPaths};
pub use pem::TlsError;
pub use upstream::UpstreamTls;

use crate::identity::ClientIdentity;

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
