//! Signatures end to end: every signable preset through the running gateway
//! to a real upstream, and the rejections a sender sees.

use crate::harness::*;
use base64::Engine;
use hookgate::verify::providers::PROVIDERS;
use hookgate::verify::spec::{Handshake, KeyFmt, Provider, Sig, Ts};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// A secret of the right shape for a row (a signing key for public-key schemes).
fn secret_for(p: &Provider) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match p.spec.key {
        KeyFmt::Whsec | KeyFmt::RawAndBase64 => format!("whsec_{}", b64(&[5u8; 24])),
        KeyFmt::Ed25519 => {
            let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
            format!(
                "whsk_{}",
                b64(&[sk.to_bytes().as_slice(), sk.verifying_key().as_bytes()].concat())
            )
        }
        KeyFmt::EcdsaP256 | KeyFmt::Jwk => {
            use p256::pkcs8::EncodePrivateKey;
            let sk = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
            sk.to_pkcs8_pem(Default::default()).unwrap().to_string()
        }
        KeyFmt::Basic => "hook:pa55".into(),
        KeyFmt::Base64 => b64(&[4u8; 32]),
        KeyFmt::Hex => hex::encode([4u8; 32]),
        _ => format!("{}-secret", p.name),
    }
}

fn verify_table_for(p: &Provider, extra: &str) -> String {
    let mut knobs = String::new();
    if p.spec.content.contains("{url}") {
        knobs += "public_url = \"https://hooks.example.com\"\n";
    }
    match p.handshake {
        Some(Handshake::HubChallenge { .. }) => knobs += "verify_token = \"vt\"\n",
        Some(Handshake::AsanaSecret) => knobs += "handshake = false\n",
        _ => {}
    }
    format!(
        "[route.verify]\nscheme = {:?}\nsecrets = [{:?}]\n{knobs}{extra}",
        p.name,
        secret_for(p)
    )
}

fn verify_table(scheme: &str, secrets: &[String], extra: &str) -> String {
    let list: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[route.verify]\nscheme = {scheme:?}\nsecrets = [{}]\n{extra}",
        list.join(", ")
    )
}

