//! Signature verification: one engine, providers as data.
//!
//! A provider is a [`Scheme`]: what bytes are signed ([`Part`]s), with which
//! [`Algorithm`], where the signature and timestamp live and how they are
//! encoded, and how the configured secret is turned into a key. The presets
//! (one small file per provider family, e.g. [`stripe`], [`github`]) are
//! tables of those values; [`generic`] exposes the same knobs in TOML.
//!
//! Verification runs in two steps so an unauthenticated sender cannot make
//! hookgate buffer a body: [`Verifier::precheck`] looks only at headers
//! (presence, syntax, timestamp freshness) before the body is read, and
//! [`Verifier::verify`] checks the signature over the exact received bytes
//! before anything is forwarded. Comparisons are constant-time; no rejection
//! detail ever contains an expected signature or a secret.

mod engine;
mod keys;
mod parse;
mod presets;

pub mod basic_auth;
pub mod body_hmac;
pub mod discord;
pub mod generic;
pub mod github;
pub mod gitlab;
pub mod hubspot;
pub mod paddle;
pub mod sendgrid;
pub mod slack;
pub mod square;
pub mod standard_webhooks;
pub mod stripe;
pub mod twilio;
pub mod twitch;

#[cfg(test)]
mod tests;

pub use engine::{Precheck, RequestParts, SignError, Verified, Verifier, VerifyConfigError};
pub use presets::known_schemes;

use crate::config::units::Dur;
use http::HeaderName;
use serde::Deserialize;
use std::time::Duration;

/// MAC or signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC with SHA-1 (Twilio, Intercom, legacy GitHub/Meta).
    HmacSha1,
    /// HMAC with SHA-256 (most providers).
    HmacSha256,
    /// HMAC with SHA-512.
    HmacSha512,
    /// Ed25519 signature with a public key (Discord, Standard Webhooks v1a).
    Ed25519,
    /// ECDSA P-256 over SHA-256, DER signature (SendGrid).
    EcdsaP256,
    /// A shared token sent verbatim in a header (GitLab, Okta-style).
    SharedToken,
    /// HTTP Basic authentication (Postmark, basic-auth).
    BasicAuth,
}

/// How signature bytes are written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64 (padding optional).
    Base64,
}

/// Where the signature is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigLocation {
    /// One header holding `prefix` + signature, e.g. `sha256=<hex>`.
    Header {
        /// Header name.
        name: HeaderName,
        /// Literal prefix (may be empty).
        prefix: &'static str,
    },
    /// One header holding a list of `prefix` + signature items separated by `sep`;
    /// items with another prefix (another version) are ignored.
    List {
        /// Header name.
        name: HeaderName,
        /// Item separator.
        sep: char,
        /// Prefix of the items hookgate checks (`v1,`, `v1=`).
        prefix: &'static str,
    },
    /// One header of `key=value` pairs separated by `sep` (Stripe `t=..,v1=..`,
    /// Paddle `ts=..;h1=..`); every pair named `sig_key` is a candidate.
    Pairs {
        /// Header name.
        name: HeaderName,
        /// Pair separator.
        sep: char,
        /// Key of signature pairs.
        sig_key: &'static str,
    },
    /// Numbered headers `prefix1`, `prefix2`, ... (DocuSign: one per key).
    Numbered {
        /// Header name without the number.
        prefix: &'static str,
    },
    /// The shared token in a header, compared whole.
    Token {
        /// Header name.
        name: HeaderName,
    },
    /// `Authorization: Basic ...`.
    Authorization,
}

/// Where the timestamp is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsLocation {
    /// The scheme has no timestamp: replay protection relies on delivery ids.
    None,
    /// Its own header.
    Header(HeaderName),
    /// A pair in the [`SigLocation::Pairs`] header (`t`, `ts`).
    Pair(&'static str),
}

/// How the timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsFormat {
    /// Unix seconds.
    UnixSeconds,
    /// Unix milliseconds.
    UnixMillis,
    /// RFC 3339 (Twitch).
    Rfc3339,
}

/// One piece of the signed content, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal bytes (separators like `.`, `:`, `v0:`).
    Lit(String),
    /// The raw body.
    Body,
    /// The timestamp exactly as sent.
    Timestamp,
    /// A request header's value exactly as sent (e.g. `webhook-id`).
    Header(HeaderName),
    /// The request method.
    Method,
    /// Path and query as received.
    Path,
    /// `public_url` + path and query: the URL the sender signed.
    Url,
    /// Twilio: form parameters sorted by name then value, each `name` + `value`.
    SortedFormParams,
}

/// How a configured secret becomes key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// The string's UTF-8 bytes (Stripe keeps its `whsec_` prefix).
    Raw,
    /// Base64-decoded.
    Base64,
    /// Standard Webhooks: `whsec_` stripped, rest base64 (padding optional).
    Whsec,
    /// Hex bytes.
    Hex,
    /// Ed25519 public key: 64 hex chars, `whpk_`+base64, or a `whsk_` signing key.
    Ed25519,
    /// ECDSA P-256 public key: base64 DER SubjectPublicKeyInfo, or PEM.
    EcdsaP256,
    /// `user:password` or `user:sha256:<hex of password>`.
    BasicCredentials,
}

/// A provider scheme: everything the engine needs to check one request.
#[derive(Debug, Clone)]
pub struct Scheme {
    /// Preset name, reported upstream and in metrics.
    pub name: &'static str,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Signature encoding.
    pub encoding: Encoding,
    /// Where the signature is.
    pub signature: SigLocation,
    /// Where the timestamp is.
    pub timestamp: TsLocation,
    /// Timestamp format.
    pub ts_format: TsFormat,
    /// What is signed.
    pub content: Vec<Part>,
    /// How secrets become keys.
    pub key_format: KeyFormat,
    /// The delivery-id header usable as a replay key.
    pub replay_header: Option<&'static str>,
}

impl Scheme {
    /// Does the signed content include the sender's public URL?
    pub fn needs_public_url(&self) -> bool {
        self.content.contains(&Part::Url)
    }
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
    /// Allowed clock difference, both directions (default 5m).
    pub tolerance: Option<Dur>,
    /// The URL the sender signs (Twilio, Square, HubSpot): scheme://host[:port], path is appended.
    pub public_url: Option<String>,
    /// GitHub/Meta: also accept the legacy SHA-1 `X-Hub-Signature` when SHA-256 is absent.
    pub legacy_sha1: Option<bool>,
    /// Send `X-Hookgate-Verified: <scheme>; key=<id>` upstream (default true).
    pub forward_header: Option<bool>,
    /// generic: `hmac-sha1`, `hmac-sha256`, `hmac-sha512`, `ed25519`, `token`.
    pub algorithm: Option<String>,
    /// generic: signature header name.
    pub signature_header: Option<String>,
    /// generic: literal prefix before the signature (`sha256=`).
    pub signature_prefix: Option<String>,
    /// generic: `hex` or `base64`.
    pub signature_encoding: Option<String>,
    /// generic: separator when the header holds several signatures.
    pub signature_separator: Option<String>,
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

/// Default timestamp tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Largest signature or timestamp header value looked at.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Most signature candidates tried per request.
pub const MAX_CANDIDATES: usize = 16;
