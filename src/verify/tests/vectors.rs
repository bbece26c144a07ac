//! Published and derived vectors, and (from `make vectors`) SDK-signed fixtures.

use super::*;

#[test]
fn every_vector_passes_and_fails_when_tampered() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("vectors.json")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for vec in doc["vectors"].as_array().unwrap() {
        let provider = vec["provider"].as_str().unwrap();
        let scheme = match provider {
            "coinbase-commerce" => "coinbase",
            "twilio-json" => "twilio",
            p => p,
        };
        seen.insert(scheme);
        let secret = vec["secret"]
            .as_str()
            .or(vec["public_key"].as_str())
            .unwrap();
        let mut toml_src = format!(
            "scheme = {scheme:?}\nsecrets = [{}]\ntolerance = \"3650d\"\n",
            toml::Value::String(secret.to_string())
        );
        let (mut path, method) = (
            "/hook".to_string(),
            vec["method"].as_str().unwrap_or("POST"),
        );
        let mut hdrs: Vec<(String, String)> = vec["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let mut body = vec["body"].as_str().unwrap_or("").to_string();
        if let Some(url) = vec["url"].as_str() {
            let after_scheme = url.find("://").unwrap() + 3;
            let split = url[after_scheme..]
                .find('/')
                .map_or(url.len(), |i| i + after_scheme);
            toml_src.push_str(&format!("public_url = {:?}\n", &url[..split]));
            path = url[split..].to_string();
        }
        if let Some(form) = vec["form"].as_object() {
            body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    form.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
                )
                .finish();
            hdrs.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if let Some(form) = vec["form_multi"].as_array() {
            body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    form.iter()
                        .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap())),
                )
                .finish();
            hdrs.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let v = verifier(&toml_src);
        let h = headers(&hdrs);
        let now = at(1_700_000_000);
        let ok = check(&v, method, &path, &h, body.as_bytes(), now);
        assert!(ok.is_ok(), "{provider} vector failed: {ok:?}");
        let mut tampered = body.clone().into_bytes();
        tampered[0] ^= 1;
        assert_eq!(
            check(&v, method, &path, &h, &tampered, now),
            Err(Reason::SignatureInvalid),
            "{provider}: tampered body accepted"
        );
    }
    for p in PROVIDERS
        .iter()
        .filter(|p| p.vector.starts_with("published"))
    {
        assert!(
            seen.contains(p.name),
            "{}: the table says published, but vectors.json has none",
            p.name
        );
    }
}

/// The `generic` knobs equivalent to a row, when generic can express it.
fn generic_knobs(p: &Provider) -> Option<String> {
    use crate::verify::spec::{Alg, Enc as E, KeyFmt as K};
    let s = &p.spec;
    let alg = match s.alg {
        Alg::HmacSha1 | Alg::HmacSha256 | Alg::HmacSha512 | Alg::Ed25519 => s.alg.label(),
        _ => return None,
    };
    if s.alg_switch.is_some() || s.content.contains("{url}") || s.content.contains("{form") {
        return None;
    }
    let mut k = format!(
        "algorithm = {alg:?}\nsignature_encoding = {:?}\nsigned_content = {:?}\n",
        s.enc.label(),
        s.content
    );
    match s.sig {
        Sig::Header { name, prefix } => k += &format!("signature_header = {name:?}\nsignature_prefix = {prefix:?}\n"),
        Sig::List { name, sep, prefix } => k += &format!("signature_header = {name:?}\nsignature_prefix = {prefix:?}\nsignature_separator = \"{sep}\"\n"),
        Sig::Pairs { name, sep, key, ts_key, groups: None } => {
            k += &format!("signature_header = {name:?}\nsignature_separator = \"{sep}\"\nsignature_key = {key:?}\n");
            if !ts_key.is_empty() {
                k += &format!("timestamp_key = {ts_key:?}\n");
            }
        }
        _ => return None,
    }
    match s.ts {
        Ts::None => {}
        Ts::Header { name, fmt } => {
            k += &format!(
                "timestamp_header = {name:?}\ntimestamp_format = {:?}\n",
                fmt.label()
            )
        }
        Ts::Pair { fmt } => k += &format!("timestamp_format = {:?}\n", fmt.label()),
        _ => return None,
    }
    k += match s.key {
        K::Raw => "secret_encoding = \"raw\"\n",
        K::Base64 => "secret_encoding = \"base64\"\n",
        K::Hex => "secret_encoding = \"hex\"\n",
        K::Whsec => "secret_encoding = \"whsec\"\n",
        K::Ed25519 => "",
        _ => return None,
    };
    let _ = E::Hex;
    Some(k)
}

