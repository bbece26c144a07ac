//! Header and body parsing for the engine: every function is total (no panics
//! on any input), bounded, and reports a [`Rejection`] without echoing values.

use super::scheme::{Names, SigLoc};
use super::spec::{Enc, TsFmt};
use super::{MAX_CANDIDATES, MAX_HEADER_VALUE};
use crate::reject::{Reason, Rejection};
use base64::Engine;
use http::{HeaderMap, HeaderName};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first of `names` present in `headers`.
pub fn first<'a>(headers: &HeaderMap, names: &'a Names) -> &'a HeaderName {
    names
        .iter()
        .find(|n| headers.contains_key(*n))
        .unwrap_or(&names[0])
}

/// The single value of the first present header of `names`: missing → `reason_missing`, repeated or oversized → malformed.
pub fn single<'a>(
    headers: &'a HeaderMap,
    names: &Names,
    reason_missing: Reason,
) -> Result<&'a [u8], Rejection> {
    let name = first(headers, names);
    let mut it = headers.get_all(name).iter();
    let Some(v) = it.next() else {
        return Err(Rejection::new(
            reason_missing,
            format!("{name} header missing"),
        ));
    };
    let malformed = if reason_missing == Reason::TimestampMissing {
        Reason::TimestampInvalid
    } else {
        Reason::SignatureMalformed
    };
    if it.next().is_some() {
        return Err(Rejection::new(malformed, format!("{name} header repeated")));
    }
    if v.len() > MAX_HEADER_VALUE {
        return Err(Rejection::new(
            malformed,
            format!("{name} header too long ({} bytes)", v.len()),
        ));
    }
    Ok(v.as_bytes())
}

/// Decode a signature string. Hex is case-insensitive; base64 accepts missing padding.
pub fn decode(enc: Enc, s: &[u8]) -> Option<Vec<u8>> {
    let s = trim(s);
    if s.is_empty() || s.len() > MAX_HEADER_VALUE {
        return None;
    }
    let unpadded = {
        let mut end = s.len();
        while end > 0 && s[end - 1] == b'=' {
            end -= 1;
        }
        &s[..end]
    };
    match enc {
        Enc::Hex => {
            // Into a buffer of the right size: `hex::decode` collects
            // through an iterator, 10x slower on every signed request.
            let mut out = vec![0; s.len() / 2];
            hex::decode_to_slice(s, &mut out).ok().map(|()| out)
        }
        Enc::Base64 => base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(unpadded)
            .ok(),
        Enc::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(unpadded)
            .ok(),
    }
}

