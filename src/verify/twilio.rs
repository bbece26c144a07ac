//! Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1 of the URL Twilio called
//! followed by the POST parameters sorted by name (then value), each as
//! `name` + `value`. JSON requests instead carry `bodySHA256=<hex>` in the
//! URL's query and sign the URL alone. The URL must be the public one the
//! sender used (`public_url`), not what hookgate sees behind a load balancer;
//! hookgate tries it with and without the default port, as Twilio's SDKs do.

use super::keys::ct_eq;
use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use crate::reject::{Reason, Rejection};
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The Twilio scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "twilio",
        algorithm: Algorithm::HmacSha1,
        encoding: Encoding::Base64,
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-twilio-signature"),
            prefix: "",
        },
        timestamp: TsLocation::None,
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Url, Part::SortedFormParams],
        key_format: KeyFormat::Raw,
        replay_header: Some("i-twilio-idempotency-token"),
    }
}

/// Mailchimp Transactional (Mandrill): `X-Mandrill-Signature`, the same
/// URL-plus-sorted-parameters construction as Twilio.
pub fn mandrill() -> Scheme {
    Scheme {
        name: "mandrill",
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-mandrill-signature"),
            prefix: "",
        },
        replay_header: None,
        ..scheme()
    }
}

/// The parameter part of the signed content for `url` and `body`.
pub fn signed_params(url: &str, headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if let Some((_, want)) =
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256")
    {
        let have = hex::encode(Sha256::digest(body));
        if !ct_eq(have.as_bytes(), want.to_ascii_lowercase().as_bytes()) {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                "body does not match bodySHA256",
            ));
        }
        return Ok(Vec::new());
    }
    let is_form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        // Twilio signs a non-form body only through bodySHA256; anything else
        // would forward bytes no signature covers.
        if body.is_empty() {
            return Ok(Vec::new());
        }
        return Err(Rejection::new(
            Reason::SignatureInvalid,
            "body is neither a form nor covered by bodySHA256",
        ));
    }
    let mut params: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        params
            .entry(k.into_owned())
            .or_default()
            .insert(v.into_owned());
    }
    let mut out = Vec::new();
    for (k, values) in params {
        for v in values {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    Ok(out)
}
