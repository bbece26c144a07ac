//! Entry points for the fuzzers (`tests/fuzz`, `make fuzz`) and for the test
//! that replays their committed corpus on every `make test`.
//!
//! Each target takes arbitrary bytes and must return without panicking,
//! hanging or touching the network. [`TARGETS`] lists them by the name of
//! their fuzz binary and corpus directory. To add one: a function here and a
//! row in [`TARGETS`], a file in `tests/fuzz/fuzz_targets/`, a `[[bin]]` in
//! `tests/fuzz/Cargo.toml`, seeds in `tests/fuzz/corpus/<name>/` (the replay
//! test fails until all of them agree).

use crate::config::{self, Resolve};
use crate::verify::{known_schemes, RequestParts, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A fuzz target: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by fuzz binary name.
pub const TARGETS: &[(&str, Target)] = &[
    ("config_loader", config_loader),
    ("signature_headers", signature_headers),
    ("proxy_header", proxy_header),
    ("path_normaliser", path_normaliser),
];

/// Relative paths in fuzzed configs resolve here: a directory that does not
/// exist, so no input reads the files next to a real config.
const FUZZ_CONFIG: &str = "/nonexistent/hookgate-fuzz/hookgate.toml";

/// The whole config loader: TOML, serde, every section's validation, and
/// the `check` summary of what loads. Host names are not resolved.
pub fn config_loader(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::parse_with(Path::new(FUZZ_CONFIG), text, Resolve::NumericOnly) {
        Ok(cfg) => {
            let _ = crate::check::summary(&cfg);
        }
        Err(errors) => {
            for e in &errors.0 {
                let _ = e.to_string();
            }
        }
    }
}

/// The time seeds are signed at and requests are checked at.
pub fn fuzz_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A preset's verifier and the headers its signatures travel in.
struct Preset {
    name: &'static str,
    verifier: Verifier,
    headers: Vec<HeaderName>,
}

/// Secrets of the shapes presets take: `whsec_` (Standard Webhooks family),
/// an Ed25519 signing key (`whsk_`: key and public key), Basic credentials,
/// a plain shared secret.
fn secrets() -> Vec<String> {
    use base64::Engine;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let pair = [sk.to_bytes().as_slice(), sk.verifying_key().as_bytes()].concat();
    vec![
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        format!(
            "whsk_{}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ),
        "hook:pa55".into(),
        "fuzz-secret".into(),
    ]
}

/// Every preset that builds with one of [`SECRETS`] (with a public URL for
/// the schemes that sign it), with the header names its `sign` produces.
fn presets() -> &'static [Preset] {
    static P: OnceLock<Vec<Preset>> = OnceLock::new();
    P.get_or_init(|| {
        let secrets = secrets();
        known_schemes()
            .into_iter()
            .filter_map(|name| {
                let verifier = secrets.iter().find_map(|secret| {
                    ["public_url = \"https://hooks.example.com\"\n", ""]
                        .iter()
                        .find_map(|url| {
                            let text = format!("scheme = {name:?}\nsecrets = [{secret:?}]\n{url}");
                            let f = toml::from_str(&text).ok()?;
                            Verifier::from_file(&f, Path::new(".")).ok()
                        })
                })?;
                let headers = sign(&verifier, b"{}")?
                    .into_iter()
                    .filter_map(|(k, _)| HeaderName::from_bytes(k.as_bytes()).ok())
                    .collect();
                Some(Preset {
                    name,
                    verifier,
                    headers,
                })
            })
            .collect()
    })
}

fn parts(headers: &HeaderMap) -> RequestParts<'_> {
    RequestParts {
        method: "POST",
        path_and_query: "/hooks/fuzz?x=1",
        headers,
    }
}

fn sign(v: &Verifier, body: &[u8]) -> Option<Vec<(String, String)>> {
    let h = content_type();
    v.sign(&parts(&h), body, fuzz_now()).ok()
}

fn content_type() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h
}

/// A valid input for [`signature_headers`]: the preset's name, the values it
/// signs `body` with, and the body, one per line.
pub fn signature_seed(preset: &str, body: &[u8]) -> Option<Vec<u8>> {
    let p = presets().iter().find(|p| p.name == preset)?;
    let mut out = preset.as_bytes().to_vec();
    for (_, value) in sign(&p.verifier, body)? {
        out.push(b'\n');
        out.extend(value.as_bytes());
    }
    out.push(b'\n');
    out.extend(body);
    Some(out)
}

