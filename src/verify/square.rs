//! Square: base64 HMAC-SHA256 of `{notification_url}{body}` in
//! `x-square-hmacsha256-signature`; the notification URL is `public_url` + path.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The Square scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "square",
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Base64,
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-square-hmacsha256-signature"),
            prefix: "",
        },
        timestamp: TsLocation::None,
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Url, Part::Body],
        key_format: KeyFormat::Raw,
        replay_header: None,
    }
}
