//! `scheme = "generic"`: the engine's knobs in TOML, for providers without a
//! preset. The signed-content template can take in the method, path, chosen
//! headers and the timestamp, so a home-grown HMAC can resist replays and
//! request rewriting, which body-only HMACs cannot.
//!
//! ```toml
//! [route.verify]
//! scheme = "generic"
//! algorithm = "hmac-sha256"              # hmac-sha1 | hmac-sha256 | hmac-sha512 | ed25519 | token
//! signature_header = "X-Signature"
//! signature_prefix = "sha256="           # default ""
//! signature_encoding = "hex"             # hex | base64 (default hex)
//! signature_separator = ","              # set when the header may hold several signatures
//! timestamp_header = "X-Timestamp"       # optional
//! timestamp_format = "unix"              # unix | unix-ms | rfc3339
//! signed_content = "{timestamp}.{method}.{path}.{body}"   # default "{body}"
//! secret_encoding = "raw"                # raw | base64 | hex | whsec
//! id_header = "X-Delivery-Id"            # replay key
//! secrets = ["env:MY_SECRET"]
//! ```

use super::engine::VerifyConfigError;
use super::gitlab;
use super::{
    Algorithm, Encoding, FileVerify, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation,
};
use http::HeaderName;

fn err(key: &str, message: impl Into<String>) -> VerifyConfigError {
    VerifyConfigError {
        key: format!("verify.{key}"),
        message: message.into(),
    }
}

fn header(key: &str, v: &str) -> Result<HeaderName, VerifyConfigError> {
    HeaderName::from_bytes(v.as_bytes())
        .map_err(|_| err(key, format!("{v:?} is not a valid header name")))
}

/// Leak a config string for the `'static` fields of [`Scheme`]. Called once
/// per generic route per (re)load; the strings are a few bytes each.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Parse a `signed_content` template into parts.
pub fn template(t: &str) -> Result<Vec<Part>, VerifyConfigError> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| err("signed_content", format!("unclosed '{{' in {t:?}")))?;
        let name = &rest[open + 1..open + close];
        parts.push(match name {
            "body" => Part::Body,
            "timestamp" => Part::Timestamp,
            "method" => Part::Method,
            "path" => Part::Path,
            "url" => Part::Url,
            h if h.starts_with("header:") => Part::Header(header("signed_content", &h["header:".len()..])?),
            other => {
                return Err(err(
                    "signed_content",
                    format!("unknown placeholder {{{other}}} (use body, timestamp, method, path, url, header:NAME)"),
                ))
            }
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    if !parts.contains(&Part::Body) {
        return Err(err("signed_content", "the template must include {body}"));
    }
    Ok(parts)
}

/// Build the generic scheme from the knobs.
pub fn scheme(f: &FileVerify) -> Result<Scheme, VerifyConfigError> {
    let sig_header = header(
        "signature_header",
        f.signature_header
            .as_deref()
            .ok_or_else(|| err("signature_header", "required for scheme = \"generic\""))?,
    )?;
    let algorithm = match f.algorithm.as_deref().unwrap_or("hmac-sha256") {
        "hmac-sha1" => Algorithm::HmacSha1,
        "hmac-sha256" => Algorithm::HmacSha256,
        "hmac-sha512" => Algorithm::HmacSha512,
        "ed25519" => Algorithm::Ed25519,
        "token" => {
            return Ok(gitlab::token(
                "generic",
                sig_header,
                f.id_header.as_deref().map(leak),
            ))
        }
        other => {
            return Err(err(
                "algorithm",
                format!(
                "unknown algorithm {other:?} (hmac-sha1, hmac-sha256, hmac-sha512, ed25519, token)"
            ),
            ))
        }
    };
    let encoding = match f.signature_encoding.as_deref().unwrap_or("hex") {
        "hex" => Encoding::Hex,
        "base64" => Encoding::Base64,
        other => {
            return Err(err(
                "signature_encoding",
                format!("unknown encoding {other:?} (hex, base64)"),
            ))
        }
    };
    let prefix = leak(f.signature_prefix.as_deref().unwrap_or(""));
    let signature = match f.signature_separator.as_deref() {
        None => SigLocation::Header {
            name: sig_header,
            prefix,
        },
        Some(sep) => {
            let mut chars = sep.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => SigLocation::List {
                    name: sig_header,
                    sep: c,
                    prefix,
                },
                _ => return Err(err("signature_separator", "must be a single character")),
            }
        }
    };
    let timestamp = match f.timestamp_header.as_deref() {
        Some(h) => TsLocation::Header(header("timestamp_header", h)?),
        None => TsLocation::None,
    };
    let ts_format = match f.timestamp_format.as_deref().unwrap_or("unix") {
        "unix" => TsFormat::UnixSeconds,
        "unix-ms" => TsFormat::UnixMillis,
        "rfc3339" => TsFormat::Rfc3339,
        other => {
            return Err(err(
                "timestamp_format",
                format!("unknown format {other:?} (unix, unix-ms, rfc3339)"),
            ))
        }
    };
    let content = template(f.signed_content.as_deref().unwrap_or("{body}"))?;
    if content.contains(&Part::Timestamp) && timestamp == TsLocation::None {
        return Err(err("signed_content", "{timestamp} needs timestamp_header"));
    }
    let key_format = match (algorithm, f.secret_encoding.as_deref().unwrap_or("raw")) {
        (Algorithm::Ed25519, _) => KeyFormat::Ed25519,
        (_, "raw") => KeyFormat::Raw,
        (_, "base64") => KeyFormat::Base64,
        (_, "hex") => KeyFormat::Hex,
        (_, "whsec") => KeyFormat::Whsec,
        (_, other) => {
            return Err(err(
                "secret_encoding",
                format!("unknown encoding {other:?} (raw, base64, hex, whsec)"),
            ))
        }
    };
    Ok(Scheme {
        name: "generic",
        algorithm,
        encoding,
        signature,
        timestamp,
        ts_format,
        content,
        key_format,
        replay_header: f
            .id_header
            .as_deref()
            .map(|h| leak(&h.to_ascii_lowercase())),
    })
}
