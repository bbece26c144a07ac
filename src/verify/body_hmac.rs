//! Providers that sign the raw body with an HMAC in one header: the most
//! common shape, so each is one row. No timestamp: replay protection for
//! these relies on the delivery-id header and the replay store's TTL.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// A body-only HMAC scheme: `prefix` + encoded MAC of the body in `header`.
pub fn scheme(
    name: &'static str,
    header: &'static str,
    prefix: &'static str,
    algorithm: Algorithm,
    encoding: Encoding,
    replay_header: Option<&'static str>,
) -> Scheme {
    Scheme {
        name,
        algorithm,
        encoding,
        signature: SigLocation::Header {
            name: HeaderName::from_static(header),
            prefix,
        },
        timestamp: TsLocation::None,
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Body],
        key_format: KeyFormat::Raw,
        replay_header,
    }
}

use Algorithm::{HmacSha1 as SHA1, HmacSha256 as SHA256, HmacSha512 as SHA512};
use Encoding::{Base64 as B64, Hex};

/// Meta (Facebook, Instagram, Messenger, WhatsApp): `X-Hub-Signature-256: sha256=<hex>`.
pub fn meta() -> Scheme {
    scheme("meta", "x-hub-signature-256", "sha256=", SHA256, Hex, None)
}
/// Meta's legacy `X-Hub-Signature: sha1=<hex>`.
pub fn meta_legacy() -> Scheme {
    scheme("meta", "x-hub-signature", "sha1=", SHA1, Hex, None)
}
/// Shopify: base64 HMAC-SHA256 of the body in `X-Shopify-Hmac-Sha256`.
pub fn shopify() -> Scheme {
    scheme(
        "shopify",
        "x-shopify-hmac-sha256",
        "",
        SHA256,
        B64,
        Some("x-shopify-webhook-id"),
    )
}
/// Linear: hex HMAC-SHA256 in `Linear-Signature` (its timestamp is inside the JSON body).
pub fn linear() -> Scheme {
    scheme(
        "linear",
        "linear-signature",
        "",
        SHA256,
        Hex,
        Some("linear-delivery"),
    )
}
/// Typeform: `Typeform-Signature: sha256=<base64>`.
pub fn typeform() -> Scheme {
    scheme(
        "typeform",
        "typeform-signature",
        "sha256=",
        SHA256,
        B64,
        None,
    )
}
/// Bitbucket: `X-Hub-Signature: sha256=<hex>`.
pub fn bitbucket() -> Scheme {
    scheme(
        "bitbucket",
        "x-hub-signature",
        "sha256=",
        SHA256,
        Hex,
        Some("x-request-uuid"),
    )
}
/// Jira / Atlassian: `X-Hub-Signature: sha256=<hex>`.
pub fn jira() -> Scheme {
    scheme("jira", "x-hub-signature", "sha256=", SHA256, Hex, None)
}
/// Intercom: `X-Hub-Signature: sha1=<hex>`.
pub fn intercom() -> Scheme {
    scheme("intercom", "x-hub-signature", "sha1=", SHA1, Hex, None)
}
/// Vercel: hex HMAC-SHA1 in `x-vercel-signature`.
pub fn vercel() -> Scheme {
    scheme("vercel", "x-vercel-signature", "", SHA1, Hex, None)
}
/// Coinbase Commerce: hex HMAC-SHA256 in `X-CC-Webhook-Signature`.
pub fn coinbase() -> Scheme {
    scheme("coinbase", "x-cc-webhook-signature", "", SHA256, Hex, None)
}
/// Razorpay: hex HMAC-SHA256 in `X-Razorpay-Signature`.
pub fn razorpay() -> Scheme {
    scheme(
        "razorpay",
        "x-razorpay-signature",
        "",
        SHA256,
        Hex,
        Some("x-razorpay-event-id"),
    )
}
/// Sentry integrations: hex HMAC-SHA256 in `Sentry-Hook-Signature`.
pub fn sentry() -> Scheme {
    scheme(
        "sentry",
        "sentry-hook-signature",
        "",
        SHA256,
        Hex,
        Some("request-id"),
    )
}
/// Gitea: hex HMAC-SHA256 in `X-Gitea-Signature`.
pub fn gitea() -> Scheme {
    scheme(
        "gitea",
        "x-gitea-signature",
        "",
        SHA256,
        Hex,
        Some("x-gitea-delivery"),
    )
}
/// PagerDuty v3: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]` (one per active secret).
pub fn pagerduty() -> Scheme {
    Scheme {
        signature: SigLocation::List {
            name: HeaderName::from_static("x-pagerduty-signature"),
            sep: ',',
            prefix: "v1=",
        },
        ..scheme(
            "pagerduty",
            "x-pagerduty-signature",
            "",
            SHA256,
            Hex,
            Some("x-webhook-id"),
        )
    }
}
/// DocuSign Connect: base64 HMAC-SHA256 in `X-DocuSign-Signature-1`..`-N`, one per key.
pub fn docusign() -> Scheme {
    Scheme {
        signature: SigLocation::Numbered {
            prefix: "x-docusign-signature-",
        },
        ..scheme("docusign", "x-docusign-signature-1", "", SHA256, B64, None)
    }
}

