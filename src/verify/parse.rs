//! Header parsing for the engine: every function is total (no panics on any
//! input), bounded, and reports a [`Rejection`] without echoing values.

use super::{Encoding, SigLocation, TsFormat, TsLocation, MAX_CANDIDATES, MAX_HEADER_VALUE};
use crate::reject::{Reason, Rejection};
use base64::Engine;
use http::{HeaderMap, HeaderName};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The single value of a header: missing → `None`, repeated or oversized → malformed.
pub fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    reason_missing: Reason,
) -> Result<&'a [u8], Rejection> {
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
pub fn decode(enc: Encoding, s: &[u8]) -> Option<Vec<u8>> {
    let s = trim(s);
    if s.is_empty() {
        return None;
    }
    match enc {
        Encoding::Hex => hex::decode(s).ok(),
        Encoding::Base64 => {
            let stripped: &[u8] = {
                let mut end = s.len();
                while end > 0 && s[end - 1] == b'=' {
                    end -= 1;
                }
                &s[..end]
            };
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(stripped)
                .ok()
        }
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

/// Signature candidates (decoded bytes) and, for `Pairs`, the timestamp pair's raw value.
pub struct Found {
    /// Decoded signatures to try.
    pub candidates: Vec<Vec<u8>>,
    /// Timestamp from the same structured header, if the scheme keeps it there.
    pub pair_ts: Option<Vec<u8>>,
}

/// Extract candidates from headers according to `loc`.
pub fn signatures(
    headers: &HeaderMap,
    loc: &SigLocation,
    enc: Encoding,
    ts: &TsLocation,
) -> Result<Found, Rejection> {
    let malformed = |why: &str| Rejection::new(Reason::SignatureMalformed, why.to_string());
    let mut candidates = Vec::new();
    let mut pair_ts = None;
    match loc {
        SigLocation::Header { name, prefix } => {
            let v = single(headers, name, Reason::SignatureMissing)?;
            let body = trim(v)
                .strip_prefix(prefix.as_bytes())
                .ok_or_else(|| malformed(&format!("{name}: expected prefix {prefix:?}")))?;
            candidates.push(
                decode(enc, body)
                    .ok_or_else(|| malformed(&format!("{name}: not valid {enc:?}")))?,
            );
        }
        SigLocation::List { name, sep, prefix } => {
            let v = single(headers, name, Reason::SignatureMissing)?;
            for item in v
                .split(|b| *b == *sep as u8)
                .map(trim)
                .filter(|i| !i.is_empty())
            {
                if let Some(sig) = item.strip_prefix(prefix.as_bytes()) {
                    if candidates.len() == MAX_CANDIDATES {
                        return Err(malformed(&format!(
                            "{name}: more than {MAX_CANDIDATES} signatures"
                        )));
                    }
                    candidates.push(
                        decode(enc, sig)
                            .ok_or_else(|| malformed(&format!("{name}: not valid {enc:?}")))?,
                    );
                }
            }
            if candidates.is_empty() {
                return Err(malformed(&format!(
                    "{name}: no signature with prefix {prefix:?}"
                )));
            }
        }
        SigLocation::Pairs { name, sep, sig_key } => {
            let v = single(headers, name, Reason::SignatureMissing)?;
            let ts_key = match ts {
                TsLocation::Pair(k) => Some(*k),
                _ => None,
            };
            for (k, val) in pairs(v, *sep) {
                if k == sig_key.as_bytes() {
                    if candidates.len() == MAX_CANDIDATES {
                        return Err(malformed(&format!(
                            "{name}: more than {MAX_CANDIDATES} signatures"
                        )));
                    }
                    candidates.push(decode(enc, val).ok_or_else(|| {
                        malformed(&format!("{name}: {sig_key} is not valid {enc:?}"))
                    })?);
                } else if Some(k) == ts_key.map(str::as_bytes) {
                    if pair_ts.is_some() {
                        return Err(Rejection::new(
                            Reason::TimestampInvalid,
                            format!("{name}: timestamp repeated"),
                        ));
                    }
                    pair_ts = Some(val.to_vec());
                }
            }
            if candidates.is_empty() {
                return Err(malformed(&format!("{name}: no {sig_key}= signature")));
            }
        }
        SigLocation::Numbered { prefix } => {
            for i in 1..=MAX_CANDIDATES {
                let Ok(name) = HeaderName::from_bytes(format!("{prefix}{i}").as_bytes()) else {
                    break;
                };
                match single(headers, &name, Reason::SignatureMissing) {
                    Ok(v) => candidates.push(
                        decode(enc, v)
                            .ok_or_else(|| malformed(&format!("{name}: not valid {enc:?}")))?,
                    ),
                    Err(r) if r.reason == Reason::SignatureMissing => break,
                    Err(r) => return Err(r),
                }
            }
            if candidates.is_empty() {
                return Err(Rejection::new(
                    Reason::SignatureMissing,
                    format!("{prefix}1 header missing"),
                ));
            }
        }
        SigLocation::Token { name } => {
            candidates.push(single(headers, name, Reason::SignatureMissing)?.to_vec());
        }
        SigLocation::Authorization => {
            let v = single(
                headers,
                &http::header::AUTHORIZATION,
                Reason::SignatureMissing,
            )?;
            let cred = trim(v);
            let b64 = cred
                .get(..6)
                .filter(|p| p.eq_ignore_ascii_case(b"basic "))
                .map(|_| &cred[6..])
                .ok_or_else(|| malformed("authorization: expected Basic credentials"))?;
            candidates.push(
                decode(Encoding::Base64, b64)
                    .ok_or_else(|| malformed("authorization: not valid base64"))?,
            );
        }
    }
    Ok(Found {
        candidates,
        pair_ts,
    })
}

/// Parse a timestamp into a point in time.
pub fn timestamp(raw: &[u8], fmt: TsFormat) -> Result<SystemTime, Rejection> {
    let invalid = || Rejection::new(Reason::TimestampInvalid, "unparseable timestamp");
    let s = std::str::from_utf8(trim(raw)).map_err(|_| invalid())?;
    match fmt {
        TsFormat::UnixSeconds | TsFormat::UnixMillis => {
            if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            let n: u64 = s.parse().map_err(|_| invalid())?;
            let d = if fmt == TsFormat::UnixSeconds {
                Duration::from_secs(n)
            } else {
                Duration::from_millis(n)
            };
            UNIX_EPOCH.checked_add(d).ok_or_else(invalid)
        }
        TsFormat::Rfc3339 => humantime::parse_rfc3339_weak(s).map_err(|_| invalid()),
    }
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
