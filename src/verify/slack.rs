//! Slack and Zoom: `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with the
//! timestamp in its own header.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

fn v0(name: &'static str, sig: &'static str, ts: &'static str) -> Scheme {
    Scheme {
        name,
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Hex,
        signature: SigLocation::Header {
            name: HeaderName::from_static(sig),
            prefix: "v0=",
        },
        timestamp: TsLocation::Header(HeaderName::from_static(ts)),
        ts_format: TsFormat::UnixSeconds,
        content: vec![
            Part::Lit("v0:".into()),
            Part::Timestamp,
            Part::Lit(":".into()),
            Part::Body,
        ],
        key_format: KeyFormat::Raw,
        replay_header: None,
    }
}

/// Slack: `X-Slack-Signature` + `X-Slack-Request-Timestamp`.
pub fn scheme() -> Scheme {
    v0("slack", "x-slack-signature", "x-slack-request-timestamp")
}
/// Zoom: `x-zm-signature` + `x-zm-request-timestamp`.
pub fn zoom() -> Scheme {
    v0("zoom", "x-zm-signature", "x-zm-request-timestamp")
}
