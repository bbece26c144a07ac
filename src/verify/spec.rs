//! The language a provider row is written in: plain data, no behaviour.
//!
//! A [`Spec`] says where a signature and timestamp live, what bytes are signed
//! (a template such as `"{timestamp}.{body}"`), with which [`Alg`] and how the
//! secret becomes a key. The presets in [`super::providers`] are `static`
//! rows of it; `scheme = "generic"` builds the same type from TOML, so a
//! preset is exactly a set of generic knobs and both go through one compiler
//! ([`super::scheme`]) and one engine ([`super::engine`]).
//!
//! Header names may list alternatives separated by `|` (the first present is
//! used): Shopify's Events API drops the `X-` prefix, Svix senders fall back to
//! `webhook-*` names.

/// The strings of a spec: `&'static str` in the table (so rows are `Copy`
/// and can be built in `const`), `String` when built from TOML.
pub trait Text: AsRef<str> + Clone + std::fmt::Debug + PartialEq {}
impl<T: AsRef<str> + Clone + std::fmt::Debug + PartialEq> Text for T {}

/// MAC or signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// HMAC with SHA-1.
    HmacSha1,
    /// HMAC with SHA-256.
    HmacSha256,
    /// HMAC with SHA-512.
    HmacSha512,
    /// Ed25519 with a public key.
    Ed25519,
    /// ECDSA P-256 over SHA-256, DER signature.
    EcdsaP256,
    /// RSA PKCS#1 v1.5 with SHA-1 (Amazon SNS `SignatureVersion` 1).
    RsaSha1,
    /// RSA PKCS#1 v1.5 with SHA-256 (SNS `SignatureVersion` 2, PayPal).
    RsaSha256,
    /// RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt, with a
    /// configured public key (`generic`). No SHA-1 variant: ring verifies PSS
    /// only with SHA-256 and up.
    RsaPssSha256,
    /// A shared token sent verbatim.
    Token,
    /// HTTP Basic credentials.
    Basic,
    /// A JWT signed with HS256 over the shared secret.
    JwtHs256,
    /// A JWT signed with RS256 (a configured RSA public key or JWKS).
    JwtRs256,
    /// A JWT signed with ES256 (a configured P-256 public key or JWKS).
    JwtEs256,
}

impl Alg {
    /// Label used in docs and the `generic` knob.
    pub fn label(self) -> &'static str {
        match self {
            Alg::HmacSha1 => "hmac-sha1",
            Alg::HmacSha256 => "hmac-sha256",
            Alg::HmacSha512 => "hmac-sha512",
            Alg::Ed25519 => "ed25519",
            Alg::EcdsaP256 => "ecdsa-p256",
            Alg::RsaSha1 => "rsa-sha1",
            Alg::RsaSha256 => "rsa-sha256",
            Alg::RsaPssSha256 => "rsa-pss-sha256",
            Alg::Token => "token",
            Alg::Basic => "basic",
            Alg::JwtHs256 => "jwt-hs256",
            Alg::JwtRs256 => "jwt-rs256",
            Alg::JwtEs256 => "jwt-es256",
        }
    }

    /// Is this a JWT algorithm?
    pub fn is_jwt(self) -> bool {
        matches!(self, Alg::JwtHs256 | Alg::JwtRs256 | Alg::JwtEs256)
    }
}

/// How signature bytes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// Hex, either case.
    Hex,
    /// Standard base64, padding optional.
    Base64,
    /// URL-safe base64, padding optional.
    Base64Url,
}

impl Enc {
    /// Label used in docs and the `generic` knob.
    pub fn label(self) -> &'static str {
        match self {
            Enc::Hex => "hex",
            Enc::Base64 => "base64",
            Enc::Base64Url => "base64url",
        }
    }
}

/// Where the signature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig<S = &'static str> {
    /// One header holding `prefix` + signature.
    Header {
        /// Header name (`a|b`: alternatives).
        name: S,
        /// Literal prefix, may be empty.
        prefix: S,
    },
    /// One header holding several `prefix` + signature items separated by
    /// `sep`; items with another prefix (another version) are ignored.
    List {
        /// Header name.
        name: S,
        /// Item separator.
        sep: char,
        /// Prefix of the items checked (`v1,`, `v1=`).
        prefix: S,
    },
    /// One header of `key=value` pairs separated by `sep` (Stripe
    /// `t=..,v1=..`, Paddle `ts=..;h1=..`). With `groups`, the header holds
    /// several such sets separated by that character, each with its own
    /// timestamp (Persona during secret rotation).
    Pairs {
        /// Header name.
        name: S,
        /// Pair separator.
        sep: char,
        /// Key of signature pairs (`v1`).
        key: S,
        /// Key of the timestamp pair (`t`), empty when none.
        ts_key: S,
        /// Separator between sets of pairs.
        groups: Option<char>,
    },
    /// Several headers with one signature each: a comma-separated list of
    /// names, or `prefix*` for numbered headers `prefix1`..`prefix16`.
    Each {
        /// `a,b` or `x-docusign-signature-*`.
        names: S,
    },
    /// A shared token after `prefix`, compared whole.
    Token {
        /// Header name.
        name: S,
        /// Literal prefix (`Bearer `), may be empty.
        prefix: S,
    },
    /// `Authorization: Basic ...`.
    Basic,
    /// A string field of the JSON (or form) body (Mailgun, Amazon SNS).
    Body {
        /// Dotted path (`signature.signature`).
        path: S,
    },
    /// A JWT after `prefix` in a header; `body_hash` names the claim that
    /// carries the body's SHA-256 (hex or base64url), when the provider has one.
    Jwt {
        /// Header name.
        name: S,
        /// Literal prefix (`Bearer `), may be empty.
        prefix: S,
        /// Claim holding the SHA-256 of the body, and its encoding.
        body_hash: Option<(S, Enc)>,
    },
}

