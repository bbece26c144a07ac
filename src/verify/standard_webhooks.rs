//! Standard Webhooks (also Svix, Clerk, Resend): `{id}.{timestamp}.{body}`,
//! signatures as a space-separated list of `v1,<base64>` (HMAC-SHA256, secret
//! `whsec_<base64>`) or `v1a,<base64>` (Ed25519, key `whpk_`/`whsk_`).
//! The `webhook-id` survives retries, which makes it the replay key.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

fn sw(name: &'static str, prefix: &'static str, asymmetric: bool) -> Scheme {
    let h = |suffix: &str| -> HeaderName {
        match (prefix, suffix) {
            ("svix", "id") => HeaderName::from_static("svix-id"),
            ("svix", "timestamp") => HeaderName::from_static("svix-timestamp"),
            ("svix", _) => HeaderName::from_static("svix-signature"),
            (_, "id") => HeaderName::from_static("webhook-id"),
            (_, "timestamp") => HeaderName::from_static("webhook-timestamp"),
            _ => HeaderName::from_static("webhook-signature"),
        }
    };
    Scheme {
        name,
        algorithm: if asymmetric {
            Algorithm::Ed25519
        } else {
            Algorithm::HmacSha256
        },
        encoding: Encoding::Base64,
        signature: SigLocation::List {
            name: h("signature"),
            sep: ' ',
            prefix: if asymmetric { "v1a," } else { "v1," },
        },
        timestamp: TsLocation::Header(h("timestamp")),
        ts_format: TsFormat::UnixSeconds,
        content: vec![
            Part::Header(h("id")),
            Part::Lit(".".into()),
            Part::Timestamp,
            Part::Lit(".".into()),
            Part::Body,
        ],
        key_format: if asymmetric {
            KeyFormat::Ed25519
        } else {
            KeyFormat::Whsec
        },
        replay_header: Some(if prefix == "svix" {
            "svix-id"
        } else {
            "webhook-id"
        }),
    }
}

/// `webhook-*` headers, `v1` HMAC.
pub fn scheme() -> Scheme {
    named("standard-webhooks")
}
/// `webhook-*` headers, `v1` HMAC, under a provider's name (OpenAI, Replicate, Polar send Standard Webhooks).
pub fn named(name: &'static str) -> Scheme {
    sw(name, "webhook", false)
}

/// `webhook-*` headers, `v1a` Ed25519.
pub fn v1a() -> Scheme {
    sw("standard-webhooks-v1a", "webhook", true)
}
/// `svix-*` headers (Svix, and Clerk and Resend which send through Svix).
pub fn svix(name: &'static str) -> Scheme {
    sw(name, "svix", false)
}
/// `svix-*` headers, `v1a` Ed25519.
pub fn svix_v1a() -> Scheme {
    sw("svix-v1a", "svix", true)
}