fn post(
    gw: &Gateway,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> reqwest::blocking::Response {
    let mut req = client().post(gw.url(path)).body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().unwrap()
}

fn error_of(r: reqwest::blocking::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (
        status,
        r.json::<serde_json::Value>().unwrap()["error"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[test]
fn every_signable_preset_forwards_exact_bytes_and_refuses_tampering() {
    let up = Upstream::start();
    let rows: Vec<&Provider> = PROVIDERS
        .iter()
        .filter(|p| !matches!(p.spec.sig, Sig::Body { .. }) && p.spec.key != KeyFmt::Remote)
        .collect();
    let mut routes = String::new();
    for p in &rows {
        routes += &route(
            p.name,
            &format!("/hooks/{}", p.name),
            up.addr,
            &verify_table_for(p, ""),
        );
    }
    let gw = Gateway::start(&routes);
    for p in &rows {
        let s = p.name;
        let v = signer(&verify_table_for(p, ""));
        let path = format!("/hooks/{s}?delivery=1");
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let (ctype, body): (&str, Vec<u8>) = if p.spec.content.contains("{form:sorted}") {
            (
                "application/x-www-form-urlencoded",
                b"CallSid=CA1&Digits=1234".to_vec(),
            )
        } else if let Ts::Body { path, .. } = p.spec.ts {
            (
                "application/json",
                format!("{{\"provider\":\"{s}\",\"{path}\":{now_ms}}}\r\n").into_bytes(),
            )
        } else {
            (
                "application/json",
                format!("{{\"provider\":\"{s}\",\"bytes\":\"\\u00e9\\t\"}}\r\n").into_bytes(),
            )
        };
        let headers = sign(&v, &path, ctype, &body, SystemTime::now());
        let before = up.received().len();
        let r = post(&gw, &path, &headers, &body);
        assert_eq!(
            r.status(),
            200,
            "{s}: {}",
            gw.logs().lines().last().unwrap_or("")
        );
        let got = up.received();
        assert_eq!(got.len(), before + 1, "{s}");
        let rec = got.last().unwrap();
        assert!(rec.body == body, "{s}: upstream got different bytes");
        assert_eq!(
            rec.header("x-hookgate-verified"),
            Some(format!("{}; key=0", v.scheme_name())),
            "{s}"
        );

        if v.covers_body() {
            let mut tampered = body.clone();
            tampered[2] ^= 0x01;
            assert_eq!(
                error_of(post(&gw, &path, &headers, &tampered)),
                (401, "signature_invalid".into()),
                "{s}"
            );
        }
        let unsigned: Vec<_> = headers
            .iter()
            .filter(|(k, _)| k == "content-type")
            .cloned()
            .collect();
        assert_eq!(
            error_of(post(&gw, &path, &unsigned, &body)),
            (401, "signature_missing".into()),
            "{s}"
        );
        assert_eq!(
            up.received().len(),
            before + 1,
            "{s}: a rejected request reached the upstream"
        );
    }
    assert_eq!(
        gw.metric("hookgate_signatures_verified_total{key=\"0\",route=\"stripe\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"signature_invalid\",route=\"github\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"signature_missing\",route=\"slack\"}"),
        1.0
    );
}

#[test]
fn headers_are_checked_before_the_body_is_read() {
    let up = Upstream::start();
    let gw = Gateway::start(&route(
        "gh",
        "/gh",
        up.addr,
        &verify_table("github", &["s".into()], ""),
    ));
    // Promise a large body and send none: without a signature hookgate must
    // answer 401 at once, not wait for (and buffer) the body.
    let resp = raw_request(
        gw.addr,
        "POST /gh HTTP/1.1\r\nhost: t\r\ncontent-length: 900000\r\n\r\n",
        b"",
    );
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(resp.contains("\"error\":\"signature_missing\""), "{resp}");
    let resp = raw_request(gw.addr, "POST /gh HTTP/1.1\r\nhost: t\r\nx-hub-signature-256: md5=zz\r\ncontent-length: 900000\r\n\r\n", b"");
    assert!(resp.contains("\"error\":\"signature_malformed\""), "{resp}");
    assert_eq!(
        gw.metric("hookgate_request_body_bytes_total{route=\"gh\"}"),
        0.0,
        "no body byte was read"
    );
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let up = Upstream::start();
    let table = verify_table("slack", &["slack-secret".into()], "tolerance = \"2m\"\n");
    let gw = Gateway::start(&route("slack", "/slack", up.addr, &table));
    let v = signer(&table);
    let body = b"token=x&text=hi";
    for (when, label) in [
        (SystemTime::now() - Duration::from_secs(600), "stale"),
        (SystemTime::now() + Duration::from_secs(600), "future"),
    ] {
        let h = sign(
            &v,
            "/slack",
            "application/x-www-form-urlencoded",
            body,
            when,
        );
        assert_eq!(
            error_of(post(&gw, "/slack", &h, body)),
            (401, "timestamp_out_of_range".into()),
            "{label}"
        );
    }
    let mut h = sign(
        &v,
        "/slack",
        "application/x-www-form-urlencoded",
        body,
        SystemTime::now(),
    );
    h.retain(|(k, _)| k != "x-slack-request-timestamp");
    assert_eq!(
        error_of(post(&gw, "/slack", &h, body)),
        (401, "timestamp_missing".into())
    );
    h.push(("x-slack-request-timestamp".into(), "soon".into()));
    assert_eq!(
        error_of(post(&gw, "/slack", &h, body)),
        (401, "timestamp_invalid".into())
    );
    assert!(up.received().is_empty());
}

#[test]
fn forged_verification_header_is_replaced() {
    let up = Upstream::start();
    let table = verify_table("github", &["a".into(), "b".into()], "");
    let gw = Gateway::start(&route("gh", "/gh", up.addr, &table));
    let second = signer(&verify_table("github", &["b".into()], ""));
    let mut h = sign(&second, "/gh", "application/json", b"{}", SystemTime::now());
    h.push(("x-hookgate-verified".into(), "github; key=forged".into()));
    assert_eq!(post(&gw, "/gh", &h, b"{}").status(), 200);
    let rec = up.received().pop().unwrap();
    assert_eq!(
        rec.header_all("x-hookgate-verified"),
        vec!["github; key=1".to_string()],
        "rotation reports the second key"
    );
    assert_eq!(
        gw.metric("hookgate_signatures_verified_total{key=\"1\",route=\"gh\"}"),
        1.0
    );
}

#[test]
fn secret_rotation_by_reload_and_env_file_references() {
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("gh.secret");
    std::fs::write(&secret_file, "old-secret\n").unwrap();
    let table = verify_table(
        "github",
        &[
            format!("file:{}", secret_file.display()),
            "env:HOOKGATE_IT_SECRET".into(),
        ],
        "",
    );
    let gw = Gateway::launch(
        "",
        &route("gh", "/gh", up.addr, &table),
        &[("HOOKGATE_IT_SECRET", "env-secret")],
    );
    let signed_with = |secret: &str| {
        sign(
            &signer(&verify_table("github", &[secret.into()], "")),
            "/gh",
            "application/json",
            b"{}",
            SystemTime::now(),
        )
    };
    assert_eq!(
        post(&gw, "/gh", &signed_with("old-secret"), b"{}").status(),
        200,
        "file: secret, newline trimmed"
    );
    assert_eq!(
        post(&gw, "/gh", &signed_with("env-secret"), b"{}").status(),
        200,
        "env: secret"
    );

    std::fs::write(&secret_file, "new-secret\n").unwrap();
    assert_eq!(
        post(&gw, "/gh", &signed_with("new-secret"), b"{}").status(),
        401,
        "not before the reload"
    );
    assert_eq!(
        client()
            .post(format!("http://{}/reload", gw.admin))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        post(&gw, "/gh", &signed_with("new-secret"), b"{}").status(),
        200,
        "re-read on reload"
    );
    assert_eq!(
        post(&gw, "/gh", &signed_with("old-secret"), b"{}").status(),
        401,
        "old one gone"
    );
}

#[test]
fn sign_cli_produces_a_working_curl_command() {
    let up = Upstream::start();
    let table = verify_table("stripe", &["whsec_cli".into()], "");
    let gw = Gateway::start(&route("stripe", "/hooks/stripe", up.addr, &table));
    let body = gw.dir.path().join("event.json");
    std::fs::write(&body, "{\"id\":\"evt_1\",\"object\":\"event\"}").unwrap();
    let out = Command::new(bin())
        .args(["sign", "--route", "stripe", "--format", "curl", "-c"])
        .arg(&gw.config)
        .arg("--body")
        .arg(&body)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmd = String::from_utf8(out.stdout).unwrap();
    assert!(cmd.contains("-H 'stripe-signature: t="), "{cmd}");
    let run = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
    assert!(run.status.success(), "{cmd}");
    let rec = up.received().pop().expect("forwarded");
    assert_eq!(rec.body, std::fs::read(&body).unwrap());
    assert_eq!(
        rec.header("x-hookgate-verified").as_deref(),
        Some("stripe; key=0")
    );

    let out = Command::new(bin())
        .args(["sign", "--route", "nope", "-c"])
        .arg(&gw.config)
        .arg("--body")
        .arg(&body)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "no route named \"nope\""
    );
}