/// How a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsFmt {
    /// Unix seconds.
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// RFC 3339 / ISO 8601 (a missing zone means UTC).
    Rfc3339,
}

impl TsFmt {
    /// Label used in docs and the `generic` knob.
    pub fn label(self) -> &'static str {
        match self {
            TsFmt::Unix => "unix",
            TsFmt::UnixMs => "unix-ms",
            TsFmt::Rfc3339 => "rfc3339",
        }
    }
}

/// Where the timestamp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ts<S = &'static str> {
    /// None: replay protection relies on delivery ids.
    None,
    /// Its own header.
    Header {
        /// Header name.
        name: S,
        /// Format.
        fmt: TsFmt,
    },
    /// The `ts_key` pair of a [`Sig::Pairs`] header.
    Pair {
        /// Format.
        fmt: TsFmt,
    },
    /// A field of the JSON body. Read only after the signature verified
    /// (Linear) or, when the signature itself is in the body, before (Mailgun).
    Body {
        /// Dotted path.
        path: S,
        /// Format.
        fmt: TsFmt,
    },
    /// The JWT's `iat`/`exp` claims.
    Jwt,
}

/// How a configured secret becomes key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFmt {
    /// The string's UTF-8 bytes.
    Raw,
    /// Base64-decoded.
    Base64,
    /// `whsec_` stripped, the rest base64 (Standard Webhooks).
    Whsec,
    /// Two keys, as Polar's SDK tries: the string's UTF-8 bytes, and its
    /// base64 decoding (`whsec_` stripped) when it decodes.
    RawAndBase64,
    /// Hex-decoded.
    Hex,
    /// Ed25519 public key (hex, `whpk_`) or signing key (`whsk_`).
    Ed25519,
    /// ECDSA P-256 public key (base64 DER SPKI or PEM), or a PEM private key for signing tests.
    EcdsaP256,
    /// `user:password` or `user:sha256:<hex>`.
    Basic,
    /// No configured secret: the key comes from a certificate URL in the message.
    Remote,
    /// A PEM public key (RSA, or P-256 where a PEM private key also signs
    /// tests), or the keys of a `jwks_file`.
    Jwk,
}

/// A header that picks the algorithm per request (Twilio's
/// `X-Twilio-Webhooks-Signature-Settings: key=..,algorithm=HMAC_SHA256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgSwitch {
    /// Header name.
    pub header: &'static str,
    /// Pair key naming the algorithm; empty: the whole header value names it (PayPal).
    pub key: &'static str,
    /// Accepted values (compared case-insensitively) and what they select.
    pub choices: &'static [(&'static str, Alg)],
}

/// A certificate fetched from a URL the message names (Amazon SNS
/// `SigningCertURL`, PayPal `PAYPAL-CERT-URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteCert {
    /// Where the URL is: a header name, or `body:<path>`.
    pub url_from: &'static str,
    /// Default allowed hosts (`*` matches one DNS label).
    pub hosts: &'static [&'static str],
}

/// A whole signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec<S = &'static str> {
    /// Algorithm.
    pub alg: Alg,
    /// Signature encoding.
    pub enc: Enc,
    /// Where the signature is.
    pub sig: Sig<S>,
    /// Where the timestamp is.
    pub ts: Ts<S>,
    /// Template of the signed bytes: literal text with `{body}`,
    /// `{timestamp}`, `{method}`, `{path}`, `{url}`, `{header:NAME}`,
    /// `{field:PATH}`, `{form:sorted}`, `{config:webhook_id}`,
    /// `{crc32:body}`, `{sns}`.
    pub content: S,
    /// How secrets become keys.
    pub key: KeyFmt,
    /// Per-request algorithm choice.
    pub alg_switch: Option<AlgSwitch>,
    /// Key from a certificate URL.
    pub remote: Option<RemoteCert>,
}