/// Lower-case hex of `b`, written into place: `hex::encode` pushes one
/// `char` at a time, which showed in per-request profiles.
pub fn hex_lower(b: &[u8]) -> String {
    let mut out = vec![0; b.len() * 2];
    // The buffer is exactly twice `b`, the only way encode_to_slice fails.
    let _ = hex::encode_to_slice(b, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Encode signature bytes.
pub fn encode(enc: Enc, b: &[u8]) -> String {
    match enc {
        Enc::Hex => hex_lower(b),
        Enc::Base64 => base64::engine::general_purpose::STANDARD.encode(b),
        Enc::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
    }
}

/// Trim ASCII whitespace.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// `k=v` pairs of a structured header.
pub fn pairs(value: &[u8], sep: char) -> impl Iterator<Item = (&[u8], &[u8])> {
    value.split(move |b| *b == sep as u8).filter_map(|item| {
        let item = trim(item);
        let eq = item.iter().position(|b| *b == b'=')?;
        Some((trim(&item[..eq]), trim(&item[eq + 1..])))
    })
}

/// One signature to try, with the timestamp that came with it (pair groups).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Decoded signature bytes.
    pub sig: Vec<u8>,
    /// Timestamp of its group, for `Pairs` headers.
    pub ts: Option<Vec<u8>>,
}

fn malformed(why: String) -> Rejection {
    Rejection::new(Reason::SignatureMalformed, why)
}

fn push(out: &mut Vec<Candidate>, name: &HeaderName, c: Candidate) -> Result<(), Rejection> {
    if out.len() == MAX_CANDIDATES {
        return Err(malformed(format!(
            "{name}: more than {MAX_CANDIDATES} signatures"
        )));
    }
    out.push(c);
    Ok(())
}

/// Extract signature candidates from headers according to `loc`. Body and
/// JWT locations are handled by the engine (they need more than a decode).
pub fn signatures(
    headers: &HeaderMap,
    loc: &SigLoc,
    enc: Enc,
) -> Result<Vec<Candidate>, Rejection> {
    let dec = |name: &HeaderName, v: &[u8]| {
        decode(enc, v).ok_or_else(|| malformed(format!("{name}: not valid {}", enc.label())))
    };
    let mut out = Vec::new();
    match loc {
        SigLoc::Header(names, prefix) => {
            let name = first(headers, names);
            let v = single(headers, names, Reason::SignatureMissing)?;
            let body = trim(v)
                .strip_prefix(prefix.as_bytes())
                .ok_or_else(|| malformed(format!("{name}: expected prefix {prefix:?}")))?;
            out.push(Candidate {
                sig: dec(name, body)?,
                ts: None,
            });
        }
        SigLoc::List(names, sep, prefix) => {
            let name = first(headers, names);
            let v = single(headers, names, Reason::SignatureMissing)?;
            for item in v.split(|b| *b == *sep as u8).map(trim) {
                if let Some(sig) = item.strip_prefix(prefix.as_bytes()) {
                    let sig = dec(name, sig)?;
                    push(&mut out, name, Candidate { sig, ts: None })?;
                }
            }
            if out.is_empty() {
                return Err(malformed(format!(
                    "{name}: no signature with prefix {prefix:?}"
                )));
            }
        }
        SigLoc::Pairs(names, sep, key, ts_key, groups) => {
            let name = first(headers, names);
            let v = single(headers, names, Reason::SignatureMissing)?;
            let sets: Vec<&[u8]> = match groups {
                Some(g) => v
                    .split(|b| *b == *g as u8)
                    .filter(|s| !trim(s).is_empty())
                    .collect(),
                None => vec![v],
            };
            for set in sets {
                pair_set(&mut out, name, set, *sep, key, ts_key.as_deref(), enc)?;
            }
            if out.is_empty() {
                return Err(malformed(format!("{name}: no {key}= signature")));
            }
        }
        SigLoc::Each(names) => {
            for name in names {
                match single(headers, &vec![name.clone()], Reason::SignatureMissing) {
                    Ok(v) => out.push(Candidate {
                        sig: dec(name, v)?,
                        ts: None,
                    }),
                    Err(r) if r.reason == Reason::SignatureMissing => {}
                    Err(r) => return Err(r),
                }
            }
            if out.is_empty() {
                return Err(Rejection::new(
                    Reason::SignatureMissing,
                    format!("{} header missing", names[0]),
                ));
            }
        }
        SigLoc::Token(names, prefix) => {
            let name = first(headers, names);
            let v = single(headers, names, Reason::SignatureMissing)?;
            let token = v
                .strip_prefix(prefix.as_bytes())
                .ok_or_else(|| malformed(format!("{name}: expected prefix {prefix:?}")))?;
            out.push(Candidate {
                sig: token.to_vec(),
                ts: None,
            });
        }
        SigLoc::Basic => {
            let v = single(
                headers,
                &vec![http::header::AUTHORIZATION],
                Reason::SignatureMissing,
            )?;
            let cred = trim(v);
            let b64 = cred
                .get(..6)
                .filter(|p| p.eq_ignore_ascii_case(b"basic "))
                .map(|_| &cred[6..])
                .ok_or_else(|| malformed("authorization: expected Basic credentials".into()))?;
            out.push(Candidate {
                sig: decode(Enc::Base64, b64)
                    .ok_or_else(|| malformed("authorization: not valid base64".into()))?,
                ts: None,
            });
        }
        SigLoc::Body(_) | SigLoc::Jwt(..) => {}
    }
    Ok(out)
}

/// One set of `k=v` pairs: its signatures, each tagged with the set's timestamp.
fn pair_set(
    out: &mut Vec<Candidate>,
    name: &HeaderName,
    set: &[u8],
    sep: char,
    key: &str,
    ts_key: Option<&str>,
    enc: Enc,
) -> Result<(), Rejection> {
    let mut ts = None;
    let mut sigs = Vec::new();
    for (k, val) in pairs(set, sep) {
        if k == key.as_bytes() {
            sigs.push(
                decode(enc, val).ok_or_else(|| {
                    malformed(format!("{name}: {key} is not valid {}", enc.label()))
                })?,
            );
        } else if Some(k) == ts_key.map(str::as_bytes) {
            if ts.is_some() {
                return Err(Rejection::new(
                    Reason::TimestampInvalid,
                    format!("{name}: timestamp repeated"),
                ));
            }
            ts = Some(val.to_vec());
        }
    }
    if ts_key.is_some() && ts.is_none() && !sigs.is_empty() {
        return Err(Rejection::new(
            Reason::TimestampMissing,
            format!("{name}: no timestamp pair"),
        ));
    }
    for sig in sigs {
        push(
            out,
            name,
            Candidate {
                sig,
                ts: ts.clone(),
            },
        )?;
    }
    Ok(())
}

/// Parse a timestamp into a point in time.
pub fn timestamp(raw: &[u8], fmt: TsFmt) -> Result<SystemTime, Rejection> {
    let invalid = || Rejection::new(Reason::TimestampInvalid, "unparseable timestamp");
    let s = std::str::from_utf8(trim(raw)).map_err(|_| invalid())?;
    match fmt {
        TsFmt::Unix | TsFmt::UnixMs => {
            if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let n: u64 = s.parse().map_err(|_| invalid())?;
            let d = if fmt == TsFmt::Unix {
                Duration::from_secs(n)
            } else {
                Duration::from_millis(n)
            };
            UNIX_EPOCH.checked_add(d).ok_or_else(invalid)
        }
        TsFmt::Rfc3339 => rfc3339(s).ok_or_else(invalid),
    }
}

/// RFC 3339 with `Z` or an offset; a missing zone is read as UTC (Orb).
fn rfc3339(s: &str) -> Option<SystemTime> {
    if s.len() > 64 {
        return None;
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Some(t);
    }
    let fmt = time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &fmt) {
        return Some(t.into());
    }
    humantime::parse_rfc3339_weak(&format!("{s}Z")).ok()
}

