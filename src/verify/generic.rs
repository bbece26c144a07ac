//! `scheme = "generic"`: the same [`Spec`] a preset row is, written as TOML
//! knobs, for providers without a preset. Every body-only and
//! header-timestamp preset can be written this way (a test rebuilds presets
//! from these knobs and checks they verify the same vectors).
//!
//! ```toml
//! [route.verify]
//! scheme = "generic"
//! algorithm = "hmac-sha256"              # hmac-sha1 | hmac-sha256 | hmac-sha512 | ed25519 | rsa-pss-sha256 | token | jwt-hs256 | jwt-rs256 | jwt-es256
//! signature_header = "X-Signature"       # "A|B": the first present
//! signature_prefix = "sha256="           # default ""
//! signature_encoding = "hex"             # hex | base64 | base64url (default hex)
//! signature_separator = ","              # several signatures in one header, or the pair separator
//! signature_key = "v1"                   # the header is `k=v` pairs: signatures are the `v1` pairs
//! timestamp_key = "t"                    # ... and the timestamp is the `t` pair
//! timestamp_header = "X-Timestamp"       # or a timestamp header
//! timestamp_format = "unix"              # unix | unix-ms | rfc3339
//! signed_content = "{timestamp}.{method}.{path}.{body}"   # default "{body}"
//! secret_encoding = "raw"                # raw | base64 | hex | whsec
//! id_header = "X-Delivery-Id"            # replay key
//! secrets = ["env:MY_SECRET"]
//! ```

use super::engine::{cfg_err, DefaultKey, VerifyConfigError};
use super::scheme::{self, Scheme};
use super::spec::{Alg, Enc, KeyFmt, Sig, Spec, Ts, TsFmt};
use super::FileVerify;
fn owned(v: &str) -> String {
    v.to_string()
}

/// The knobs only `generic` takes, by key name, so a preset given one is an error.
pub fn knobs_set(f: &FileVerify) -> Option<&'static str> {
    [
        ("algorithm", f.algorithm.is_some()),
        ("signature_header", f.signature_header.is_some()),
        ("signature_prefix", f.signature_prefix.is_some()),
        ("signature_encoding", f.signature_encoding.is_some()),
        ("signature_separator", f.signature_separator.is_some()),
        ("signature_key", f.signature_key.is_some()),
        ("timestamp_key", f.timestamp_key.is_some()),
        ("timestamp_header", f.timestamp_header.is_some()),
        ("timestamp_format", f.timestamp_format.is_some()),
        ("signed_content", f.signed_content.is_some()),
        ("secret_encoding", f.secret_encoding.is_some()),
        ("id_header", f.id_header.is_some()),
    ]
    .into_iter()
    .find_map(|(k, set)| set.then_some(k))
}

fn pick<T: Copy>(knob: &str, v: &str, table: &[(&str, T)]) -> Result<T, VerifyConfigError> {
    table
        .iter()
        .find(|(l, _)| *l == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let known: Vec<&str> = table.iter().map(|(l, _)| *l).collect();
            cfg_err(
                &format!("verify.{knob}"),
                format!("unknown value {v:?} ({})", known.join(", ")),
            )
        })
}

