//! The verifier: a compiled scheme plus keys, checking requests and signing test ones.

use super::content::{self, Inputs, Signed};
use super::handshake::{Handshaker, Reply};
use super::keys::{ct_eq, ct_eq_hashed, Key, KeyEntry, MacKey, PasswordCheck};
use super::parse::{self, Candidate};
use super::remote::Certs;
use super::scheme::{self, Scheme, SigLoc, TsLoc};
use super::spec::{Alg, KeyFmt, Provider};
use crate::reject::{Reason, Rejection};
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// The parts of a request the engine reads.
pub struct RequestParts<'a> {
    /// Method, e.g. `POST`.
    pub method: &'a str,
    /// Path and query as received.
    pub path_and_query: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
}

/// What the header-only check found, carried to [`Verifier::verify`].
#[derive(Debug)]
pub struct Precheck {
    candidates: Vec<Candidate>,
    timestamp: Option<Vec<u8>>,
    legacy: bool,
    alg: Alg,
    /// No signature: the body is read only to answer a challenge (monday.com).
    unsigned_challenge: bool,
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Scheme name.
    pub scheme: &'static str,
    /// Which secret matched: its `id` or index. Never the secret.
    pub key_id: String,
    /// SHA-256 of the signature that matched: the replay key when the
    /// preset's signed bytes are unique per delivery.
    pub signature_digest: String,
}

/// What the request path does before reading the body.
#[derive(Debug)]
pub enum BeforeBody {
    /// Read the body and verify it.
    Continue(Precheck),
    /// A handshake hookgate answers itself; nothing is forwarded.
    Answer(Reply),
}

/// What the request path does once the body is read.
#[derive(Debug)]
pub enum AfterBody {
    /// The signature verified; `Some` answer: a signed handshake hookgate
    /// answers itself instead of forwarding.
    Verified(Verified, Option<Reply>),
    /// An unsigned challenge answered (see
    /// [`super::spec::Handshake::JsonChallenge`]): nothing verified, nothing forwarded.
    Challenge(Reply),
}

/// A config error inside `[route.verify]`: key path and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct VerifyConfigError {
    /// Key path below the route, e.g. `verify.secrets[1]`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Why `hookgate sign` cannot sign for a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// The replay key a route uses when `[route.replay] key` is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultKey {
    /// A delivery-id header (first present of the names), and whether the signature covers it.
    Header(Vec<HeaderName>, bool),
    /// The digest of the verified signature.
    Signature,
    /// No replay protection.
    None,
}

/// One scheme with its keys.
#[derive(Clone)]
pub(super) struct Compiled {
    pub(super) scheme: Scheme,
    pub(super) keys: Vec<KeyEntry>,
}

/// A route's verifier: built at load; only a learned handshake secret changes.
#[derive(Clone)]
pub struct Verifier {
    pub(super) primary: Compiled,
    /// GitHub/Meta legacy SHA-1 header, tried only when the primary header is absent.
    pub(super) legacy: Option<Compiled>,
    pub(super) provider: Option<&'static Provider>,
    pub(super) default_key: DefaultKey,
    pub(super) tolerance: Duration,
    pub(super) public_url: Option<String>,
    pub(super) webhook_id: Option<String>,
    pub(super) handshaker: Option<Handshaker>,
    /// Certificates fetched from the URL the message names (SNS, PayPal).
    pub(super) remote: Option<std::sync::Arc<Certs>>,
    /// Amazon SNS topics accepted.
    pub(super) topic_arns: Vec<String>,
    /// Send `X-Hookgate-Verified` upstream.
    pub forward_header: bool,
}

