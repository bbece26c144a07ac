//! Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>` over `{ts}:{body}`.
//! Paddle's SDKs allow only 5 s of skew; hookgate's route tolerance applies.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The Paddle scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "paddle",
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Hex,
        signature: SigLocation::Pairs {
            name: HeaderName::from_static("paddle-signature"),
            sep: ';',
            sig_key: "h1",
        },
        timestamp: TsLocation::Pair("ts"),
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Timestamp, Part::Lit(":".into()), Part::Body],
        key_format: KeyFormat::Raw,
        replay_header: None,
    }
}
