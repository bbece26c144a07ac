//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! No timestamp: a captured delivery stays valid for ever, so route the
//! replay store on `X-GitHub-Delivery` with a long TTL (the default).
//! The legacy SHA-1 `X-Hub-Signature` is accepted only with `legacy_sha1 = true`.

use super::body_hmac;
use super::{Algorithm, Encoding, Scheme};

/// The SHA-256 scheme.
pub fn scheme() -> Scheme {
    body_hmac::scheme(
        "github",
        "x-hub-signature-256",
        "sha256=",
        Algorithm::HmacSha256,
        Encoding::Hex,
        Some("x-github-delivery"),
    )
}

/// The legacy SHA-1 scheme.
pub fn legacy() -> Scheme {
    body_hmac::scheme(
        "github",
        "x-hub-signature",
        "sha1=",
        Algorithm::HmacSha1,
        Encoding::Hex,
        Some("x-github-delivery"),
    )
}
