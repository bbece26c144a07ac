//! Stripe and the providers that copied its header: `t=<unix>,v1=<hex>[,v1=...]`
//! over `{t}.{body}`. Stripe uses the whole `whsec_...` string as the key
//! (it is not decoded, unlike Standard Webhooks).

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

fn t_v1(name: &'static str, header: &'static str) -> Scheme {
    Scheme {
        name,
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Hex,
        signature: SigLocation::Pairs {
            name: HeaderName::from_static(header),
            sep: ',',
            sig_key: "v1",
        },
        timestamp: TsLocation::Pair("t"),
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Timestamp, Part::Lit(".".into()), Part::Body],
        key_format: KeyFormat::Raw,
        replay_header: None,
    }
}

/// Stripe: `Stripe-Signature`. The event id is in the body, so the replay key defaults to the signature.
pub fn scheme() -> Scheme {
    t_v1("stripe", "stripe-signature")
}
/// Mux: `Mux-Signature`.
pub fn mux() -> Scheme {
    t_v1("mux", "mux-signature")
}
/// Calendly: `Calendly-Webhook-Signature`.
pub fn calendly() -> Scheme {
    t_v1("calendly", "calendly-webhook-signature")
}
