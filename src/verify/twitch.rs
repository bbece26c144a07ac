//! Twitch EventSub: `sha256=<hex HMAC-SHA256 of {id}{timestamp}{body}>`, the
//! timestamp an RFC 3339 string taken byte for byte from its header.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The Twitch scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "twitch",
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Hex,
        signature: SigLocation::Header {
            name: HeaderName::from_static("twitch-eventsub-message-signature"),
            prefix: "sha256=",
        },
        timestamp: TsLocation::Header(HeaderName::from_static("twitch-eventsub-message-timestamp")),
        ts_format: TsFormat::Rfc3339,
        content: vec![
            Part::Header(HeaderName::from_static("twitch-eventsub-message-id")),
            Part::Timestamp,
            Part::Body,
        ],
        key_format: KeyFormat::Raw,
        replay_header: Some("twitch-eventsub-message-id"),
    }
}