/// `generic` expresses every body-only and header-timestamp row: rebuilt from
/// the knobs, at least ten presets verify their vectors exactly as the preset does.
#[test]
fn generic_rebuilds_presets_that_verify_the_same_vectors() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("vectors.json")).unwrap();
    let mut rebuilt = std::collections::BTreeSet::new();
    for vec in doc["vectors"].as_array().unwrap() {
        let Some(p) = providers::find(vec["provider"].as_str().unwrap()) else {
            continue;
        };
        let Some(knobs) = generic_knobs(p) else {
            continue;
        };
        if vec.get("url").is_some() || vec.get("form").is_some() {
            continue;
        }
        let secret = vec["secret"]
            .as_str()
            .or(vec["public_key"].as_str())
            .unwrap();
        let toml_src = format!(
            "scheme = \"generic\"\n{knobs}secrets = [{}]\ntolerance = \"3650d\"\n",
            toml::Value::String(secret.to_string())
        );
        let v = verifier(&toml_src);
        let hdrs: Vec<(String, String)> = vec["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let body = vec["body"].as_str().unwrap().as_bytes();
        let got = check(
            &v,
            "POST",
            "/hook",
            &headers(&hdrs),
            body,
            at(1_700_000_000),
        );
        assert!(got.is_ok(), "{} as generic: {got:?}\n{toml_src}", p.name);
        rebuilt.insert(p.name);
    }
    assert!(rebuilt.len() >= 10, "only {rebuilt:?}");
    // Every body-only and header-timestamp row has a generic form.
    for p in PROVIDERS.iter().filter(|p| {
        matches!(p.spec.sig, Sig::Header { .. } | Sig::List { .. })
            && matches!(p.spec.ts, Ts::None | Ts::Header { .. })
            && p.spec.alg_switch.is_none()
            && !p.spec.content.contains("{url}")
            && !matches!(
                p.spec.alg,
                crate::verify::spec::Alg::EcdsaP256
                    | crate::verify::spec::Alg::Token
                    | crate::verify::spec::Alg::JwtHs256
            )
            && !matches!(p.spec.key, KeyFmt::RawAndBase64)
    }) {
        assert!(generic_knobs(p).is_some(), "{}", p.name);
    }
}

/// Mailgun signs `{timestamp}{token}` inside the body: verified, stale
/// timestamps refused, and the replay key is the signature of the token.
#[test]
fn mailgun_signature_inside_the_body() {
    use hmac::{Hmac, Mac};
    let v = verifier("scheme = \"mailgun\"\nsecrets = [\"key-hush\"]");
    let make = |ts: &str, token: &str, event: &str| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"key-hush").unwrap();
        m.update(ts.as_bytes());
        m.update(token.as_bytes());
        let sig = hex::encode(m.finalize().into_bytes());
        format!("{{\"signature\":{{\"timestamp\":\"{ts}\",\"token\":\"{token}\",\"signature\":\"{sig}\"}},\"event-data\":{{\"event\":\"{event}\"}}}}")
    };
    let none = HeaderMap::new();
    let body = make("1700000000", "tok-1", "delivered");
    let ok = check(&v, "POST", "/", &none, body.as_bytes(), at(1_700_000_100)).unwrap();
    let other = make("1700000000", "tok-2", "delivered");
    let ok2 = check(&v, "POST", "/", &none, other.as_bytes(), at(1_700_000_100)).unwrap();
    assert_ne!(
        ok.signature_digest, ok2.signature_digest,
        "distinct deliveries, distinct keys"
    );
    assert_eq!(
        check(&v, "POST", "/", &none, body.as_bytes(), at(1_700_003_600)),
        Err(Reason::TimestampOutOfRange)
    );
    let forged = body.replace("\"signature\":\"", "\"signature\":\"00");
    assert_eq!(
        check(&v, "POST", "/", &none, forged.as_bytes(), at(1_700_000_100)),
        Err(Reason::SignatureInvalid)
    );
    assert_eq!(
        check(&v, "POST", "/", &none, b"{\"event-data\":{}}", at(1)),
        Err(Reason::SignatureMissing)
    );
    // The event data is not signed (Mailgun's scheme): hookgate says so.
    assert!(!v.covers_body());
    assert_eq!(v.default_replay_key(), &DefaultKey::Signature);
}

