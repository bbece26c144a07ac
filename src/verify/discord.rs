//! Discord interactions: Ed25519 over `{timestamp}{body}` with the
//! application's public key (64 hex chars). Signature and timestamp are in
//! `X-Signature-Ed25519` (hex) and `X-Signature-Timestamp`. hookgate holds only
//! the public key, so it can verify but not sign.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The Discord scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "discord",
        algorithm: Algorithm::Ed25519,
        encoding: Encoding::Hex,
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-signature-ed25519"),
            prefix: "",
        },
        timestamp: TsLocation::Header(HeaderName::from_static("x-signature-timestamp")),
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Timestamp, Part::Body],
        key_format: KeyFormat::Ed25519,
        replay_header: None,
    }
}
