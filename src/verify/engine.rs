//! The verifier: a scheme plus compiled keys, checking requests and signing test ones.

use super::keys::{self, ct_eq, ct_eq_hashed, Key, KeyEntry, PasswordCheck};
use super::parse::{self, Found};
use super::{
    presets, Algorithm, Encoding, FileVerify, Part, Scheme, SigLocation, TsFormat, TsLocation,
    DEFAULT_TOLERANCE,
};
use crate::reject::{Reason, Rejection};
use base64::Engine;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    candidates: Vec<Vec<u8>>,
    timestamp: Option<Vec<u8>>,
    legacy: bool,
}

impl Precheck {
    /// The raw signature material, used as a replay key digest when the
    /// provider sends no delivery id.
    pub fn signature_digest(&self) -> String {
        let mut h = Sha256::new();
        for c in &self.candidates {
            h.update(c);
        }
        hex::encode(h.finalize())
    }
}

/// A successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Scheme name.
    pub scheme: &'static str,
    /// Which secret matched: its `id` or index. Never the secret.
    pub key_id: String,
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

/// One scheme with its keys.
#[derive(Clone)]
struct Compiled {
    scheme: Scheme,
    keys: Vec<KeyEntry>,
}

/// A route's verifier: immutable, built at load.
#[derive(Clone)]
pub struct Verifier {
    primary: Compiled,
    /// GitHub/Meta legacy SHA-1 header, tried only when the primary header is absent.
    legacy: Option<Compiled>,
    tolerance: Duration,
    public_url: Option<String>,
    /// Send `X-Hookgate-Verified` upstream.
    pub forward_header: bool,
}