/// Dropbox: hex HMAC-SHA256 in `X-Dropbox-Signature`.
pub fn dropbox() -> Scheme {
    scheme("dropbox", "x-dropbox-signature", "", SHA256, Hex, None)
}
/// Asana: hex HMAC-SHA256 in `X-Hook-Signature` (secret from the X-Hook-Secret handshake).
pub fn asana() -> Scheme {
    scheme("asana", "x-hook-signature", "", SHA256, Hex, None)
}
/// WooCommerce: base64 HMAC-SHA256 in `X-WC-Webhook-Signature`.
pub fn woocommerce() -> Scheme {
    scheme(
        "woocommerce",
        "x-wc-webhook-signature",
        "",
        SHA256,
        B64,
        Some("x-wc-webhook-delivery-id"),
    )
}
/// Nylas: hex HMAC-SHA256 in `X-Nylas-Signature`.
pub fn nylas() -> Scheme {
    scheme("nylas", "x-nylas-signature", "", SHA256, Hex, None)
}
/// Lemon Squeezy: hex HMAC-SHA256 in `X-Signature`.
pub fn lemonsqueezy() -> Scheme {
    scheme("lemonsqueezy", "x-signature", "", SHA256, Hex, None)
}
/// Cal.com: hex HMAC-SHA256 in `X-Cal-Signature-256`.
pub fn calcom() -> Scheme {
    scheme("calcom", "x-cal-signature-256", "", SHA256, Hex, None)
}
/// Terraform Cloud / HCP Terraform: hex HMAC-SHA512 in `X-TFE-Notification-Signature`.
pub fn terraform() -> Scheme {
    scheme(
        "terraform",
        "x-tfe-notification-signature",
        "",
        SHA512,
        Hex,
        None,
    )
}
/// GoCardless: hex HMAC-SHA256 in `Webhook-Signature`.
pub fn gocardless() -> Scheme {
    scheme("gocardless", "webhook-signature", "", SHA256, Hex, None)
}
/// Heroku webhooks: base64 HMAC-SHA256 in `Heroku-Webhook-Hmac-SHA256`.
pub fn heroku() -> Scheme {
    scheme(
        "heroku",
        "heroku-webhook-hmac-sha256",
        "",
        SHA256,
        B64,
        Some("heroku-webhook-id"),
    )
}
/// Xero: base64 HMAC-SHA256 in `x-xero-signature`.
pub fn xero() -> Scheme {
    scheme("xero", "x-xero-signature", "", SHA256, B64, None)
}
/// Intuit QuickBooks: base64 HMAC-SHA256 (verifier token) in `intuit-signature`.
pub fn intuit() -> Scheme {
    scheme("intuit", "intuit-signature", "", SHA256, B64, None)
}
/// LINE Messaging API: base64 HMAC-SHA256 (channel secret) in `x-line-signature`.
pub fn line() -> Scheme {
    scheme("line", "x-line-signature", "", SHA256, B64, None)
}
/// Paystack: hex HMAC-SHA512 in `x-paystack-signature`.
pub fn paystack() -> Scheme {
    scheme("paystack", "x-paystack-signature", "", SHA512, Hex, None)
}
/// Checkout.com: hex HMAC-SHA256 in `Cko-Signature`.
pub fn checkout() -> Scheme {
    scheme("checkout", "cko-signature", "", SHA256, Hex, None)
}
/// Gogs: hex HMAC-SHA256 in `X-Gogs-Signature`.
pub fn gogs() -> Scheme {
    scheme(
        "gogs",
        "x-gogs-signature",
        "",
        SHA256,
        Hex,
        Some("x-gogs-delivery"),
    )
}
/// Onfido: hex HMAC-SHA256 in `X-SHA2-Signature`.
pub fn onfido() -> Scheme {
    scheme("onfido", "x-sha2-signature", "", SHA256, Hex, None)
}
/// Hookdeck: base64 HMAC-SHA256 in `x-hookdeck-signature`.
pub fn hookdeck() -> Scheme {
    scheme(
        "hookdeck",
        "x-hookdeck-signature",
        "",
        SHA256,
        B64,
        Some("x-hookdeck-eventid"),
    )
}