/// Why the default replay key is what it is: a default must never make two
/// distinct real deliveries collide (see the README's provider table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// A delivery-id header the signature covers.
    SignedHeader(&'static str, &'static str),
    /// A delivery-id header the signature does not cover: unique per
    /// delivery, but a replayer can change it (`check` says so).
    Header(&'static str, &'static str),
    /// The signature's digest: the signed bytes hold something unique per
    /// delivery (an event id, a signed nonce).
    Signature(&'static str),
    /// Nothing unique per delivery is available: no replay protection by default.
    None(&'static str),
}

impl Replay {
    /// The reasoning written next to the choice.
    pub fn why(self) -> &'static str {
        match self {
            Replay::SignedHeader(_, w)
            | Replay::Header(_, w)
            | Replay::Signature(w)
            | Replay::None(w) => w,
        }
    }
}

/// Default timestamp tolerance, next to what the provider's own SDK does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tol {
    /// hookgate's default, both directions, seconds.
    pub secs: u64,
    /// What the provider's SDK or docs do.
    pub provider: &'static str,
}

/// An endpoint-verification step the gateway answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`:
    /// echo the challenge when the token matches `verify_token` (Meta); `json`
    /// answers `{"hub.challenge": ..}` instead (Strava).
    HubChallenge {
        /// Answer as JSON.
        json: bool,
    },
    /// Echo a query parameter as text (`challenge`: Dropbox, Nylas; `validationToken`: Microsoft Graph).
    QueryEcho(&'static str),
    /// Echo a request header's value as text (Worldline's endpoint verification GET).
    HeaderEcho(&'static str),
    /// Twitter/X CRC: `GET ?crc_token=..` → `{"response_token":"sha256=<b64 HMAC>"}`.
    TwitterCrc,
    /// Asana: a POST with `X-Hook-Secret` sets the route's secret; echo it.
    AsanaSecret,
    /// Zoom `endpoint.url_validation` (signed): answer `plainToken` and its HMAC.
    ZoomValidation,
    /// Twitch `webhook_callback_verification` (signed): echo `challenge`.
    TwitchChallenge,
    /// Slack `url_verification` (signed): echo `challenge`.
    SlackChallenge,
    /// Okta one-time verification (authenticated GET): `{"verification": ..}`.
    OktaChallenge,
    /// Discord PING (signed): answer `{"type":1}`.
    DiscordPing,
    /// Amazon SNS `SubscriptionConfirmation` (signed): GET `SubscribeURL` when `auto_confirm = true`.
    SnsSubscribe,
    /// Mandrill and Trello check a new URL with `HEAD` and want a 200 (Mandrill
    /// otherwise posts a test event signed with the public key `test-webhook`).
    /// Answered with an empty 200: it grants nothing.
    HeadOk,
    /// A POST carrying a challenge in `header`, answered 200 with the value in
    /// `reply_header` and as the JSON field `json_field` (Smartsheet, when a
    /// webhook is enabled and again every 100 callbacks). Answered before the
    /// body: the provider does not document signing it, and the echo grants nothing.
    HeaderChallenge {
        /// Request header holding the challenge.
        header: &'static str,
        /// Response header echoing it.
        reply_header: &'static str,
        /// JSON field of the response body echoing it.
        json_field: &'static str,
    },
    /// A POST whose whole JSON body is `{"challenge": ..}`, echoed as the same
    /// JSON (monday.com, when a webhook is created). A request carrying the
    /// scheme's signature is verified first; one carrying none is read (at
    /// most [`MAX_CHALLENGE_BODY`] bytes) and answered only when it is exactly
    /// that object, since the provider does not document signing it.
    JsonChallenge,
}

/// Largest body read without a signature, for a [`Handshake::JsonChallenge`]:
/// a challenge object and nothing else.
pub const MAX_CHALLENGE_BODY: u64 = 2048;

/// Can a route verified by this preset queue its deliveries (`[route.delivery]
/// mode = "queue"`)? A queue answers the sender itself, with a 2xx that
/// carries nothing from the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queueing {
    /// The sender needs only a 2xx.
    Allowed,
    /// The sender uses the app's own response: why (`check` says it).
    NeedsAppAnswer(&'static str),
}

/// One provider: a row of the table.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Preset name (`scheme = "..."`).
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    /// Other accepted names for the same preset.
    pub aliases: &'static [&'static str],
    /// The scheme.
    pub spec: Spec,
    /// The legacy scheme accepted with `legacy_sha1 = true` when the main header is absent.
    pub legacy: Option<&'static Spec>,
    /// Timestamp tolerance (ignored when the scheme has no timestamp).
    pub tol: Tol,
    /// Default replay key and why.
    pub replay: Replay,
    /// Endpoint verification answered by the gateway.
    pub handshake: Option<Handshake>,
    /// Whether its deliveries can be queued.
    pub queueing: Queueing,
    /// Where the scheme is documented.
    pub docs: &'static str,
    /// What the preset is tested against.
    pub vector: &'static str,
}