/// Is `ts` within `tolerance` of `now`, in either direction?
pub fn fresh(ts: SystemTime, now: SystemTime, tolerance: Duration) -> Result<(), Rejection> {
    let (skew, dir) = match now.duration_since(ts) {
        Ok(d) => (d, "old"),
        Err(e) => (e.duration(), "in the future"),
    };
    if skew > tolerance {
        return Err(Rejection::new(
            Reason::TimestampOutOfRange,
            format!(
                "timestamp {}s {dir}, tolerance {}s",
                skew.as_secs(),
                tolerance.as_secs()
            ),
        ));
    }
    Ok(())
}

/// A string (or number, as its text) at a dotted path of a JSON body, or a
/// field of a form body (its last path segment). Reads the body without
/// building a tree: each level is borrowed raw JSON.
pub fn body_field(body: &[u8], path: &[String]) -> Option<String> {
    if let Some(v) = json_field(body, path) {
        return Some(v);
    }
    let key = path.last()?;
    form_urlencoded::parse(body)
        .find(|(k, _)| k == key.as_str())
        .map(|(_, v)| v.into_owned())
}

/// Every string at a dotted path of a JSON body where `*` steps into each
/// element of an array (Microsoft Graph's `value.*.clientState`). At most
/// [`MAX_CANDIDATES`] values; `None` when the path matches nothing.
pub fn body_fields(body: &[u8], path: &[String]) -> Option<Vec<String>> {
    use serde_json::value::RawValue;
    let Some(star) = path.iter().position(|p| p == "*") else {
        return body_field(body, path).map(|v| vec![v]);
    };
    let head: &RawValue = {
        let mut raw: &RawValue = serde_json::from_slice(body).ok()?;
        for seg in &path[..star] {
            let map: std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue> =
                serde_json::from_str(raw.get()).ok()?;
            raw = map.get(seg.as_str())?;
        }
        raw
    };
    let items: Vec<&RawValue> = serde_json::from_str(head.get()).ok()?;
    if items.is_empty() || items.len() > MAX_CANDIDATES {
        return None;
    }
    items
        .iter()
        .map(|item| json_field(item.get().as_bytes(), &path[star + 1..]))
        .collect()
}

/// A top-level string field of a JSON body.
pub fn body_field_json(body: &[u8], key: &str) -> Option<String> {
    json_field(body, &[key.to_string()])
}

fn json_field(body: &[u8], path: &[String]) -> Option<String> {
    if path.is_empty() {
        return match serde_json::from_slice(body).ok()? {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        };
    }
    use serde_json::value::RawValue;
    use std::collections::HashMap;
    let mut raw: &RawValue = serde_json::from_slice(body).ok()?;
    for seg in path {
        let map: HashMap<std::borrow::Cow<'_, str>, &RawValue> =
            serde_json::from_str(raw.get()).ok()?;
        raw = map.get(seg.as_str())?;
    }
    let v: serde_json::Value = serde_json::from_str(raw.get()).ok()?;
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
