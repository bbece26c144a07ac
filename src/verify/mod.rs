//! Signature verification: one engine, providers as data.
//!
//! A provider is a row of [`providers::PROVIDERS`]: a [`spec::Spec`] (where
//! the signature and timestamp are, what bytes are signed, the algorithm and
//! how the secret becomes a key) plus its default tolerance, default replay
//! key with its reason, handshake, documentation and test source. `generic`
//! builds the same `Spec` from TOML. [`scheme`] compiles either once per
//! route; [`engine`] runs every family; [`handshake`] answers endpoint
//! verification.
//!
//! The request path calls the engine twice so an unauthenticated sender
//! cannot make hookgate buffer a body: [`Verifier::before_body`] looks only at
//! the request line and headers (answering query/header handshakes, or
//! checking signature syntax and timestamp freshness), and
//! [`Verifier::after_body`] checks the signature over the exact received
//! bytes, then answers signed handshakes. Comparisons are constant-time; no
//! rejection detail ever contains an expected signature or a secret.

mod build;
mod content;
mod engine;
mod generic;
mod handshake;
mod jwt;
mod keys;
mod parse;
pub mod providers;
mod remote;
pub mod scheme;
mod signer;
pub mod spec;

#[cfg(test)]
mod tests;

pub use engine::{
    AfterBody, BeforeBody, DefaultKey, Precheck, RequestParts, SignError, Verified, Verifier,
    VerifyConfigError,
};
pub use handshake::{Handshaker, Reply};

use crate::config::units::Dur;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Names accepted as `scheme = "..."`: presets, their aliases, and `generic`.
pub fn known_schemes() -> Vec<&'static str> {
    providers::PROVIDERS
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
        .chain(["generic"])
        .collect()
}

/// `[route.verify]` as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileVerify {
    /// Preset name or `generic`.
    pub scheme: toml::Spanned<String>,
    /// Secrets or public keys; any one may match (rotation).
    #[serde(default)]
    pub secrets: Vec<toml::Spanned<FileSecret>>,
    /// Allowed clock difference, both directions (default: the preset's).
    pub tolerance: Option<Dur>,
    /// The URL the sender signs (Twilio, Square, HubSpot): scheme://host[:port], path is appended.
    pub public_url: Option<String>,
    /// GitHub/Meta: also accept the legacy SHA-1 `X-Hub-Signature` when SHA-256 is absent.
    pub legacy_sha1: Option<bool>,
    /// Send `X-Hookgate-Verified: <scheme>; key=<id>` upstream (default true).
    pub forward_header: Option<bool>,
    /// Answer the preset's endpoint-verification handshake (default true); false forwards it.
    pub handshake: Option<bool>,
    /// Meta/Strava `hub.verify_token`: `env:NAME`, `file:path` or a literal.
    pub verify_token: Option<String>,
    /// Asana: directory of the file that keeps the secret the `X-Hook-Secret` handshake sent.
    pub state_dir: Option<PathBuf>,
    /// Amazon SNS: confirm a `SubscriptionConfirmation` by fetching its `SubscribeURL` (default false: forward it).
    pub auto_confirm: Option<bool>,
    /// Amazon SNS: the topic ARNs this route accepts (required: any AWS account can sign).
    #[serde(default)]
    pub topic_arns: Vec<String>,
    /// SNS/PayPal: hosts certificates may be fetched from (`*` = one DNS label; default: the provider's).
    pub cert_url_hosts: Option<Vec<String>>,
    /// SNS/PayPal: an extra CA (PEM file) for fetching certificates (tests, TLS-intercepting proxies).
    pub cert_url_ca: Option<PathBuf>,
    /// PayPal: this webhook's id, part of what PayPal signs.
    pub webhook_id: Option<String>,
    /// RS256/ES256 JWT schemes: a JWKS file whose keys (by `kid`) verify tokens, besides `secrets`.
    pub jwks_file: Option<PathBuf>,
    /// generic: `hmac-sha1`, `hmac-sha256`, `hmac-sha512`, `ed25519`, `token`, `jwt-hs256`.
    pub algorithm: Option<String>,
    /// generic: signature header name (`A|B`: the first present).
    pub signature_header: Option<String>,
    /// generic: literal prefix before the signature (`sha256=`).
    pub signature_prefix: Option<String>,
    /// generic: `hex`, `base64` or `base64url`.
    pub signature_encoding: Option<String>,
    /// generic: separator when the header holds several signatures, or `k=v` pairs.
    pub signature_separator: Option<String>,
    /// generic: the header is `k=v` pairs; this key's values are signatures.
    pub signature_key: Option<String>,
    /// generic: the key of the timestamp pair in a pairs header.
    pub timestamp_key: Option<String>,
    /// generic: timestamp header name.
    pub timestamp_header: Option<String>,
    /// generic: `unix`, `unix-ms`, `rfc3339`.
    pub timestamp_format: Option<String>,
    /// generic: template of the signed bytes, e.g. `"{timestamp}.{method}.{path}.{header:X-Id}.{body}"`.
    pub signed_content: Option<String>,
    /// generic: `raw`, `base64`, `hex`, `whsec`.
    pub secret_encoding: Option<String>,
    /// generic: delivery-id header for replay protection.
    pub id_header: Option<String>,
}

/// A secret entry: a plain string, or a table with an id and a validity window.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileSecret {
    /// `"env:NAME"`, `"file:/path"` or a literal.
    Plain(String),
    /// `{ value = "env:NAME", id = "2025-q1", valid_from = "2025-01-01T00:00:00Z", valid_until = "..." }`
    Detailed {
        /// The secret reference.
        value: String,
        /// Name reported upstream as the key id (default: its index).
        id: Option<String>,
        /// RFC 3339 start of validity.
        valid_from: Option<String>,
        /// RFC 3339 end of validity.
        valid_until: Option<String>,
    },
}

/// Default timestamp tolerance of `generic`.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Largest signature or timestamp header value looked at.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Most signature candidates tried per request.
pub const MAX_CANDIDATES: usize = 16;