pub(super) fn cfg_err(key: &str, message: impl Into<String>) -> VerifyConfigError {
    VerifyConfigError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl Verifier {
    /// The scheme's name.
    pub fn scheme_name(&self) -> &'static str {
        self.primary.scheme.name
    }

    /// The preset row, `None` for `generic`.
    pub fn provider(&self) -> Option<&'static Provider> {
        self.provider
    }

    /// The timestamp tolerance, or `None` when the scheme carries no timestamp
    /// (replay protection then needs a long-lived delivery id).
    pub fn tolerance(&self) -> Option<Duration> {
        (self.primary.scheme.ts != TsLoc::None).then_some(self.tolerance)
    }

    /// The replay key used when the route does not choose one.
    pub fn default_replay_key(&self) -> &DefaultKey {
        &self.default_key
    }

    /// Is the header `name` covered by the signature?
    pub fn signs_header(&self, name: &str) -> bool {
        self.primary.scheme.signs_header(name)
    }

    /// Does the signature cover the body? Shared tokens and Basic credentials
    /// authenticate the sender but leave the body unprotected against
    /// tampering in transit (TLS is then what protects it).
    pub fn covers_body(&self) -> bool {
        self.primary.scheme.covers_body()
    }

    /// Is the signature a constant credential (a shared token, Basic
    /// credentials), the same on every delivery?
    pub fn credential_only(&self) -> bool {
        let s = &self.primary.scheme;
        matches!(s.sig, SigLoc::Token(..) | SigLoc::Basic)
            || (s.sig_in_body() && s.alg == Alg::Token)
    }

    /// Is any secret written inline in the config file?
    pub fn secrets_inline(&self) -> bool {
        self.primary.keys.iter().any(|k| k.inline)
    }

    /// Number of configured secrets.
    pub fn key_count(&self) -> usize {
        let ids: std::collections::BTreeSet<&str> =
            self.primary.keys.iter().map(|k| k.id.as_str()).collect();
        ids.len()
    }

    /// Why this route cannot queue its deliveries, when its sender needs the
    /// app's own answer (the preset row's `queueing`; `generic` can queue).
    pub fn queue_refusal(&self) -> Option<&'static str> {
        match self.provider?.queueing {
            super::spec::Queueing::Allowed => None,
            super::spec::Queueing::NeedsAppAnswer(why) => Some(why),
        }
    }

    /// The handshake this route answers, for `check`.
    pub fn handshake(&self) -> Option<&Handshaker> {
        self.handshaker.as_ref()
    }

    /// First call on the request path, before the body is read: answer a
    /// header/query-only handshake, or check the signature and timestamp
    /// headers so an unauthenticated sender cannot make hookgate buffer a body.
    pub fn before_body(
        &self,
        req: &RequestParts<'_>,
        now: SystemTime,
    ) -> Result<BeforeBody, Rejection> {
        if let Some(h) = &self.handshaker {
            let learned = self.learned();
            if let Some(answer) =
                h.before_body(req, &active(&self.primary, learned.as_deref(), now))?
            {
                return Ok(BeforeBody::Answer(answer));
            }
        }
        match self.precheck(req, now) {
            Err(r)
                if r.reason == Reason::SignatureMissing
                    && self
                        .handshaker
                        .as_ref()
                        .is_some_and(|h| h.reads_unsigned_challenge(req)) =>
            {
                Ok(BeforeBody::Continue(Precheck {
                    candidates: Vec::new(),
                    timestamp: None,
                    legacy: false,
                    alg: self.primary.scheme.alg,
                    unsigned_challenge: true,
                }))
            }
            other => other.map(BeforeBody::Continue),
        }
    }

    /// Second call, once the body is read: verify it, then answer a signed
    /// handshake (Zoom, Twitch, Slack, Discord, Okta, SNS) if this is one.
    pub async fn after_body(
        &self,
        pre: &Precheck,
        req: &RequestParts<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<AfterBody, Rejection> {
        if pre.unsigned_challenge {
            let answer = match &self.handshaker {
                Some(h) => h.json_challenge(body)?,
                None => None,
            };
            return answer.map(AfterBody::Challenge).ok_or_else(unsigned);
        }
        if let Some(certs) = &self.remote {
            // Fetch (or find cached) the certificate the message names, so
            // the synchronous check below has it.
            certs.key(&self.cert_url(req, body)?).await?;
        }
        let verified = self.verify(pre, req, body, now)?;
        let learned = self.learned();
        let answer = match &self.handshaker {
            Some(h) => {
                h.after_verify(
                    req,
                    body,
                    &active(&self.primary, learned.as_deref(), now),
                    &verified,
                    self.remote.as_deref(),
                )
                .await?
            }
            None => None,
        };
        Ok(AfterBody::Verified(verified, answer))
    }

    /// Header-only checks, before the body is read: the signature header is
    /// present and well-formed, the timestamp present, parseable and fresh.
    pub fn precheck(&self, req: &RequestParts<'_>, now: SystemTime) -> Result<Precheck, Rejection> {
        match self.precheck_one(&self.primary.scheme, req, now) {
            Err(r) if r.reason == Reason::SignatureMissing && self.legacy.is_some() => {
                let legacy = self.legacy.as_ref().map(|l| &l.scheme);
                let mut p = legacy
                    .map(|s| self.precheck_one(s, req, now))
                    .unwrap_or(Err(r))?;
                p.legacy = true;
                Ok(p)
            }
            other => other,
        }
    }

    fn precheck_one(
        &self,
        s: &Scheme,
        req: &RequestParts<'_>,
        now: SystemTime,
    ) -> Result<Precheck, Rejection> {
        let alg = self.request_alg(s, req.headers)?;
        let mut candidates = match &s.sig {
            SigLoc::Jwt(names, prefix, _) => {
                vec![super::jwt::candidate(req.headers, names, prefix)?]
            }
            loc => parse::signatures(req.headers, loc, s.enc)?,
        };
        let timestamp = match &s.ts {
            TsLoc::Header(names, fmt) => {
                let raw = parse::single(req.headers, names, Reason::TimestampMissing)?.to_vec();
                parse::fresh(parse::timestamp(&raw, *fmt)?, now, self.tolerance)?;
                Some(raw)
            }
            TsLoc::Pair(fmt) => {
                // Each set of pairs carries its own timestamp: keep the fresh ones.
                let mut last = None;
                candidates.retain(|c| {
                    let r = c.ts.as_deref().map(|t| {
                        parse::timestamp(t, *fmt).and_then(|t| parse::fresh(t, now, self.tolerance))
                    });
                    match r {
                        Some(Ok(())) => true,
                        Some(Err(e)) => {
                            last = Some(e);
                            false
                        }
                        None => false,
                    }
                });
                if candidates.is_empty() {
                    return Err(last.unwrap_or_else(|| {
                        Rejection::new(Reason::TimestampMissing, "no timestamp pair")
                    }));
                }
                None
            }
            TsLoc::None | TsLoc::Body(..) | TsLoc::Jwt => None,
        };
        Ok(Precheck {
            candidates,
            timestamp,
            legacy: false,
            alg,
            unsigned_challenge: false,
        })
    }

    /// The algorithm for this request: the scheme's, or the one its settings header names (Twilio).
    fn request_alg(&self, s: &Scheme, headers: &HeaderMap) -> Result<Alg, Rejection> {
        let Some(sw) = &s.alg_switch else {
            return Ok(s.alg);
        };
        let Some(v) = headers.get(sw.header) else {
            return Ok(s.alg);
        };
        let named = if sw.key.is_empty() {
            Some(parse::trim(v.as_bytes()))
        } else {
            parse::pairs(v.as_bytes(), ',')
                .find(|(k, _)| *k == sw.key.as_bytes())
                .map(|(_, v)| v)
        };
        let Some(named) = named.filter(|v| !v.is_empty()) else {
            return Ok(s.alg);
        };
        sw.choices
            .iter()
            .find(|(label, _)| label.as_bytes().eq_ignore_ascii_case(named))
            .map(|(_, alg)| *alg)
            .ok_or_else(|| {
                Rejection::new(
                    Reason::SignatureMalformed,
                    format!("{}: unsupported algorithm", sw.header),
                )
            })
    }

    /// A secret learned through a handshake (Asana), held for one request.
    fn learned(&self) -> Option<std::sync::Arc<KeyEntry>> {
        self.handshaker.as_ref().and_then(|h| h.learned_key())
    }

    /// Check the signature over the exact body bytes. Any active key may match any candidate.
    pub fn verify(
        &self,
        pre: &Precheck,
        req: &RequestParts<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        if pre.unsigned_challenge {
            return Err(unsigned());
        }
        let c = match (&self.legacy, pre.legacy) {
            (Some(l), true) => l,
            _ => &self.primary,
        };
        let s = &c.scheme;
        let learned = if pre.legacy { None } else { self.learned() };
        let keys = active(c, learned.as_deref(), now);
        if keys.is_empty() && s.key != KeyFmt::Remote {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                "no secret is inside its validity window",
            ));
        }
        let body_candidates;
        let candidates = if let SigLoc::Body(path) = &s.sig {
            body_candidates = self.body_signature(s, path, body, now)?;
            &body_candidates
        } else {
            &pre.candidates
        };
        if let SigLoc::Jwt(..) = &s.sig {
            let (key_id, digest) =
                super::jwt::verify(s, &keys, candidates, body, now, self.tolerance)?;
            return Ok(Verified {
                scheme: s.name,
                key_id,
                signature_digest: digest,
            });
        }
        if let Some(certs) = &self.remote {
            return self.verify_remote(certs, s, pre, req, candidates, body);
        }
        if s.sig_in_body() && s.alg == Alg::Token {
            // Every item of a batch carries the token: all must match, or one
            // forged item could ride along with a genuine one.
            let key = keys
                .iter()
                .find(|k| {
                    candidates
                        .iter()
                        .all(|c| key_matches(&k.key, pre.alg, &Signed::NOTHING, &c.sig))
                })
                .ok_or_else(|| {
                    Rejection::new(Reason::SignatureInvalid, "body token does not match")
                })?;
            return Ok(Verified {
                scheme: s.name,
                key_id: key.id.clone(),
                signature_digest: String::new(),
            });
        }
        // One empty URL for the schemes that sign none, without a Vec per request.
        const NO_URL: &[String] = &[String::new()];
        let variants;
        let urls = match (&self.public_url, s.needs_public_url()) {
            (Some(base), true) => {
                variants = content::url_variants(&format!("{base}{}", req.path_and_query));
                &variants[..]
            }
            _ => NO_URL,
        };
        for cand in candidates {
            let ts = cand.ts.as_deref().or(pre.timestamp.as_deref());
            for url in urls {
                let signed = self.signed_content(s, req, body, ts, url)?;
                if let Some(k) = keys
                    .iter()
                    .find(|k| key_matches(&k.key, pre.alg, &signed, &cand.sig))
                {
                    self.body_timestamp(s, body, now)?;
                    return Ok(Verified {
                        scheme: s.name,
                        key_id: k.id.clone(),
                        signature_digest: parse::hex_lower(&Sha256::digest(&cand.sig)),
                    });
                }
            }
        }
        Err(Rejection::new(
            Reason::SignatureInvalid,
            format!(
                "no match: {} candidate(s), {} active key(s)",
                candidates.len(),
                keys.len()
            ),
        ))
    }

    /// The bytes the sender signed, for one timestamp and URL variant.
    fn signed_content<'a>(
        &'a self,
        s: &'a Scheme,
        req: &RequestParts<'a>,
        body: &'a [u8],
        ts: Option<&'a [u8]>,
        url: &'a str,
    ) -> Result<Signed<'a>, Rejection> {
        content::build(
            s,
            &Inputs {
                method: req.method,
                path_and_query: req.path_and_query,
                headers: req.headers,
                body,
                ts,
                url,
                webhook_id: self.webhook_id.as_deref(),
            },
        )
    }

    /// The certificate URL the message names.
    fn cert_url(&self, req: &RequestParts<'_>, body: &[u8]) -> Result<String, Rejection> {
        let from = self
            .primary
            .scheme
            .remote
            .map(|r| r.url_from)
            .unwrap_or_default();
        let url = match from.strip_prefix("body:") {
            Some(field) => parse::body_field_json(body, field),
            None => req
                .headers
                .get(from)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        url.ok_or_else(|| Rejection::new(Reason::SignatureMissing, "no certificate URL"))
    }

    /// RSA signatures under a fetched certificate (SNS, PayPal); SNS messages
    /// must also come from an accepted topic.
    fn verify_remote(
        &self,
        certs: &Certs,
        s: &Scheme,
        pre: &Precheck,
        req: &RequestParts<'_>,
        candidates: &[Candidate],
        body: &[u8],
    ) -> Result<Verified, Rejection> {
        let url = self.cert_url(req, body)?;
        certs.allowed(&url)?;
        let key = certs.cached(&url).ok_or_else(|| {
            Rejection::new(Reason::SigningKeyUnavailable, "certificate not fetched")
        })?;
        let sns = s.content.contains(&scheme::Part::Sns);
        let alg = if sns {
            content::sns_alg(body)?
        } else {
            pre.alg
        };
        let signed = self.signed_content(s, req, body, None, "")?;
        let cand = candidates
            .iter()
            .find(|c| key.verifies(alg, &signed.joined(), &c.sig))
            .ok_or_else(|| {
                Rejection::new(Reason::SignatureInvalid, "RSA signature does not match")
            })?;
        if sns {
            let topic = parse::body_field_json(body, "TopicArn").unwrap_or_default();
            if !self.topic_arns.contains(&topic) {
                return Err(Rejection::new(
                    Reason::SignatureInvalid,
                    "TopicArn is not in topic_arns",
                ));
            }
        }
        Ok(Verified {
            scheme: s.name,
            key_id: "certificate".into(),
            signature_digest: parse::hex_lower(&Sha256::digest(&cand.sig)),
        })
    }

    /// A signature carried in the body (Mailgun): its timestamp is checked
    /// first, since it is what the signature covers instead of the body.
    fn body_signature(
        &self,
        s: &Scheme,
        path: &[String],
        body: &[u8],
        now: SystemTime,
    ) -> Result<Vec<Candidate>, Rejection> {
        let raw = parse::body_fields(body, path).ok_or_else(|| {
            Rejection::new(
                Reason::SignatureMissing,
                format!("body has no {}", path.join(".")),
            )
        })?;
        if s.alg == Alg::Token {
            // A token in every item of the body (Microsoft Graph's clientState).
            return Ok(raw
                .into_iter()
                .map(|t| Candidate {
                    sig: t.into_bytes(),
                    ts: None,
                })
                .collect());
        }
        let sig = raw
            .first()
            .and_then(|r| parse::decode(s.enc, r.as_bytes()))
            .ok_or_else(|| {
                Rejection::new(Reason::SignatureMalformed, "body signature is not valid")
            })?;
        let ts = match &s.ts {
            TsLoc::Body(tpath, fmt) => {
                let t = parse::body_field(body, tpath).ok_or_else(|| {
                    Rejection::new(Reason::TimestampMissing, "body has no timestamp")
                })?;
                parse::fresh(parse::timestamp(t.as_bytes(), *fmt)?, now, self.tolerance)?;
                Some(t.into_bytes())
            }
            _ => None,
        };
        Ok(vec![Candidate { sig, ts }])
    }

    /// A timestamp inside a signed body (Linear), read only after the
    /// signature matched: the body is now known to be the sender's.
    fn body_timestamp(&self, s: &Scheme, body: &[u8], now: SystemTime) -> Result<(), Rejection> {
        let TsLoc::Body(path, fmt) = &s.ts else {
            return Ok(());
        };
        if s.sig_in_body() {
            return Ok(()); // checked before the signature
        }
        let t = parse::body_field(body, path).ok_or_else(|| {
            Rejection::new(
                Reason::TimestampMissing,
                format!("body has no {}", path.join(".")),
            )
        })?;
        parse::fresh(parse::timestamp(t.as_bytes(), *fmt)?, now, self.tolerance)
    }

    /// Headers a provider would send for `body` at `now` (for `hookgate sign` and tests).
    pub fn sign(
        &self,
        req: &RequestParts<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Vec<(String, String)>, SignError> {
        let learned = self.learned();
        let keys = active(&self.primary, learned.as_deref(), now);
        let key = keys
            .first()
            .ok_or_else(|| SignError("no active secret".into()))?;
        let url = self
            .public_url
            .as_ref()
            .map(|b| format!("{b}{}", req.path_and_query));
        super::signer::sign(
            &self.primary.scheme,
            &key.key,
            &super::signer::Context {
                req,
                body,
                now,
                url: url.as_deref().unwrap_or_default(),
                webhook_id: self.webhook_id.as_deref(),
                tolerance: self.tolerance,
            },
        )
    }
}

/// A request without a signature that is not the challenge it was read for.
fn unsigned() -> Rejection {
    Rejection::new(
        Reason::SignatureMissing,
        "no signature, and the body is not a challenge",
    )
}

/// The keys of `c` inside their validity window, then `learned`.
fn active<'a>(
    c: &'a Compiled,
    learned: Option<&'a KeyEntry>,
    now: SystemTime,
) -> Vec<&'a KeyEntry> {
    c.keys
        .iter()
        .filter(|k| k.active(now))
        .chain(learned)
        .collect()
}

