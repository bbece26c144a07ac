//! GitLab: the secret token is sent verbatim in `X-Gitlab-Token` (no HMAC, no
//! timestamp). Compared in constant time over SHA-256 digests so neither the
//! value nor its length leaks. A captured request can be replayed for ever
//! unless the replay store is keyed on `X-Gitlab-Event-UUID`.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// A shared-token scheme in header `header`.
pub fn token(
    name: &'static str,
    header: HeaderName,
    replay_header: Option<&'static str>,
) -> Scheme {
    Scheme {
        name,
        algorithm: Algorithm::SharedToken,
        encoding: Encoding::Hex,
        signature: SigLocation::Token { name: header },
        timestamp: TsLocation::None,
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Body],
        key_format: KeyFormat::Raw,
        replay_header,
    }
}

/// The GitLab scheme.
pub fn scheme() -> Scheme {
    token(
        "gitlab",
        HeaderName::from_static("x-gitlab-token"),
        Some("x-gitlab-event-uuid"),
    )
}