fn cfg_err(key: &str, message: impl Into<String>) -> VerifyConfigError {
    VerifyConfigError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl Verifier {
    /// Build from `[route.verify]`; relative `file:` secrets resolve against `base_dir`.
    pub fn from_file(f: &FileVerify, base_dir: &Path) -> Result<Verifier, VerifyConfigError> {
        let name = f.scheme.get_ref().as_str();
        let scheme = presets::build(name, f)?;
        if f.secrets.is_empty() {
            return Err(cfg_err(
                "verify.secrets",
                "at least one secret (or public key) is required",
            ));
        }
        let compile = |s: &Scheme| {
            keys::compile(&f.secrets, s.algorithm, s.key_format, base_dir)
                .map_err(|(k, m)| cfg_err(&k, m))
        };
        let legacy = if f.legacy_sha1.unwrap_or(false) {
            let l = presets::legacy_sha1(name).ok_or_else(|| {
                cfg_err(
                    "verify.legacy_sha1",
                    format!("scheme {name:?} has no legacy SHA-1 signature"),
                )
            })?;
            Some(Compiled {
                keys: compile(&l)?,
                scheme: l,
            })
        } else {
            None
        };
        if scheme.needs_public_url() && f.public_url.is_none() {
            return Err(cfg_err(
                "verify.public_url",
                format!("scheme {name:?} signs the URL the sender called: set public_url = \"https://hooks.example.com\""),
            ));
        }
        let public_url = match &f.public_url {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                return Err(cfg_err(
                    "verify.public_url",
                    format!("{u:?} must start with https:// or http://"),
                ))
            }
            Some(u) => Some(u.trim_end_matches('/').to_string()),
            None => None,
        };
        let tolerance = f.tolerance.map_or(DEFAULT_TOLERANCE, |d| d.0);
        if tolerance.is_zero() {
            return Err(cfg_err("verify.tolerance", "must be greater than zero"));
        }
        Ok(Verifier {
            primary: Compiled {
                keys: compile(&scheme)?,
                scheme,
            },
            legacy,
            tolerance,
            public_url,
            forward_header: f.forward_header.unwrap_or(true),
        })
    }

    /// The scheme's name.
    pub fn scheme_name(&self) -> &'static str {
        self.primary.scheme.name
    }

    /// The timestamp tolerance, or `None` when the scheme carries no timestamp
    /// (replay protection then needs a long-lived delivery id).
    pub fn tolerance(&self) -> Option<Duration> {
        (self.primary.scheme.timestamp != TsLocation::None).then_some(self.tolerance)
    }

    /// The provider's delivery-id header, usable as a replay key.
    pub fn replay_id_header(&self) -> Option<&'static str> {
        self.primary.scheme.replay_header
    }

    /// The delivery-id header when the signature covers it: only then can it
    /// key the replay store, since an unsigned id can be changed by whoever
    /// replays a captured request.
    pub fn signed_replay_header(&self) -> Option<&'static str> {
        let s = &self.primary.scheme;
        s.replay_header.filter(|h| {
            s.content
                .iter()
                .any(|p| matches!(p, Part::Header(n) if n.as_str() == *h))
        })
    }

    /// Does the signature cover the body? Shared tokens and Basic credentials
    /// authenticate the sender but leave the body unprotected against
    /// tampering in transit (TLS is then what protects it).
    pub fn covers_body(&self) -> bool {
        !matches!(
            self.primary.scheme.algorithm,
            Algorithm::SharedToken | Algorithm::BasicAuth
        )
    }

    /// Is any secret written inline in the config file?
    pub fn secrets_inline(&self) -> bool {
        self.primary.keys.iter().any(|k| k.inline)
    }

    /// Number of configured secrets.
    pub fn key_count(&self) -> usize {
        self.primary.keys.len()
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
        let Found {
            candidates,
            pair_ts,
        } = parse::signatures(req.headers, &s.signature, s.encoding, &s.timestamp)?;
        let timestamp = match &s.timestamp {
            TsLocation::None => None,
            TsLocation::Header(name) => {
                Some(parse::single(req.headers, name, Reason::TimestampMissing)?.to_vec())
            }
            TsLocation::Pair(k) => Some(pair_ts.ok_or_else(|| {
                Rejection::new(Reason::TimestampMissing, format!("no {k}= timestamp"))
            })?),
        };
        if let Some(raw) = &timestamp {
            parse::fresh(parse::timestamp(raw, s.ts_format)?, now, self.tolerance)?;
        }
        Ok(Precheck {
            candidates,
            timestamp,
            legacy: false,
        })
    }

    /// Check the signature over the exact body bytes. Any active key may match any candidate.
    pub fn verify(
        &self,
        pre: &Precheck,
        req: &RequestParts<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        let c = if pre.legacy {
            self.legacy.as_ref().unwrap_or(&self.primary)
        } else {
            &self.primary
        };
        let s = &c.scheme;
        let active: Vec<&KeyEntry> = c.keys.iter().filter(|k| k.active(now)).collect();
        if active.is_empty() {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                "no secret is inside its validity window",
            ));
        }
        for content in self.contents(s, req, body, pre.timestamp.as_deref())? {
            let refs: Vec<&[u8]> = content.iter().map(|c| c.as_ref()).collect();
            for k in &active {
                if pre
                    .candidates
                    .iter()
                    .any(|cand| key_matches(&k.key, &refs, cand))
                {
                    return Ok(Verified {
                        scheme: s.name,
                        key_id: k.id.clone(),
                    });
                }
            }
        }
        Err(Rejection::new(
            Reason::SignatureInvalid,
            format!(
                "no match: {} candidate(s), {} active key(s)",
                pre.candidates.len(),
                active.len()
            ),
        ))
    }

    /// The signed content (one or more variants: Twilio tries the URL with and without the default port).
    fn contents<'b>(
        &self,
        s: &Scheme,
        req: &RequestParts<'_>,
        body: &'b [u8],
        ts: Option<&'b [u8]>,
    ) -> Result<Vec<Vec<Cow<'b, [u8]>>>, Rejection> {
        let urls = match (&self.public_url, s.needs_public_url()) {
            (Some(base), true) => url_variants(&format!("{base}{}", req.path_and_query)),
            _ => vec![String::new()],
        };
        let mut out = Vec::new();
        for url in urls {
            let mut parts: Vec<Cow<'b, [u8]>> = Vec::new();
            for p in &s.content {
                parts.push(match p {
                    Part::Lit(l) => Cow::Owned(l.as_bytes().to_vec()),
                    Part::Body => Cow::Borrowed(body),
                    Part::Timestamp => Cow::Borrowed(ts.unwrap_or_default()),
                    Part::Header(h) => Cow::Owned(
                        parse::single(req.headers, h, Reason::SignatureMissing)
                            .map_err(|r| Rejection::new(Reason::SignatureMalformed, r.detail))?
                            .to_vec(),
                    ),
                    Part::Method => Cow::Owned(req.method.as_bytes().to_vec()),
                    Part::Path => Cow::Owned(req.path_and_query.as_bytes().to_vec()),
                    Part::Url => Cow::Owned(url.as_bytes().to_vec()),
                    Part::SortedFormParams => {
                        Cow::Owned(super::twilio::signed_params(&url, req.headers, body)?)
                    }
                });
            }
            out.push(parts);
        }
        Ok(out)
    }

    /// Headers a provider would send for `body` at `now` (for `hookgate sign` and tests).
    pub fn sign(
        &self,
        req: &RequestParts<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Vec<(String, String)>, SignError> {
        let s = &self.primary.scheme;
        let key = self
            .primary
            .keys
            .iter()
            .find(|k| k.active(now))
            .ok_or_else(|| SignError("no active secret".into()))?;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut headers = req.headers.clone();
        // Ids the content refers to but the caller did not give are made up, as a sender would.
        for p in &s.content {
            if let Part::Header(h) = p {
                if !headers.contains_key(h) {
                    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
                    headers.insert(
                        h.clone(),
                        http::HeaderValue::from_str(&id).map_err(|e| SignError(e.to_string()))?,
                    );
                    out.push((h.to_string(), id));
                }
            }
        }
        let since = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| SignError("clock before 1970".into()))?;
        let ts = match s.ts_format {
            TsFormat::UnixSeconds => since.as_secs().to_string(),
            TsFormat::UnixMillis => since.as_millis().to_string(),
            TsFormat::Rfc3339 => humantime::format_rfc3339_nanos(now).to_string(),
        };
        let with = RequestParts {
            method: req.method,
            path_and_query: req.path_and_query,
            headers: &headers,
        };
        let content = self
            .contents(s, &with, body, Some(ts.as_bytes()))
            .map_err(|r| SignError(r.detail))?;
        let first = content.into_iter().next().unwrap_or_default();
        let refs: Vec<&[u8]> = first.iter().map(|c| c.as_ref()).collect();
        let raw_sig = match &key.key {
            Key::Mac(m) => m.compute(&refs),
            Key::Ed25519(_, Some(sk)) => {
                use ed25519_dalek::Signer;
                sk.sign(&refs.concat()).to_bytes().to_vec()
            }
            Key::Token(t) => t.expose().to_vec(),
            Key::Basic { user, password: PasswordCheck::Plain(p) } => [user.expose(), b":", p.expose()].concat(),
            _ => {
                return Err(SignError(format!(
                    "scheme {:?} is verify-only here: hookgate holds only the public key or a password hash",
                    s.name
                )))
            }
        };
        let enc = |b: &[u8]| match s.encoding {
            Encoding::Hex => hex::encode(b),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(b),
        };
        match &s.signature {
            SigLocation::Header { name, prefix } => {
                out.push((name.to_string(), format!("{prefix}{}", enc(&raw_sig))))
            }
            SigLocation::List { name, prefix, .. } => {
                out.push((name.to_string(), format!("{prefix}{}", enc(&raw_sig))))
            }
            SigLocation::Pairs { name, sep, sig_key } => {
                let ts_key = match &s.timestamp {
                    TsLocation::Pair(k) => *k,
                    _ => "t",
                };
                out.push((
                    name.to_string(),
                    format!("{ts_key}={ts}{sep}{sig_key}={}", enc(&raw_sig)),
                ));
            }
            SigLocation::Numbered { prefix } => out.push((format!("{prefix}1"), enc(&raw_sig))),
            SigLocation::Token { name } => {
                out.push((
                    name.to_string(),
                    String::from_utf8_lossy(&raw_sig).into_owned(),
                ));
            }
            SigLocation::Authorization => out.push((
                "authorization".into(),
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(&raw_sig)
                ),
            )),
        }
        if let TsLocation::Header(h) = &s.timestamp {
            out.push((h.to_string(), ts));
        }
        Ok(out)
    }
}

/// Does `key` validate `candidate` over the content `parts`?
fn key_matches(key: &Key, parts: &[&[u8]], candidate: &[u8]) -> bool {
    match key {
        Key::Mac(m) => ct_eq(&m.compute(parts), candidate),
        Key::Ed25519(vk, _) => {
            let Ok(sig) = ed25519_dalek::Signature::from_slice(candidate) else {
                return false;
            };
            vk.verify_strict(&parts.concat(), &sig).is_ok()
        }
        Key::EcdsaP256(vk) => {
            use p256::ecdsa::signature::Verifier as _;
            let Ok(sig) = p256::ecdsa::Signature::from_der(candidate) else {
                return false;
            };
            vk.verify(&parts.concat(), &sig).is_ok()
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

/// The URL as configured, plus the same with the default port added or
/// removed: senders disagree on whether `:443` is part of what they sign.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if let Some(host) = authority.strip_suffix(port) {
            out.push(format!("{scheme}{host}{tail}"));
        } else if !authority.contains(':') {
            out.push(format!("{scheme}{authority}{port}{tail}"));
        }
    }
    out
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
