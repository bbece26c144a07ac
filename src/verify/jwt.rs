//! Signatures as a JWT in a header (Netlify, LiveKit, Vonage, Plaid, …):
//! HS256 over the shared secret, or RS256/ES256 under a configured public key
//! or JWKS file (the token's `kid` picks the key); the body bound by a SHA-256
//! claim when the provider sends one; `iat`/`exp` checked against the tolerance.
//!
//! Only the algorithm the row names is accepted, whatever the token's header
//! says: a token cannot pick `none` or switch to another key type.

use super::engine::SignError;
use super::keys::{ct_eq, Key, KeyEntry};
use super::parse::{self, Candidate};
use super::scheme::{Names, Scheme, SigLoc};
use super::spec::{Alg, Enc};
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
    keys: &[&KeyEntry],
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
    let header = json_part(h)?;
    let want = jws_alg(s.alg);
    if header.get("alg").and_then(Value::as_str) != Some(want) {
        return Err(malformed("JWT alg is not the one this scheme uses"));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let sig = b64url(sig)?;
    let signed = &token[..h.len() + 1 + p.len()];
    let by_kid = kid.is_some_and(|kid| keys.iter().any(|k| k.id == kid));
    let key = keys
        .iter()
        .filter(|k| !by_kid || Some(k.id.as_str()) == kid)
        .find(|k| key_verifies(s.alg, &k.key, signed, &sig))
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
    Ok((
        key.id.clone(),
        super::parse::hex_lower(&Sha256::digest(&sig)),
    ))
}

/// The JWS `alg` a scheme's algorithm stands for.
fn jws_alg(alg: Alg) -> &'static str {
    match alg {
        Alg::JwtRs256 => "RS256",
        Alg::JwtEs256 => "ES256",
        _ => "HS256",
    }
}

/// Does `key` sign `signed` with `sig` under the scheme's algorithm (and only that one)?
fn key_verifies(alg: Alg, key: &Key, signed: &[u8], sig: &[u8]) -> bool {
    match (alg, key) {
        (Alg::JwtHs256, Key::Mac(m, _)) => ct_eq(&m.compute(&[signed]), sig),
        (Alg::JwtRs256, Key::Rsa(der)) => ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            der,
        )
        .verify(signed, sig)
        .is_ok(),
        (Alg::JwtEs256, Key::EcdsaP256(vk, _)) => {
            use p256::ecdsa::signature::Verifier as _;
            p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| vk.verify(signed, &s).is_ok())
        }
        _ => false,
    }
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

/// A token for `body` (for `hookgate sign` and tests): HS256 with the
/// secret, ES256 when a private key is configured.
pub fn sign(
    alg: Alg,
    key: &Key,
    hash: Option<&(String, Enc)>,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<String, SignError> {
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
        enc(&json!({"alg": jws_alg(alg), "typ": "JWT"})),
        enc(&claims)
    );
    let sig = match (alg, key) {
        (Alg::JwtHs256, Key::Mac(m, _)) => m.compute(&[signed.as_bytes()]),
        (Alg::JwtEs256, Key::EcdsaP256(_, Some(sk))) => {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = sk.sign(signed.as_bytes());
            sig.to_bytes().to_vec()
        }
        _ => {
            return Err(SignError(
                "verify-only here: hookgate holds only the public key".into(),
            ))
        }
    };
    Ok(format!("{signed}.{}", parse::encode(Enc::Base64Url, &sig)))
}
