//! RSA-PSS signatures under a configured public key; JWTs in a header: RS256
//! under a PEM public key or a JWKS file, ES256, and the algorithm a token
//! names can never choose the key type.

use super::*;

const KEY: &[u8] = include_bytes!("../../../tests/fixtures/rsa-signing-key.pk8");
const PUB: &str = include_str!("../../../tests/fixtures/rsa-signing-pub.pem");

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn rs256(header: serde_json::Value, claims: serde_json::Value) -> String {
    let signed = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let kp = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
    let mut sig = vec![0u8; kp.public().modulus_len()];
    kp.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{signed}.{}", b64url(&sig))
}

fn generic(alg: &str, keys: &str) -> Verifier {
    verifier(&format!(
        "scheme = \"generic\"\nalgorithm = {alg:?}\nsignature_header = \"x-jwt\"\n{keys}"
    ))
}

#[test]
fn rs256_with_a_pem_key_or_a_jwks_file() {
    let now = 1_700_000_000u64;
    let token = rs256(
        serde_json::json!({"alg":"RS256","kid":"rsa-1"}),
        serde_json::json!({"iat": now}),
    );
    let hd = h(&[("x-jwt", &token)]);
    let pem = generic("jwt-rs256", &format!("secrets = [{PUB:?}]"));
    assert!(check(&pem, "POST", "/", &hd, b"{}", at(now)).is_ok());
    let jwks_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rsa-signing-jwks.json");
    let jwks = generic("jwt-rs256", &format!("jwks_file = {jwks_path:?}"));
    assert_eq!(
        check(&jwks, "POST", "/", &hd, b"{}", at(now))
            .unwrap()
            .key_id,
        "rsa-1"
    );
    // Stale, and a token claiming HS256 keyed with the public key (algorithm confusion).
    assert_eq!(
        check(&pem, "POST", "/", &hd, b"{}", at(now + 3600)),
        Err(Reason::TimestampOutOfRange)
    );
    let confused = {
        use hmac::{Hmac, Mac};
        let signed = format!(
            "{}.{}",
            b64url(br#"{"alg":"HS256"}"#),
            b64url(format!("{{\"iat\":{now}}}").as_bytes())
        );
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(PUB.as_bytes()).unwrap();
        m.update(signed.as_bytes());
        format!("{signed}.{}", b64url(&m.finalize().into_bytes()))
    };
    assert_eq!(
        check(
            &pem,
            "POST",
            "/",
            &h(&[("x-jwt", &confused)]),
            b"{}",
            at(now)
        ),
        Err(Reason::SignatureMalformed)
    );
    let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(b"{}"));
    assert_eq!(
        check(&pem, "POST", "/", &h(&[("x-jwt", &none)]), b"{}", at(now)),
        Err(Reason::SignatureMalformed)
    );
    assert!(
        config_error("scheme = \"github\"\nsecrets = [\"s\"]\njwks_file = \"x.json\"")
            .starts_with("verify.jwks_file: only for")
    );
}

#[test]
fn plaid_es256_binds_the_body() {
    let p = providers::find("plaid").unwrap();
    let v = verifier(&preset_toml(p, &[&secret_for(p, 3)]));
    let empty = HeaderMap::new();
    let req = RequestParts {
        method: "POST",
        path_and_query: "/",
        headers: &empty,
    };
    let body = br#"{"webhook_type":"ITEM","webhook_code":"WEBHOOK_UPDATE_ACKNOWLEDGED"}"#;
    let signed = v.sign(&req, body, at(1_700_000_000)).unwrap();
    let hd = headers(&signed);
    assert!(check(&v, "POST", "/", &hd, body, at(1_700_000_000)).is_ok());
    assert_eq!(
        check(&v, "POST", "/", &hd, b"{}", at(1_700_000_000)),
        Err(Reason::SignatureInvalid)
    );
}

/// RSA-PSS (SHA-256) from `generic` with a configured PEM key, against a
/// signature OpenSSL made (tests/fixtures/rsa-pss-vector.json): accepted as
/// sent, refused when the body, the timestamp or the signature changes, or
/// under another key.
#[test]
fn rsa_pss_sha256_verifies_an_openssl_signature_and_nothing_else() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/rsa-pss-vector.json")).unwrap();
    let field = |k: &str| doc[k].as_str().unwrap().to_string();
    let (ts, body, sig) = (field("timestamp"), field("body"), field("signature"));
    let pss = |key: &str| {
        verifier(&format!(
            "scheme = \"generic\"\nalgorithm = \"rsa-pss-sha256\"\nsignature_header = \"x-signature\"\n\
             signature_encoding = \"base64\"\ntimestamp_header = \"x-timestamp\"\n\
             signed_content = \"{{timestamp}}.{{body}}\"\nsecrets = [{key:?}]"
        ))
    };
    let v = pss(PUB);
    let now = at(1_700_000_000);
    let sent = |ts: &str, sig: &str, body: &str| {
        check(
            &v,
            "POST",
            "/",
            &h(&[("x-timestamp", ts), ("x-signature", sig)]),
            body.as_bytes(),
            now,
        )
    };
    assert!(sent(&ts, &sig, &body).is_ok());
    assert_eq!(
        sent(&ts, &sig, &body.replace("caf", "CAF")),
        Err(Reason::SignatureInvalid)
    );
    assert_eq!(
        sent("1700000001", &sig, &body),
        Err(Reason::SignatureInvalid)
    );
    let mut flipped = base64::engine::general_purpose::STANDARD
        .decode(&sig)
        .unwrap();
    flipped[10] ^= 1;
    let flipped = base64::engine::general_purpose::STANDARD.encode(flipped);
    assert_eq!(sent(&ts, &flipped, &body), Err(Reason::SignatureInvalid));
    let other = pss(include_str!("../../../tests/fixtures/rsa-other-pub.pem"));
    assert_eq!(
        check(
            &other,
            "POST",
            "/",
            &h(&[("x-timestamp", &ts), ("x-signature", &sig)]),
            body.as_bytes(),
            now
        ),
        Err(Reason::SignatureInvalid)
    );
    // A PKCS#1 v1.5 signature by the same key is not a PSS one.
    let kp = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
    let mut v15 = vec![0u8; kp.public().modulus_len()];
    kp.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        format!("{ts}.{body}").as_bytes(),
        &mut v15,
    )
    .unwrap();
    let v15 = base64::engine::general_purpose::STANDARD.encode(v15);
    assert_eq!(sent(&ts, &v15, &body), Err(Reason::SignatureInvalid));
    // A key that is not RSA is refused at load.
    assert!(config_error(
        "scheme = \"generic\"\nalgorithm = \"rsa-pss-sha256\"\nsignature_header = \"x\"\nsecrets = [\"not a key\"]"
    )
    .contains("RSA public key"));
}
