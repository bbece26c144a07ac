//! Stripe and the providers that copied its header: `t=<unix>,v1=<hex>[,v1=...]`
//! over `{t}.{body}`. Stripe uses the whole `whsec_...` string as the key
//! (it is not decoded, unlike Standard Webhooks).

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

fn t_v1(name: &'static str, header: &'static str) -> Scheme {
    t_v1_in(name, header, TsFormat::UnixSeconds)
}

fn t_v1_in(name: &'static str, header: &'static str, ts_format: TsFormat) -> Scheme {
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
        ts_format,
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
/// Persona: `Persona-Signature`.
pub fn persona() -> Scheme {
    t_v1("persona", "persona-signature")
}
/// WorkOS: `WorkOS-Signature`, timestamp in milliseconds.
pub fn workos() -> Scheme {
    t_v1_in("workos", "workos-signature", TsFormat::UnixMillis)
}
/// Buildkite: `X-Buildkite-Signature: timestamp=<unix>,signature=<hex>` over `{timestamp}.{body}`.
pub fn buildkite() -> Scheme {
    Scheme {
        signature: SigLocation::Pairs {
            name: HeaderName::from_static("x-buildkite-signature"),
            sep: ',',
            sig_key: "signature",
        },
        timestamp: TsLocation::Pair("timestamp"),
        ..t_v1("buildkite", "x-buildkite-signature")
    }
}
