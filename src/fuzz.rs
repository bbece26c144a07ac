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
use crate::verify::providers;
use crate::verify::spec::{Handshake, KeyFmt, Provider};
use crate::verify::{AfterBody, BeforeBody, RequestParts, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use parking_lot::Mutex;
use std::collections::HashMap;
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

/// The time requests are checked at: the time the rows' vectors were
/// signed at (published vectors are older; see [`SIGNATURE_TOLERANCE`]).
pub fn fuzz_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Wide enough for the published vectors' own timestamps, so every vector
/// is a seed that verifies; timestamps are still parsed and compared.
const SIGNATURE_TOLERANCE: &str = "3650d";

/// Verifiers built so far, by (row, secret, public URL): building one per
/// input would spend the fuzzer's time parsing keys. Bounded: cleared when full.
type Built = HashMap<(String, String, Option<String>), Option<Verifier>>;
const MAX_BUILT: usize = 1024;

/// One input for [`signature_headers`], as [`signature_input`] writes it:
///
/// ```text
/// <row name>
/// <secret, with \n for line breaks (PEM keys)>
/// <METHOD> <path and query, or an absolute URL: its origin is public_url>
/// <Name>: <value>          (any number of header lines)
///
/// <body, any bytes>
/// ```
pub struct SignatureInput<'a> {
    /// A row of `verify::providers::PROVIDERS`.
    pub row: &'a str,
    /// The route's secret (a literal; `env:`/`file:` are never read).
    pub secret: &'a str,
    /// Request method.
    pub method: &'a str,
    /// Path and query, or an absolute URL for schemes that sign it.
    pub target: &'a str,
    /// Request headers in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// Request body.
    pub body: &'a [u8],
}

/// The bytes [`signature_headers`] reads for `input`.
pub fn signature_input(input: &SignatureInput<'_>) -> Vec<u8> {
    let mut out = format!(
        "{}\n{}\n{} {}\n",
        input.row,
        input.secret.replace('\n', "\\n"),
        input.method,
        input.target
    );
    for (k, v) in &input.headers {
        out += &format!("{k}: {v}\n");
    }
    out.push('\n');
    let mut out = out.into_bytes();
    out.extend_from_slice(input.body);
    out
}

/// Every row through the verifier's public API, as the request path calls
/// it: the input names a row, a secret and a request (see
/// [`SignatureInput`]); `before_body` runs (answering a header or query
/// handshake, or checking signature and timestamp headers), then
/// `after_body` over the body (verification, then signed handshakes). Rows
/// that fetch a certificate (SNS, PayPal) run the synchronous `verify`
/// instead, which finds none cached: the fuzzer never touches the network.
pub fn signature_headers(data: &[u8]) {
    let _ = signature_verdict(data);
}

/// What [`signature_headers`] decides: `None` when the input names no row
/// or its secret builds no verifier; `Some(Ok(true))` for a verified
/// request, `Some(Ok(false))` for a handshake answered.
pub fn signature_verdict(data: &[u8]) -> Option<Result<bool, crate::reject::Rejection>> {
    let input = parse_input(data)?;
    let req = RequestParts {
        method: input.method,
        path_and_query: input.path,
        headers: &input.headers,
    };
    Some(run(&input.verifier, &req, input.body))
}

/// A [`SignatureInput`] read back, with the row's verifier built.
struct Parsed<'a> {
    verifier: Verifier,
    method: &'a str,
    path: &'a str,
    headers: HeaderMap,
    body: &'a [u8],
}

fn parse_input(data: &[u8]) -> Option<Parsed<'_>> {
    let at = data.windows(2).position(|w| w == b"\n\n")?;
    let (head, body) = (std::str::from_utf8(&data[..at]).ok()?, &data[at + 2..]);
    let mut lines = head.split('\n');
    let (row, secret, request) = (lines.next()?, lines.next()?, lines.next()?);
    let (method, target) = request.split_once(' ')?;
    // An absolute URL: its origin is the public URL the sender signed.
    let (public_url, path) = match target.find("://") {
        Some(i) => target.split_at(
            target[i + 3..]
                .find('/')
                .map_or(target.len(), |j| i + 3 + j),
        ),
        None => ("", target),
    };
    let mut headers = HeaderMap::new();
    for line in lines.take(64) {
        let (k, v) = line.split_once(": ")?;
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).ok()?,
            HeaderValue::from_str(v).ok()?,
        );
    }
    let public_url = (!public_url.is_empty()).then_some(public_url);
    Some(Parsed {
        verifier: verifier(row, &secret.replace("\\n", "\n"), public_url)?,
        method,
        path,
        headers,
        body,
    })
}

/// A [`signature_headers`] input from one of the rows' test vectors (the
/// format of `tests/fixtures/*-vectors.json` and the published vectors):
/// a request that verifies, so the fuzzer starts from the deepest path.
/// Returns the row's name and the input.
pub fn signature_seed(vector: &serde_json::Value) -> Option<(&'static str, Vec<u8>)> {
    let name = match vector["provider"].as_str()? {
        "coinbase-commerce" => "coinbase",
        "twilio-json" => "twilio",
        n => n,
    };
    let row = providers::find(name)?.name;
    let secret = vector["secret"]
        .as_str()
        .or(vector["public_key"].as_str())?;
    let mut headers: Vec<(&str, &str)> = vector["headers"]
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    let pairs: Option<Vec<(&str, &str)>> = match (&vector["form"], &vector["form_multi"]) {
        (serde_json::Value::Object(m), _) => m
            .iter()
            .map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect(),
        (_, serde_json::Value::Array(a)) => a
            .iter()
            .map(|p| Some((p[0].as_str()?, p[1].as_str()?)))
            .collect(),
        _ => None,
    };
    let body = match pairs {
        Some(pairs) => {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        }
        None => vector["body"].as_str().unwrap_or_default().to_string(),
    };
    let target = vector["url"].as_str().unwrap_or("/hook");
    let input = SignatureInput {
        row,
        secret,
        method: vector["method"].as_str().unwrap_or("POST"),
        target,
        headers,
        body: body.as_bytes(),
    };
    Some((row, signature_input(&input)))
}

