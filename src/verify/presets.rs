//! The preset registry: scheme name → [`Scheme`].

use super::engine::VerifyConfigError;
use super::{
    basic_auth, body_hmac, discord, generic, github, gitlab, hubspot, paddle, sendgrid, slack,
    square,
};
use super::{standard_webhooks as sw, stripe, twilio, twitch, FileVerify, Scheme};

/// Builds a preset's [`Scheme`].
type MakeScheme = fn() -> Scheme;

/// Every preset name, aliases included, in documentation order.
const PRESETS: &[(&str, MakeScheme)] = &[
    ("github", github::scheme),
    ("stripe", stripe::scheme),
    ("slack", slack::scheme),
    ("standard-webhooks", sw::scheme),
    ("standard-webhooks-v1a", sw::v1a),
    ("svix", || sw::svix("svix")),
    ("svix-v1a", sw::svix_v1a),
    ("clerk", || sw::svix("clerk")),
    ("resend", || sw::svix("resend")),
    ("shopify", body_hmac::shopify),
    ("twilio", twilio::scheme),
    ("meta", body_hmac::meta),
    ("facebook", body_hmac::meta),
    ("instagram", body_hmac::meta),
    ("whatsapp", body_hmac::meta),
    ("gitlab", gitlab::scheme),
    ("discord", discord::scheme),
    ("sendgrid", sendgrid::scheme),
    ("paddle", paddle::scheme),
    ("linear", body_hmac::linear),
    ("zoom", slack::zoom),
    ("basic-auth", || basic_auth::scheme("basic-auth")),
    ("postmark", || basic_auth::scheme("postmark")),
    ("twitch", twitch::scheme),
    ("square", square::scheme),
    ("hubspot", hubspot::scheme),
    ("pagerduty", body_hmac::pagerduty),
    ("intercom", body_hmac::intercom),
    ("typeform", body_hmac::typeform),
    ("calendly", stripe::calendly),
    ("mux", stripe::mux),
    ("bitbucket", body_hmac::bitbucket),
    ("jira", body_hmac::jira),
    ("docusign", body_hmac::docusign),
    ("vercel", body_hmac::vercel),
    ("sentry", body_hmac::sentry),
    ("coinbase", body_hmac::coinbase),
    ("razorpay", body_hmac::razorpay),
    ("gitea", body_hmac::gitea),
    ("gogs", body_hmac::gogs),
    ("dropbox", body_hmac::dropbox),
    ("asana", body_hmac::asana),
    ("woocommerce", body_hmac::woocommerce),
    ("nylas", body_hmac::nylas),
    ("lemonsqueezy", body_hmac::lemonsqueezy),
    ("calcom", body_hmac::calcom),
    ("terraform", body_hmac::terraform),
    ("gocardless", body_hmac::gocardless),
    ("heroku", body_hmac::heroku),
    ("xero", body_hmac::xero),
    ("intuit", body_hmac::intuit),
    ("line", body_hmac::line),
    ("paystack", body_hmac::paystack),
    ("checkout", body_hmac::checkout),
    ("onfido", body_hmac::onfido),
    ("hookdeck", body_hmac::hookdeck),
    ("persona", stripe::persona),
    ("workos", stripe::workos),
    ("buildkite", stripe::buildkite),
    ("mandrill", twilio::mandrill),
    ("openai", || sw::named("openai")),
    ("replicate", || sw::named("replicate")),
    ("polar", || sw::named("polar")),
    ("okta", || {
        gitlab::token("okta", http::header::AUTHORIZATION, None)
    }),
    ("telegram", || {
        gitlab::token(
            "telegram",
            http::HeaderName::from_static("x-telegram-bot-api-secret-token"),
            None,
        )
    }),
    ("flutterwave", || {
        gitlab::token(
            "flutterwave",
            http::HeaderName::from_static("verif-hash"),
            None,
        )
    }),
    ("pipedrive", || basic_auth::scheme("pipedrive")),
    ("sparkpost", || basic_auth::scheme("sparkpost")),
];

/// Names accepted as `scheme = "..."`.
pub fn known_schemes() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).chain(["generic"]).collect()
}

/// The knobs only `generic` takes, by key name, so a preset given one is an error.
fn generic_knobs(f: &FileVerify) -> Option<&'static str> {
    [
        ("algorithm", f.algorithm.is_some()),
        ("signature_header", f.signature_header.is_some()),
        ("signature_prefix", f.signature_prefix.is_some()),
        ("signature_encoding", f.signature_encoding.is_some()),
        ("signature_separator", f.signature_separator.is_some()),
        ("timestamp_header", f.timestamp_header.is_some()),
        ("timestamp_format", f.timestamp_format.is_some()),
        ("signed_content", f.signed_content.is_some()),
        ("secret_encoding", f.secret_encoding.is_some()),
        ("id_header", f.id_header.is_some()),
    ]
    .into_iter()
    .find_map(|(k, set)| set.then_some(k))
}

/// The scheme for `name` configured by `f`.
pub fn build(name: &str, f: &FileVerify) -> Result<Scheme, VerifyConfigError> {
    if name == "generic" {
        return generic::scheme(f);
    }
    let Some((_, make)) = PRESETS.iter().find(|(n, _)| *n == name) else {
        return Err(VerifyConfigError {
            key: "verify.scheme".into(),
            message: format!(
                "unknown scheme {name:?} (known: {})",
                known_schemes().join(", ")
            ),
        });
    };
    if let Some(knob) = generic_knobs(f) {
        return Err(VerifyConfigError {
            key: format!("verify.{knob}"),
            message: format!("only for scheme = \"generic\"; preset {name:?} fixes it"),
        });
    }
    Ok(make())
}

/// The legacy SHA-1 variant of a preset, when it has one.
pub fn legacy_sha1(name: &str) -> Option<Scheme> {
    match name {
        "github" => Some(github::legacy()),
        "meta" | "facebook" | "instagram" | "whatsapp" => Some(body_hmac::meta_legacy()),
        _ => None,
    }
}