/// Does `key` validate `candidate` over `content` with `alg`?
fn key_matches(key: &Key, alg: Alg, content: &Signed<'_>, candidate: &[u8]) -> bool {
    match key {
        Key::Mac(m, raw) => {
            let other;
            let mac = if same_alg(m, alg) {
                m
            } else {
                match MacKey::new(alg, raw.expose()) {
                    Some(k) => {
                        other = k;
                        &other
                    }
                    None => return false,
                }
            };
            ct_eq(&mac.compute(&content.parts()), candidate)
        }
        Key::Ed25519(vk, _) => {
            let Ok(sig) = ed25519_dalek::Signature::from_slice(candidate) else {
                return false;
            };
            vk.verify_strict(&content.joined(), &sig).is_ok()
        }
        Key::EcdsaP256(vk, _) => {
            use p256::ecdsa::signature::Verifier as _;
            let Ok(sig) = p256::ecdsa::Signature::from_der(candidate) else {
                return false;
            };
            vk.verify(&content.joined(), &sig).is_ok()
        }
        // A configured RSA key verifies RSA-PSS here and RS256 JWTs in `jwt`.
        Key::Rsa(der) => {
            alg == Alg::RsaPssSha256
                && ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PSS_2048_8192_SHA256,
                    der,
                )
                .verify(&content.joined(), candidate)
                .is_ok()
        }
        Key::Token(t) => ct_eq_hashed(t.expose(), candidate),
        Key::Basic { user, password } => {
            let Some(colon) = candidate.iter().position(|b| *b == b':') else {
                return false;
            };
            let (u, p) = (&candidate[..colon], &candidate[colon + 1..]);
            let user_ok = ct_eq_hashed(user.expose(), u);
            let pass_ok = match password {
                PasswordCheck::Plain(s) => ct_eq_hashed(s.expose(), p),
                PasswordCheck::Sha256(h) => ct_eq(&Sha256::digest(p), h),
            };
            user_ok & pass_ok
        }
    }
}

fn same_alg(m: &MacKey, alg: Alg) -> bool {
    matches!(
        (m, alg),
        (MacKey::Sha1(_), Alg::HmacSha1)
            | (MacKey::Sha256(_), Alg::HmacSha256 | Alg::JwtHs256)
            | (MacKey::Sha512(_), Alg::HmacSha512)
    )
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.primary.scheme.name)
            .field("keys", &self.primary.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}