fn run(
    v: &Verifier,
    req: &RequestParts<'_>,
    body: &[u8],
) -> Result<bool, crate::reject::Rejection> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let pre = match v.before_body(req, fuzz_now())? {
        BeforeBody::Continue(pre) => pre,
        BeforeBody::Answer(_) => return Ok(false),
    };
    if fetches_certificates(v) {
        return v.verify(&pre, req, body, fuzz_now()).map(|_| true);
    }
    // No certificate to fetch: nothing in after_body waits, one poll completes.
    let mut after = std::pin::pin!(v.after_body(&pre, req, body, fuzz_now()));
    match after.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.map(|a| matches!(a, AfterBody::Verified(_, None))),
        Poll::Pending => Ok(false),
    }
}

fn fetches_certificates(v: &Verifier) -> bool {
    v.provider().is_some_and(|p| p.spec.key == KeyFmt::Remote)
}

/// Row `row`'s verifier with `secret`, built as a route's would be (with
/// the knobs its handshake or certificate fetch requires), or `None`.
fn verifier(row: &str, secret: &str, public_url: Option<&str>) -> Option<Verifier> {
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    // A secret file or variable is never read on the fuzzer's say-so.
    if secret.starts_with("env:") || secret.starts_with("file:") {
        return None;
    }
    let p = providers::find(row)?;
    let key = (
        p.name.to_string(),
        secret.to_string(),
        public_url.map(str::to_string),
    );
    let mut built = BUILT.get_or_init(Default::default).lock();
    if built.len() >= MAX_BUILT {
        built.clear();
    }
    built
        .entry(key)
        .or_insert_with(|| build(p, secret, public_url))
        .clone()
}

fn build(p: &Provider, secret: &str, public_url: Option<&str>) -> Option<Verifier> {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = format!(
        "scheme = {}\ntolerance = \"{SIGNATURE_TOLERANCE}\"\n",
        quote(p.name)
    );
    if p.spec.key == KeyFmt::Remote {
        text += "topic_arns = [\"arn:aws:sns:us-east-1:123456789012:fuzz\"]\n";
        if p.spec.content.contains("{config:webhook_id}") {
            text += "webhook_id = \"WH-FUZZ\"\n";
        }
    } else {
        text += &format!("secrets = [{}]\n", quote(secret));
    }
    if p.spec.content.contains("{url}") {
        let url = public_url.unwrap_or("https://hooks.example.com");
        text += &format!("public_url = {}\n", quote(url));
    }
    match p.handshake {
        Some(Handshake::HubChallenge { .. }) => text += "verify_token = \"fuzz-token\"\n",
        // Its handshake stores a secret on disk: not from a fuzzer.
        Some(Handshake::AsanaSecret) => text += "handshake = false\n",
        _ => {}
    }
    let f = toml::from_str(&text).ok()?;
    Verifier::from_file(&f, Path::new(FUZZ_CONFIG), "fuzz").ok()
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
    use crate::target::{normalize_host, normalize_target};
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

    /// Every vector of every row, as a fuzz seed, is a request that
    /// verifies through the same calls the request path makes; with a body
    /// byte changed it no longer does (where the row signs the body).
    #[test]
    fn every_vector_is_a_seed_that_verifies() {
        let mut rows = std::collections::BTreeSet::new();
        for file in [
            include_str!("verify/tests/vectors.json"),
            include_str!("../tests/fixtures/sdk-vectors.json"),
            include_str!("../tests/fixtures/derived-vectors.json"),
        ] {
            let doc: serde_json::Value = serde_json::from_str(file).unwrap();
            for vector in doc["vectors"].as_array().unwrap() {
                let (row, seed) = signature_seed(vector).unwrap();
                // Ok(false): a signed handshake (Discord's PING) answered.
                let got = signature_verdict(&seed);
                assert!(
                    matches!(got, Some(Ok(_))),
                    "{row}: {got:?}\n{}",
                    String::from_utf8_lossy(&seed)
                );
                let covers_body = parse_input(&seed).unwrap().verifier.covers_body();
                if covers_body && !seed.ends_with(b"\n\n") {
                    let mut tampered = seed.clone();
                    *tampered.last_mut().unwrap() ^= 1;
                    assert!(
                        matches!(signature_verdict(&tampered), Some(Err(_))),
                        "{row}: tampered body verified"
                    );
                }
                rows.insert(row);
            }
        }
        assert!(rows.len() >= 100, "only {} rows have vectors", rows.len());
    }

    /// A row the fuzzer names with a secret that builds nothing, or a secret
    /// it would have to read from the environment or a file, is skipped.
    #[test]
    fn secrets_are_never_read_from_files_or_the_environment() {
        for secret in ["file:/etc/hostname", "env:HOME"] {
            let seed = signature_input(&SignatureInput {
                row: "github",
                secret,
                method: "POST",
                target: "/hook",
                headers: vec![("x-hub-signature-256", "sha256=00")],
                body: b"{}",
            });
            assert!(signature_verdict(&seed).is_none(), "{secret}");
        }
    }

    #[test]
    fn proxy_header_accepts_arbitrary_bytes() {
        for data in [&b""[..], b"PROXY ", b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff"] {
            proxy_header(data);
        }
    }
}
