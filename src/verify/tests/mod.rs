//! Engine tests. Everything that concerns "every preset" iterates over the
//! rows of [`providers::PROVIDERS`]; nothing keeps its own list of names.

mod attacks;
mod disagreements;
mod handshakes;
mod jwt;
mod remote;
mod sdk_suite;
mod table;
mod vectors;

use super::providers::{self, PROVIDERS};
use super::spec::{Handshake, KeyFmt, Provider, Sig, Ts};
use super::*;
use crate::reject::Reason;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What `after_body` decided, as fields to assert on.
pub struct Done {
    /// The verification, `None` for an unsigned challenge answered.
    pub verified: Option<Verified>,
    /// The answer sent instead of forwarding, if any.
    pub answer: Option<Reply>,
}

impl From<AfterBody> for Done {
    fn from(a: AfterBody) -> Done {
        match a {
            AfterBody::Verified(v, answer) => Done {
                verified: Some(v),
                answer,
            },
            AfterBody::Challenge(r) => Done {
                verified: None,
                answer: Some(r),
            },
        }
    }
}

/// Both steps of the request path on `req`: `before_body` (which must not
/// answer), then `after_body` on a runtime with I/O and timers (the remote
/// schemes fetch their certificate there).
pub fn both_steps(
    v: &Verifier,
    req: &RequestParts<'_>,
    body: &[u8],
    now: SystemTime,
) -> Result<Done, Reason> {
    let pre = match v.before_body(req, now).map_err(|r| r.reason)? {
        BeforeBody::Continue(p) => p,
        BeforeBody::Answer(_) => panic!("answered before the body"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(v.after_body(&pre, req, body, now))
        .map(Done::from)
        .map_err(|r| r.reason)
}

pub fn verifier(toml_src: &str) -> Verifier {
    let f: FileVerify = toml::from_str(toml_src).unwrap_or_else(|e| panic!("{e}\n{toml_src}"));
    Verifier::from_file(&f, Path::new("."), "test").unwrap_or_else(|e| panic!("{e}\n{toml_src}"))
}

pub fn config_error(toml_src: &str) -> String {
    let f: FileVerify = toml::from_str(toml_src).unwrap();
    Verifier::from_file(&f, Path::new("."), "test")
        .unwrap_err()
        .to_string()
}

pub fn headers(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

pub fn h(pairs: &[(&str, &str)]) -> HeaderMap {
    headers(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    )
}

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Precheck then verify, as the request path does.
pub fn check(
    v: &Verifier,
    method: &str,
    path: &str,
    h: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Verified, Reason> {
    let req = RequestParts {
        method,
        path_and_query: path,
        headers: h,
    };
    let pre = v.precheck(&req, now).map_err(|r| r.reason)?;
    v.verify(&pre, &req, body, now).map_err(|r| r.reason)
}

/// A P-256 private key (PKCS#8 PEM) from a one-byte seed, for signing tests.
pub fn p256_pem(seed: u8) -> String {
    use p256::pkcs8::EncodePrivateKey;
    let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    sk.to_pkcs8_pem(Default::default()).unwrap().to_string()
}

/// A secret of the right shape for a row's key format (seed varies it).
pub fn secret_for(p: &Provider, seed: u8) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match p.spec.key {
        KeyFmt::Whsec | KeyFmt::RawAndBase64 => format!("whsec_{}", b64(&[seed; 24])),
        KeyFmt::Ed25519 => {
            let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            format!(
                "whsk_{}",
                b64(&[sk.to_bytes().as_slice(), sk.verifying_key().as_bytes()].concat())
            )
        }
        KeyFmt::EcdsaP256 | KeyFmt::Jwk => p256_pem(seed),
        KeyFmt::Basic => format!("hook:s3cret{seed}"),
        KeyFmt::Base64 => b64(&[seed; 32]),
        KeyFmt::Hex => hex::encode([seed; 32]),
        KeyFmt::Raw | KeyFmt::Remote => format!("test-secret-{seed}"),
    }
}

/// The knobs a row needs besides its secrets to load.
pub fn extra_knobs(p: &Provider) -> String {
    let mut out = String::new();
    if p.spec.content.contains("{url}") {
        out += "public_url = \"https://hooks.example.com\"\n";
    }
    if p.spec.content == "{sns}" {
        out += "topic_arns = [\"arn:aws:sns:us-east-1:123456789012:hooks\"]\n";
    }
    if p.spec.content.contains("{config:webhook_id}") {
        out += "webhook_id = \"WH-1\"\n";
    }
    match p.handshake {
        Some(Handshake::HubChallenge { .. }) => out += "verify_token = \"vt\"\n",
        Some(Handshake::AsanaSecret) => out += "handshake = false\n",
        _ => {}
    }
    out
}

pub fn preset_toml(p: &Provider, secrets: &[&str]) -> String {
    let secrets = if p.spec.key == KeyFmt::Remote {
        &[][..]
    } else {
        secrets
    };
    let list: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "scheme = {:?}\nsecrets = [{}]\n{}",
        p.name,
        list.join(", "),
        extra_knobs(p)
    )
}

/// Rows whose requests hookgate can sign (the signature is not inside the body).
pub fn signable() -> impl Iterator<Item = &'static Provider> {
    PROVIDERS
        .iter()
        .filter(|p| !matches!(p.spec.sig, Sig::Body { .. }) && p.spec.key != KeyFmt::Remote)
}

/// A body the row accepts, and its content type, at `now`.
pub fn body_for(p: &Provider, now: SystemTime) -> (Vec<u8>, &'static str) {
    if p.spec.content.contains("{form:sorted}") {
        return (
            b"CallSid=CA1&Digits=1234&From=%2B1415&Body=caf%C3%A9".to_vec(),
            "application/x-www-form-urlencoded",
        );
    }
    let ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis();
    match p.spec.ts {
        Ts::Body { path, .. } => (
            format!("{{\"event\":\"ping\",\"{path}\":{ms},\"text\":\"caf\u{e9}\"}}").into_bytes(),
            "application/json",
        ),
        _ => (
            "{\"event\":\"ping\",\"n\":1,\"text\":\"caf\u{e9} \u{1F600}\"}"
                .as_bytes()
                .to_vec(),
            "application/json",
        ),
    }
}

#[test]
fn every_row_compiles_and_names_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for p in PROVIDERS {
        for n in std::iter::once(p.name).chain(p.aliases.iter().copied()) {
            assert!(seen.insert(n), "{n} appears twice");
            assert!(providers::find(n).is_some());
        }
        let v = verifier(&preset_toml(p, &[&secret_for(p, 1)]));
        assert_eq!(v.scheme_name(), p.name);
        assert!(!p.docs.is_empty() && !p.title.is_empty(), "{}", p.name);
        assert!(
            !p.replay.why().is_empty(),
            "{}: replay key needs its reason",
            p.name
        );
    }
    assert!(PROVIDERS.len() >= 60, "{} presets", PROVIDERS.len());
}