/// Check every entry of a fixture file under its preset (body tampering
/// refused where the body is signed); returns the presets covered.
fn check_fixture(text: &str) -> std::collections::BTreeSet<String> {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for vec in doc["vectors"].as_array().unwrap() {
        let name = vec["provider"].as_str().unwrap();
        let from = vec["sdk"].as_str().or(vec["source"].as_str()).unwrap_or("");
        let p = providers::find(name).unwrap_or_else(|| panic!("{name}: no such preset"));
        let mut toml_src = format!(
            "scheme = {name:?}\nsecrets = [{}]\ntolerance = \"3650d\"\n",
            toml::Value::String(vec["secret"].as_str().unwrap().to_string())
        );
        let mut path = "/hook".to_string();
        if let Some(url) = vec["url"].as_str() {
            let start = url.find("://").unwrap() + 3;
            let split = url[start..].find('/').map_or(url.len(), |i| i + start);
            toml_src += &format!("public_url = {:?}\n", &url[..split]);
            path = url[split..].to_string();
        }
        if matches!(p.handshake, Some(Handshake::HubChallenge { .. })) {
            toml_src += "verify_token = \"vt\"\n";
        }
        if matches!(p.handshake, Some(Handshake::AsanaSecret)) {
            toml_src += "handshake = false\n";
        }
        let v = verifier(&toml_src);
        let hdrs: Vec<(String, String)> = vec["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let body = vec["body"].as_str().unwrap().as_bytes();
        let got = check(&v, "POST", &path, &headers(&hdrs), body, at(1_700_000_000));
        assert!(got.is_ok(), "{name} ({from}): {got:?}");
        if !body.is_empty() && v.covers_body() {
            let mut tampered = body.to_vec();
            tampered[0] ^= 1;
            assert!(
                check(
                    &v,
                    "POST",
                    &path,
                    &headers(&hdrs),
                    &tampered,
                    at(1_700_000_000)
                )
                .is_err(),
                "{name}/{from}"
            );
        }
        covered.insert(name.to_string());
    }
    covered
}

const SDK_VECTORS: &str = include_str!("../../../tests/fixtures/sdk-vectors.json");
const DERIVED_VECTORS: &str = include_str!("../../../tests/fixtures/derived-vectors.json");

/// Every request the providers' SDKs signed (`make vectors`) verifies under
/// its preset, and fails once a body byte changes.
#[test]
fn sdk_signed_fixtures_verify() {
    let covered = check_fixture(SDK_VECTORS);
    assert!(covered.len() >= 10, "{covered:?}");
}

/// Vectors computed by a second implementation of each row's documented
/// scheme (tests/vectors/derive.py) verify under the preset.
#[test]
fn derived_vectors_verify() {
    let covered = check_fixture(DERIVED_VECTORS);
    assert!(covered.len() >= 50, "{}", covered.len());
}

/// Every row has at least one vector: published, SDK-signed, derived by the
/// independent implementation, or a dedicated test its row names.
#[test]
fn every_row_has_a_vector() {
    let mut covered = check_fixture(SDK_VECTORS);
    covered.extend(check_fixture(DERIVED_VECTORS));
    let doc: serde_json::Value = serde_json::from_str(include_str!("vectors.json")).unwrap();
    for v in doc["vectors"].as_array().unwrap() {
        let n = v["provider"].as_str().unwrap();
        covered.insert(match n {
            "coinbase-commerce" => "coinbase".into(),
            "twilio-json" => "twilio".into(),
            n => n.to_string(),
        });
    }
    for p in PROVIDERS {
        assert!(
            covered.contains(p.name) || p.vector.starts_with("dedicated test"),
            "{} has no vector",
            p.name
        );
    }
}

/// A row that says it is tested against an SDK (`sdk: <package> …`) has
/// fixtures signed or accepted by that package in `make vectors`' output, so
/// the README's "tested against" column never claims an SDK run that the
/// committed fixtures do not hold.
#[test]
fn sdk_claims_come_from_make_vectors() {
    let doc: serde_json::Value = serde_json::from_str(SDK_VECTORS).unwrap();
    let entries = doc["vectors"].as_array().unwrap();
    for p in PROVIDERS.iter().filter(|p| p.vector.starts_with("sdk")) {
        let package = p
            .vector
            .strip_prefix("sdk: ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: write `sdk: <package> <call>`", p.name));
        assert!(
            entries.iter().any(|v| v["provider"] == p.name
                && v["sdk"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&format!("{package} ")))),
            "{}: the row claims {package}, but tests/fixtures/sdk-vectors.json has no entry from it",
            p.name
        );
    }
}
