//! HTTP Basic authentication (Postmark and any sender that can put
//! `user:password` in the URL). Secrets are `user:password` or
//! `user:sha256:<hex of password>` so the file need not hold the password.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};

/// A Basic-auth scheme under `name`.
pub fn scheme(name: &'static str) -> Scheme {
    Scheme {
        name,
        algorithm: Algorithm::BasicAuth,
        encoding: Encoding::Base64,
        signature: SigLocation::Authorization,
        timestamp: TsLocation::None,
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Body],
        key_format: KeyFormat::BasicCredentials,
        replay_header: None,
    }
}
