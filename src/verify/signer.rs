//! Signing a request as the provider would: the other half of each scheme,
//! for `hookgate sign` and for tests that go through every row.

use super::content::{self, Inputs, Signed};
use super::engine::{RequestParts, SignError};
use super::keys::{Key, PasswordCheck};
use super::parse;
use super::scheme::{Part, Scheme, SigLoc, TsLoc};
use super::spec::{Alg, Enc, TsFmt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a signature is made over besides the scheme and key.
pub struct Context<'a> {
    /// The request to sign.
    pub req: &'a RequestParts<'a>,
    /// Exact body.
    pub body: &'a [u8],
    /// Signing time.
    pub now: SystemTime,
    /// The URL the sender calls (`public_url` + path), empty when unused.
    pub url: &'a str,
    /// The route's `webhook_id`.
    pub webhook_id: Option<&'a str>,
    /// How long a JWT stays valid.
    pub tolerance: Duration,
}

fn err(m: impl Into<String>) -> SignError {
    SignError(m.into())
}

/// The timestamp written as the scheme writes it.
fn timestamp(fmt: TsFmt, now: SystemTime) -> Result<String, SignError> {
    let since = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| err("clock before 1970"))?;
    Ok(match fmt {
        TsFmt::Unix => since.as_secs().to_string(),
        TsFmt::UnixMs => since.as_millis().to_string(),
        TsFmt::Rfc3339 => humantime::format_rfc3339_nanos(now).to_string(),
    })
}

/// The headers to send with `ctx.body`.
pub fn sign(s: &Scheme, key: &Key, ctx: &Context<'_>) -> Result<Vec<(String, String)>, SignError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut headers = ctx.req.headers.clone();
    // Ids the content refers to but the caller did not give are made up, as a sender would.
    for p in &s.content {
        if let Part::Header(names) = p {
            if !names.iter().any(|n| headers.contains_key(n)) {
                let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
                let v = http::HeaderValue::from_str(&id).map_err(|e| err(e.to_string()))?;
                headers.insert(names[0].clone(), v);
                out.push((names[0].to_string(), id));
            }
        }
    }
    let ts = match &s.ts {
        TsLoc::Header(_, fmt) | TsLoc::Pair(fmt) => Some(timestamp(*fmt, ctx.now)?),
        _ => None,
    };
    if let SigLoc::Jwt(names, prefix, hash) = &s.sig {
        let jwt = super::jwt::sign(s.alg, key, hash.as_ref(), ctx.body, ctx.now, ctx.tolerance)?;
        out.push((names[0].to_string(), format!("{prefix}{jwt}")));
        return Ok(out);
    }
    let signed = content::build(
        s,
        &Inputs {
            method: ctx.req.method,
            path_and_query: ctx.req.path_and_query,
            headers: &headers,
            body: ctx.body,
            ts: ts.as_deref().map(str::as_bytes),
            url: ctx.url,
            webhook_id: ctx.webhook_id,
        },
    )
    .map_err(|r| err(r.detail))?;
    let raw = raw_signature(s, key, &signed)?;
    let enc = |b: &[u8]| parse::encode(s.enc, b);
    match &s.sig {
        SigLoc::Header(names, prefix) | SigLoc::List(names, _, prefix) => {
            out.push((names[0].to_string(), format!("{prefix}{}", enc(&raw))))
        }
        SigLoc::Pairs(names, sep, k, ts_key, _) => {
            let sig = format!("{k}={}", enc(&raw));
            let v = match (ts_key, &ts) {
                (Some(tk), Some(t)) => format!("{tk}={t}{sep}{sig}"),
                _ => sig,
            };
            out.push((names[0].to_string(), v));
        }
        SigLoc::Each(names) => out.push((names[0].to_string(), enc(&raw))),
        SigLoc::Token(names, prefix) => out.push((
            names[0].to_string(),
            format!("{prefix}{}", String::from_utf8_lossy(&raw)),
        )),
        SigLoc::Basic => out.push((
            "authorization".into(),
            format!("Basic {}", parse::encode(Enc::Base64, &raw)),
        )),
        SigLoc::Body(_) | SigLoc::Jwt(..) => {
            return Err(err(format!(
                "scheme {:?} carries its signature in the body: hookgate sign cannot add it",
                s.name
            )))
        }
    }
    if let (TsLoc::Header(names, _), Some(t)) = (&s.ts, ts) {
        out.push((names[0].to_string(), t));
    }
    Ok(out)
}

/// The signature bytes over `content`.
fn raw_signature(s: &Scheme, key: &Key, content: &Signed<'_>) -> Result<Vec<u8>, SignError> {
    let verify_only = || {
        err(format!(
            "scheme {:?} is verify-only here: hookgate holds only the public key or a password hash",
            s.name
        ))
    };
    Ok(match key {
        Key::Mac(m, _) => m.compute(&content.parts()),
        Key::Ed25519(_, Some(sk)) => {
            use ed25519_dalek::Signer;
            sk.sign(&content.joined()).to_bytes().to_vec()
        }
        Key::EcdsaP256(_, Some(sk)) if s.alg == Alg::EcdsaP256 => {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = sk.sign(&content.joined());
            sig.to_der().as_bytes().to_vec()
        }
        Key::Token(t) => t.expose().to_vec(),
        Key::Basic {
            user,
            password: PasswordCheck::Plain(p),
        } => [user.expose(), b":", p.expose()].concat(),
        _ => return Err(verify_only()),
    })
}
