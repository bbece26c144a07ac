//! Signatures as a JWT in a header (Netlify, Upstash QStash, Vonage, …):
//! HS256 over the shared secret, the body bound by a SHA-256 claim when the
//! provider sends one, `iat`/`exp` checked against the route's tolerance.
//!
//! Only the algorithm the row names is accepted, whatever the token's header
//! says: a token cannot pick `none` or switch to another key type.

use super::engine::SignError;
use super::keys::{ct_eq, Key, KeyEntry};
use super::parse::{self, Candidate};
use super::scheme::{Names, Scheme, SigLoc};
use super::spec::Enc;
use super::MAX_HEADER_VALUE;
use crate::reject::{Reason, Rejection};
use http::HeaderMap;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Clock skew allowed on `exp` and `nbf`.
const SKEW: u64 = 60;

fn malformed(why: &str) -> Rejection {
    Rejection::new(Reason::SignatureMalformed, why.to_string())
}

/// The token after `prefix` in the first present header of `names`.
pub fn candidate(headers: &HeaderMap, names: &Names, prefix: &str) -> Result<Candidate, Rejection> {
    let v = parse::single(headers, names, Reason::SignatureMissing)?;
    let token = parse::trim(v)
        .strip_prefix(prefix.as_bytes())
        .ok_or_else(|| malformed("expected a JWT after the header's prefix"))?;
    if token.split(|b| *b == b'.').count() != 3 || token.len() > MAX_HEADER_VALUE {
        return Err(malformed("not a compact JWT"));
    }
    Ok(Candidate {
        sig: token.to_vec(),
        ts: None,
    })
}

fn b64url(part: &[u8]) -> Result<Vec<u8>, Rejection> {
    parse::decode(Enc::Base64Url, part).ok_or_else(|| malformed("JWT part is not base64url"))
}

fn json_part(part: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(&b64url(part)?).map_err(|_| malformed("JWT part is not JSON"))
}

/// Verify the token; returns the key id and the replay digest.
pub fn verify(
    s: &Scheme,
    keys: &[KeyEntry],
    candidates: &[Candidate],
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(String, String), Rejection> {
    let token = candidates
        .first()
        .map(|c| c.sig.as_slice())
        .ok_or_else(|| malformed("no JWT"))?;
    let parts: Vec<&[u8]> = token.split(|b| *b == b'.').collect();
    let [h, p, sig] = parts.as_slice() else {
        return Err(malformed("not a compact JWT"));
    };
    if json_part(h)?.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(malformed("JWT alg is not HS256"));
    }
    let sig = b64url(sig)?;
    let signed = &token[..h.len() + 1 + p.len()];
    let key = keys
        .iter()
        .find(|k| matches!(&k.key, Key::Mac(m, _) if ct_eq(&m.compute(&[signed]), &sig)))
        .ok_or_else(|| Rejection::new(Reason::SignatureInvalid, "JWT signature does not match"))?;
    let claims = json_part(p)?;
    check_times(&claims, now, tolerance)?;
    if let SigLoc::Jwt(_, _, Some((claim, enc))) = &s.sig {
        let want = claims
            .get(claim.as_str())
            .and_then(Value::as_str)
            .ok_or_else(|| Rejection::new(Reason::SignatureInvalid, "JWT has no body hash"))?;
        let have = parse::encode(*enc, &Sha256::digest(body));
        if !ct_eq(have.as_bytes(), want.as_bytes()) {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                "body does not match the JWT's hash claim",
            ));
        }
    }
    Ok((key.id.clone(), hex::encode(Sha256::digest(&sig))))
}

/// `iat` within the tolerance, `exp` and `nbf` respected (with a minute of
/// skew), each when present (Netlify's tokens carry none).
fn check_times(claims: &Value, now: SystemTime, tolerance: Duration) -> Result<(), Rejection> {
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let num = |k: &str| claims.get(k).and_then(Value::as_u64);
    let (iat, exp, nbf) = (num("iat"), num("exp"), num("nbf"));
    let out = |why: &str| Rejection::new(Reason::TimestampOutOfRange, why.to_string());
    if let Some(iat) = iat {
        parse::fresh(UNIX_EPOCH + Duration::from_secs(iat), now, tolerance)?;
    }
    if exp.is_some_and(|e| now_s > e.saturating_add(SKEW)) {
        return Err(out("JWT expired"));
    }
    if nbf.is_some_and(|n| now_s.saturating_add(SKEW) < n) {
        return Err(out("JWT not yet valid"));
    }
    Ok(())
}

/// An HS256 token for `body` (for `hookgate sign` and tests).
pub fn sign(
    key: &Key,
    hash: Option<&(String, Enc)>,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<String, SignError> {
    let Key::Mac(m, _) = key else {
        return Err(SignError("JWT signing needs the shared secret".into()));
    };
    let iat = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SignError("clock before 1970".into()))?
        .as_secs();
    let mut claims = json!({ "iat": iat, "exp": iat + tolerance.as_secs() });
    if let Some((claim, enc)) = hash {
        claims[claim.as_str()] = Value::String(parse::encode(*enc, &Sha256::digest(body)));
    }
    let enc = |v: &Value| parse::encode(Enc::Base64Url, v.to_string().as_bytes());
    let signed = format!(
        "{}.{}",
        enc(&json!({"alg": "HS256", "typ": "JWT"})),
        enc(&claims)
    );
    let sig = parse::encode(Enc::Base64Url, &m.compute(&[signed.as_bytes()]));
    Ok(format!("{signed}.{sig}"))
}
