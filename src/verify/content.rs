//! The bytes a sender signed, rebuilt from the request: template parts in
//! order, over the exact received body (never re-serialised). The builders
//! that need more than concatenation (Twilio's sorted form, the SNS string to
//! sign, PayPal's CRC) live here, once, for every row that names them.

use super::keys::ct_eq;
use super::parse;
use super::scheme::{ConfigValue, Part, Scheme};
use crate::reject::{Reason, Rejection};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What a template can read besides the request.
pub struct Inputs<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query as received.
    pub path_and_query: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Exact body bytes.
    pub body: &'a [u8],
    /// The timestamp exactly as sent.
    pub ts: Option<&'a [u8]>,
    /// The URL the sender called (`public_url` + path and query), one variant.
    pub url: &'a str,
    /// The route's `webhook_id`.
    pub webhook_id: Option<&'a str>,
}

fn malformed(why: impl Into<String>) -> Rejection {
    Rejection::new(Reason::SignatureMalformed, why)
}

/// The signed content: its pieces in order, the body borrowed. An HMAC runs
/// over the pieces, so verifying never copies a body (a copy would be
/// outside the body budget: two 8 MiB bodies verifying at once would cost 32
/// MiB, not 16); only a public-key check joins them into one buffer.
pub struct Signed<'a>(Vec<Cow<'a, [u8]>>);

impl Signed<'_> {
    /// No content: what a credential (token, Basic) is checked against.
    pub const NOTHING: Signed<'static> = Signed(Vec::new());

    /// The pieces, for a MAC.
    pub fn parts(&self) -> Vec<&[u8]> {
        self.0.iter().map(|p| p.as_ref()).collect()
    }

    /// One buffer, for algorithms that take the whole message: borrowed when
    /// the content is a single piece (e.g. just the body).
    pub fn joined(&self) -> Cow<'_, [u8]> {
        match self.0.as_slice() {
            [one] => Cow::Borrowed(one.as_ref()),
            many => Cow::Owned(many.concat()),
        }
    }
}

/// The signed content of a request under scheme `s`.
pub fn build<'a>(s: &'a Scheme, i: &Inputs<'a>) -> Result<Signed<'a>, Rejection> {
    let mut out: Vec<Cow<'a, [u8]>> = Vec::with_capacity(s.content.len());
    for p in &s.content {
        out.push(match p {
            Part::Lit(l) => Cow::Borrowed(l),
            Part::Body => Cow::Borrowed(i.body),
            Part::Timestamp => Cow::Borrowed(i.ts.unwrap_or_default()),
            Part::Header(names) => Cow::Borrowed(
                parse::single(i.headers, names, Reason::SignatureMissing)
                    .map_err(|r| malformed(r.detail))?,
            ),
            Part::Method => Cow::Borrowed(i.method.as_bytes()),
            Part::Path => Cow::Borrowed(i.path_and_query.as_bytes()),
            Part::Url => Cow::Borrowed(i.url.as_bytes()),
            Part::SortedForm => Cow::Owned(sorted_form(i.url, i.headers, i.body)?),
            Part::Field(path) => Cow::Owned(
                parse::body_field(i.body, path)
                    .ok_or_else(|| malformed(format!("body has no {}", path.join("."))))?
                    .into_bytes(),
            ),
            Part::Config(ConfigValue::WebhookId) => {
                Cow::Borrowed(i.webhook_id.unwrap_or_default().as_bytes())
            }
            Part::Crc32Body => Cow::Owned(crc32fast::hash(i.body).to_string().into_bytes()),
            Part::Sns => Cow::Owned(sns_string_to_sign(i.body)?),
        });
    }
    Ok(Signed(out))
}

/// Twilio: form parameters sorted by name then value, each `name` + `value`.
/// A JSON post is covered instead by `bodySHA256=<hex>` in the signed URL.
pub fn sorted_form(url: &str, headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Rejection> {
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
        // Only a form or bodySHA256 is signed; anything else would forward
        // bytes no signature covers.
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

/// Amazon SNS: `Key\nValue\n` for the message type's fields in their fixed
/// order, skipping absent ones, from the JSON-decoded values.
pub fn sns_string_to_sign(body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let field = |k: &str| parse::body_field_json(body, k);
    let kind = field("Type").ok_or_else(|| malformed("SNS message has no Type"))?;
    let keys: &[&str] = match kind.as_str() {
        "Notification" => &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ],
        _ => return Err(malformed("unknown SNS message Type")),
    };
    let mut out = Vec::new();
    for k in keys {
        if let Some(v) = field(k) {
            out.extend_from_slice(k.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(v.as_bytes());
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// SNS `SignatureVersion`: 1 is RSA with SHA-1, 2 RSA with SHA-256.
pub fn sns_alg(body: &[u8]) -> Result<super::spec::Alg, Rejection> {
    match parse::body_field_json(body, "SignatureVersion").as_deref() {
        Some("1") => Ok(super::spec::Alg::RsaSha1),
        Some("2") => Ok(super::spec::Alg::RsaSha256),
        _ => Err(malformed("unknown SNS SignatureVersion")),
    }
}

/// The URL as configured, plus the same with the default port added or
/// removed: senders disagree on whether `:443` is part of what they sign.
pub fn url_variants(url: &str) -> Vec<String> {
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