/// The knobs as a [`Spec`].
pub fn spec(f: &FileVerify) -> Result<Spec<String>, VerifyConfigError> {
    let header = owned(f.signature_header.as_deref().ok_or_else(|| {
        cfg_err(
            "verify.signature_header",
            "required for scheme = \"generic\"",
        )
    })?);
    let alg = pick(
        "algorithm",
        f.algorithm.as_deref().unwrap_or("hmac-sha256"),
        &[
            ("hmac-sha1", Alg::HmacSha1),
            ("hmac-sha256", Alg::HmacSha256),
            ("hmac-sha512", Alg::HmacSha512),
            ("ed25519", Alg::Ed25519),
            ("rsa-pss-sha256", Alg::RsaPssSha256),
            ("token", Alg::Token),
            ("jwt-hs256", Alg::JwtHs256),
            ("jwt-rs256", Alg::JwtRs256),
            ("jwt-es256", Alg::JwtEs256),
        ],
    )?;
    let enc = pick(
        "signature_encoding",
        f.signature_encoding.as_deref().unwrap_or("hex"),
        &[
            ("hex", Enc::Hex),
            ("base64", Enc::Base64),
            ("base64url", Enc::Base64Url),
        ],
    )?;
    let fmt = pick(
        "timestamp_format",
        f.timestamp_format.as_deref().unwrap_or("unix"),
        &[
            ("unix", TsFmt::Unix),
            ("unix-ms", TsFmt::UnixMs),
            ("rfc3339", TsFmt::Rfc3339),
        ],
    )?;
    let prefix = owned(f.signature_prefix.as_deref().unwrap_or(""));
    let sep = match f.signature_separator.as_deref() {
        None => None,
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => {
                    return Err(cfg_err(
                        "verify.signature_separator",
                        "must be a single character",
                    ))
                }
            }
        }
    };
    let sig = match (alg, &f.signature_key, sep) {
        (Alg::Token, _, _) => Sig::Token {
            name: header,
            prefix,
        },
        (a, _, _) if a.is_jwt() => Sig::Jwt {
            name: header,
            prefix,
            body_hash: None,
        },
        (_, Some(key), sep) => Sig::Pairs {
            name: header,
            sep: sep.unwrap_or(','),
            key: owned(key),
            ts_key: owned(f.timestamp_key.as_deref().unwrap_or("")),
            groups: None,
        },
        (_, None, Some(sep)) => Sig::List {
            name: header,
            sep,
            prefix,
        },
        (_, None, None) => Sig::Header {
            name: header,
            prefix,
        },
    };
    let ts = match (&f.timestamp_header, &f.timestamp_key) {
        (Some(_), Some(_)) => {
            return Err(cfg_err(
                "verify.timestamp_key",
                "set timestamp_header or timestamp_key, not both",
            ))
        }
        (Some(h), None) => Ts::Header {
            name: owned(h),
            fmt,
        },
        (None, Some(_)) => Ts::Pair { fmt },
        (None, None) if alg.is_jwt() => Ts::Jwt,
        (None, None) => Ts::None,
    };
    let key = match alg {
        Alg::Ed25519 => KeyFmt::Ed25519,
        // A PEM public key (or `jwks_file`), like jwt-rs256.
        Alg::JwtRs256 | Alg::JwtEs256 | Alg::RsaPssSha256 => KeyFmt::Jwk,
        _ => pick(
            "secret_encoding",
            f.secret_encoding.as_deref().unwrap_or("raw"),
            &[
                ("raw", KeyFmt::Raw),
                ("base64", KeyFmt::Base64),
                ("hex", KeyFmt::Hex),
                ("whsec", KeyFmt::Whsec),
            ],
        )?,
    };
    if let Some(h) = &f.id_header {
        scheme::names("id_header", h).map_err(|e| cfg_err("verify.id_header", e.message))?;
    }
    let default_content = if alg == Alg::Token || alg.is_jwt() {
        ""
    } else {
        "{body}"
    };
    Ok(Spec {
        alg,
        enc,
        sig,
        ts,
        content: owned(f.signed_content.as_deref().unwrap_or(default_content)),
        key,
        alg_switch: None,
        remote: None,
    })
}

/// Build the generic scheme from the knobs.
pub fn scheme(f: &FileVerify) -> Result<Scheme, VerifyConfigError> {
    let s = scheme::compile("generic", &spec(f)?)
        .map_err(|e| cfg_err(&format!("verify.{}", e.knob), e.message))?;
    if !matches!(s.sig, scheme::SigLoc::Token(..) | scheme::SigLoc::Jwt(..))
        && !s.content.contains(&scheme::Part::Body)
    {
        return Err(cfg_err(
            "verify.signed_content",
            "the template must include {body}",
        ));
    }
    Ok(s)
}

/// The replay key when none is configured: `id_header`, else the signature
/// digest only when the signed bytes hold a timestamp (a body-only HMAC of
/// two identical deliveries would collide), else none.
pub fn default_key(f: &FileVerify, s: &Scheme) -> DefaultKey {
    if let Some(h) = &f.id_header {
        if let Ok(names) = scheme::names("id_header", h) {
            let signed = names.iter().all(|n| s.signs_header(n.as_str()));
            return DefaultKey::Header(names, signed);
        }
    }
    let unique = s.covers_body()
        && s.content
            .iter()
            .any(|p| matches!(p, scheme::Part::Timestamp | scheme::Part::Header(_)));
    if unique {
        DefaultKey::Signature
    } else {
        DefaultKey::None
    }
}
