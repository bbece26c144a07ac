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