/// Every signature-header parser, through the verifier's public API: the
/// input names a preset, then gives a value for each header it signs with
/// (extra lines repeat headers), then the body. Header-only checks run, and
/// the signature check when they pass.
pub fn signature_headers(data: &[u8]) {
    let _ = check_signature(data);
}

/// What [`signature_headers`] decides: `None` for an unknown preset.
fn check_signature(
    data: &[u8],
) -> Option<Result<crate::verify::Verified, crate::reject::Rejection>> {
    let mut lines = data.split(|b| *b == b'\n');
    let name = lines.next()?;
    let preset = presets().iter().find(|p| p.name.as_bytes() == name)?;
    let mut headers = content_type();
    let rest: Vec<&[u8]> = lines.collect();
    let (body, values) = rest
        .split_last()
        .map_or((&[][..], &[][..]), |(b, v)| (*b, v));
    for (i, value) in values.iter().enumerate().take(64) {
        let Some(name) = preset.headers.get(i % preset.headers.len().max(1)) else {
            break;
        };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(name.clone(), v);
        }
    }
    let req = parts(&headers);
    Some(preset.verifier.precheck(&req, fuzz_now()).and_then(|pre| {
        let _ = pre.signature_digest();
        preset.verifier.verify(&pre, &req, body, fuzz_now())
    }))
}

/// The PROXY protocol (v1 and v2) header reader over the input as a stream.
/// It must never read past the header it accepts.
pub fn proxy_header(data: &[u8]) {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut rest = data;
    let result = {
        let mut read = std::pin::pin!(crate::proxy_protocol::read_header(&mut rest));
        // A slice never makes a reader wait: one poll completes.
        match read.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r,
            Poll::Pending => return,
        }
    };
    let consumed = data.len() - rest.len();
    if result.is_ok() {
        assert!(
            consumed <= 16 + 4096,
            "accepted a {consumed}-byte PROXY header"
        );
    }
}

/// The request-target and `Host` normalisers, each fed the whole input.
/// Whatever they accept must come out in normal form: normalising it again
/// changes nothing, and no dot segment, empty segment, encoded slash or
/// backslash is left for an upstream to read differently from the route
/// hookgate matched. Any violation panics, which the fuzzer reports.
pub fn path_normaliser(data: &[u8]) {
    use crate::proxy::target::{normalize_host, normalize_target};
    if let Ok(t) = normalize_target(data) {
        let path = t.path.as_str();
        assert!(path.starts_with('/'), "{path:?} is not absolute");
        assert!(
            !path.contains("//") && !path.split('/').any(|s| s == "." || s == ".."),
            "{path:?} keeps an empty or dot segment"
        );
        assert!(
            !path.contains("%2F") && !path.contains('\\'),
            "{path:?} keeps a slash that reads differently upstream"
        );
        let again = normalize_target(t.path_and_query().as_bytes());
        assert_eq!(
            again.as_ref().map(|a| a.path.as_str()),
            Ok(path),
            "the forwarded target routes differently"
        );
    }
    if let Ok(h) = normalize_host(data) {
        assert!(
            !h.name.ends_with('.') && !h.name.bytes().any(|b| b.is_ascii_uppercase()),
            "{:?} is not in normal form",
            h.name
        );
        assert_eq!(normalize_host(h.header_value().as_bytes()), Ok(h.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated seeds start the fuzzer on requests that verify, so it
    /// explores from the deepest path; a seed that fails is a harness bug.
    #[test]
    fn signature_seeds_verify() {
        let mut n = 0;
        for p in presets() {
            let seed = signature_seed(p.name, b"{\"a\":1}").unwrap();
            let r = check_signature(&seed).unwrap();
            assert!(r.is_ok(), "{}: {:?}", p.name, r.err());
            n += 1;
        }
        assert!(n >= 30, "only {n} presets build with the fuzz secrets");
        let mut tampered = signature_seed("github", b"{}").unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(check_signature(&tampered).unwrap().is_err());
    }

    #[test]
    fn proxy_header_accepts_arbitrary_bytes() {
        for data in [&b""[..], b"PROXY ", b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff"] {
            proxy_header(data);
        }
    }
}
