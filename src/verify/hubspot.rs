//! HubSpot v3: base64 HMAC-SHA256 of `{METHOD}{url}{body}{timestamp}` where the
//! timestamp is in milliseconds and the URL is the public one (`public_url`).

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The HubSpot v3 scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "hubspot",
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Base64,
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-hubspot-signature-v3"),
            prefix: "",
        },
        timestamp: TsLocation::Header(HeaderName::from_static("x-hubspot-request-timestamp")),
        ts_format: TsFormat::UnixMillis,
        content: vec![Part::Method, Part::Url, Part::Body, Part::Timestamp],
        key_format: KeyFormat::Raw,
        replay_header: None,
    }
}
