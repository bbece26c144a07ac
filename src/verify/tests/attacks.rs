//! The same attacks against every row, and the engine's parsing limits.

use super::*;

#[test]
fn twilio_accepts_url_with_or_without_default_port() {
    // From twilio-python's tests: the same request signed over https://mycompany.com:443/...
    let v = verifier(
        "scheme = \"twilio\"\nsecrets = [\"12345\"]\npublic_url = \"https://mycompany.com\"",
    );
    let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let h = headers(&[
        (
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
        (
            "x-twilio-signature".into(),
            "kvajT1Ptam85bY51eRf/AJRuM3w=".into(),
        ),
    ]);
    assert!(check(
        &v,
        "POST",
        "/myapp.php?foo=1&bar=2",
        &h,
        body.as_bytes(),
        at(1)
    )
    .is_ok());
}

#[test]
fn github_legacy_sha1_only_when_enabled() {
    let h = headers(&[(
        "x-hub-signature".into(),
        "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8".into(),
    )]);
    let body = br#"{"foo":"bar"}"#;
    let off = verifier("scheme = \"github\"\nsecrets = [\"mysecret\"]");
    assert_eq!(
        check(&off, "POST", "/", &h, body, at(1)),
        Err(Reason::SignatureMissing)
    );
    let on = verifier("scheme = \"github\"\nsecrets = [\"mysecret\"]\nlegacy_sha1 = true");
    assert!(check(&on, "POST", "/", &h, body, at(1)).is_ok());
}

// === the same attacks against every row ===

#[test]
fn every_preset_rejects_tampering_with_the_right_reason() {
    let now = at(1_700_000_000);
    for p in signable() {
        let scheme = p.name;
        let (body, ctype) = body_for(p, now);
        let body = body.as_slice();
        let (good, bad) = (secret_for(p, 1), secret_for(p, 2));
        let v = verifier(&preset_toml(p, &[&good]));
        let base = vec![("content-type".to_string(), ctype.to_string())];
        let req = RequestParts {
            method: "POST",
            path_and_query: "/hooks/x?a=1",
            headers: &headers(&base),
        };
        let mut signed = v
            .sign(&req, body, now)
            .unwrap_or_else(|e| panic!("{scheme}: {e}"));
        signed.extend(base.clone());
        let h = headers(&signed);
        let ok = check(&v, "POST", "/hooks/x?a=1", &h, body, now);
        assert!(ok.is_ok(), "{scheme}: own signature rejected: {ok:?}");
        assert_eq!(ok.unwrap().key_id, "0");

        if v.covers_body() {
            let mut flipped = body.to_vec();
            flipped[3] ^= 0x20;
            assert_eq!(
                check(&v, "POST", "/hooks/x?a=1", &h, &flipped, now),
                Err(Reason::SignatureInvalid),
                "{scheme}: flipped byte"
            );
        }
        let wrong = verifier(&preset_toml(p, &[&bad]));
        assert_eq!(
            check(&wrong, "POST", "/hooks/x?a=1", &h, body, now),
            Err(Reason::SignatureInvalid),
            "{scheme}: wrong secret"
        );

        // Rotation: the second secret matches and is reported as key 1.
        let rotated = verifier(&preset_toml(p, &[&bad, &good]));
        assert_eq!(
            check(&rotated, "POST", "/hooks/x?a=1", &h, body, now).map(|v| v.key_id),
            Ok("1".into()),
            "{scheme}: rotation"
        );

        // A secret past its validity window is skipped.
        let expired = verifier(&format!(
            "scheme = {scheme:?}\nsecrets = [{{ value = {good:?}, id = \"old\", valid_until = \"2020-01-01T00:00:00Z\" }}]\n{}",
            extra_knobs(p)
        ));
        assert_eq!(
            check(&expired, "POST", "/hooks/x?a=1", &h, body, now),
            Err(Reason::SignatureInvalid),
            "{scheme}: expired secret"
        );

        // Missing and malformed signature: the header(s) the signer added, except timestamps and ids.
        let sig_names: Vec<String> = signed
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .filter(|k| !k.contains("timestamp") && !k.ends_with("-id") && k != "content-type")
            .collect();
        assert!(
            !sig_names.is_empty(),
            "{scheme}: no signature header in {signed:?}"
        );
        let without: Vec<_> = signed
            .iter()
            .filter(|(k, _)| !sig_names.contains(&k.to_ascii_lowercase()))
            .cloned()
            .collect();
        assert_eq!(
            check(&v, "POST", "/hooks/x?a=1", &headers(&without), body, now),
            Err(Reason::SignatureMissing),
            "{scheme}: missing"
        );
        if !matches!(p.spec.sig, Sig::Token { .. }) {
            let mut garbled = without.clone();
            garbled.push((sig_names[0].clone(), "%%%not-a-signature%%%".into()));
            let r = check(&v, "POST", "/hooks/x?a=1", &headers(&garbled), body, now);
            assert_eq!(r, Err(Reason::SignatureMalformed), "{scheme}: malformed");
        }
        let mut doubled = signed.clone();
        let first_sig = signed
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase() == sig_names[0])
            .unwrap()
            .clone();
        doubled.push(first_sig);
        assert!(
            matches!(
                check(&v, "POST", "/hooks/x?a=1", &headers(&doubled), body, now),
                Err(Reason::SignatureMalformed)
            ),
            "{scheme}: duplicate signature header"
        );

        // Timestamps.
        if let Ts::Body { .. } = p.spec.ts {
            let (stale, _) = body_for(p, at(1_700_000_000 - 3600));
            let s = v.sign(&req, &stale, now).unwrap();
            assert_eq!(
                check(&v, "POST", "/hooks/x?a=1", &headers(&s), &stale, now),
                Err(Reason::TimestampOutOfRange),
                "{scheme}: stale body timestamp"
            );
        } else if v.tolerance().is_some() {
            for (skew, label) in [(-3600i64, "stale"), (3600, "future")] {
                let then = at((1_700_000_000i64 + skew) as u64);
                let mut s = v.sign(&req, body, then).unwrap();
                s.extend(base.clone());
                assert_eq!(
                    check(&v, "POST", "/hooks/x?a=1", &headers(&s), body, now),
                    Err(Reason::TimestampOutOfRange),
                    "{scheme}: {label}"
                );
            }
            let ts_header = signed
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase().contains("timestamp"))
                .map(|(k, _)| k.clone());
            if let Some(ts) = ts_header {
                let no_ts: Vec<_> = signed.iter().filter(|(k, _)| *k != ts).cloned().collect();
                assert_eq!(
                    check(&v, "POST", "/hooks/x?a=1", &headers(&no_ts), body, now),
                    Err(Reason::TimestampMissing),
                    "{scheme}: no ts"
                );
                let mut bad_ts = no_ts.clone();
                bad_ts.push((ts, "yesterday".into()));
                assert_eq!(
                    check(&v, "POST", "/hooks/x?a=1", &headers(&bad_ts), body, now),
                    Err(Reason::TimestampInvalid),
                    "{scheme}: bad ts"
                );
            }
        } else {
            // Without a timestamp a day-old capture still verifies: that is what the replay store is for.
            assert!(
                check(&v, "POST", "/hooks/x?a=1", &h, body, at(1_700_086_400)).is_ok(),
                "{scheme}: untimestamped"
            );
        }
    }
}

#[test]
fn sendgrid_verifies_ecdsa_signatures_from_a_generated_key() {
    use p256::ecdsa::{signature::Signer, SigningKey};
    use p256::pkcs8::EncodePublicKey;
    let sk = SigningKey::from_slice(&[3u8; 32]).unwrap();
    let spki = sk.verifying_key().to_public_key_der().unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode(spki.as_bytes());
    let v = verifier(&format!("scheme = \"sendgrid\"\nsecrets = [{key:?}]"));
    let body = b"[{\"event\":\"dropped\"}]\r\n";
    let ts = "1700000000";
    let sig: p256::ecdsa::Signature = sk.sign(&[ts.as_bytes(), body].concat());
    let h = headers(&[
        ("x-twilio-email-event-webhook-timestamp".into(), ts.into()),
        (
            "x-twilio-email-event-webhook-signature".into(),
            base64::engine::general_purpose::STANDARD.encode(sig.to_der()),
        ),
    ]);
    assert!(check(&v, "POST", "/", &h, body, at(1_700_000_000)).is_ok());
    assert_eq!(
        check(&v, "POST", "/", &h, b"[]\r\n", at(1_700_000_000)),
        Err(Reason::SignatureInvalid)
    );
    assert!(v
        .sign(
            &RequestParts {
                method: "POST",
                path_and_query: "/",
                headers: &h
            },
            body,
            at(1)
        )
        .is_err());
}

#[test]
fn generic_template_covers_method_path_and_headers() {
    let v = verifier(
        r#"scheme = "generic"
algorithm = "hmac-sha512"
signature_header = "X-Sig"
signature_prefix = "v2="
signature_encoding = "base64"
timestamp_header = "X-Ts"
signed_content = "{timestamp}.{method}.{path}.{header:X-Id}.{body}"
id_header = "X-Id"
secrets = ["s3cret"]"#,
    );
    assert_eq!(
        v.default_replay_key(),
        &DefaultKey::Header(vec![http::HeaderName::from_static("x-id")], true)
    );
    let now = at(1_700_000_000);
    let req = RequestParts {
        method: "POST",
        path_and_query: "/a?b=c",
        headers: &HeaderMap::new(),
    };
    let signed = v.sign(&req, b"{}", now).unwrap();
    let h = headers(&signed);
    assert!(check(&v, "POST", "/a?b=c", &h, b"{}", now).is_ok());
    assert_eq!(
        check(&v, "PUT", "/a?b=c", &h, b"{}", now),
        Err(Reason::SignatureInvalid),
        "method is signed"
    );
    assert_eq!(
        check(&v, "POST", "/other", &h, b"{}", now),
        Err(Reason::SignatureInvalid),
        "path is signed"
    );
    let mut other_id = signed.clone();
    for (k, val) in other_id.iter_mut() {
        if k == "x-id" {
            *val = "msg_other".into();
        }
    }
    assert_eq!(
        check(&v, "POST", "/a?b=c", &headers(&other_id), b"{}", now),
        Err(Reason::SignatureInvalid),
        "header is signed"
    );
}

#[test]
fn config_errors_name_the_key() {
    let err = |src: &str| {
        let f: FileVerify = toml::from_str(src).unwrap();
        Verifier::from_file(&f, Path::new("."), "test")
            .unwrap_err()
            .to_string()
    };
    assert!(err("scheme = \"strip\"\nsecrets = [\"x\"]")
        .starts_with("verify.scheme: unknown scheme \"strip\" (known: github, stripe"));
    assert_eq!(
        err("scheme = \"github\"\nsecrets = []"),
        "verify.secrets: at least one secret (or public key) is required"
    );
    assert_eq!(
        err("scheme = \"github\"\nsecrets = [\"a\", \"env:HOOKGATE_SURELY_UNSET\"]"),
        "verify.secrets[1]: environment variable HOOKGATE_SURELY_UNSET is not set"
    );
    assert!(err("scheme = \"twilio\"\nsecrets = [\"x\"]").starts_with("verify.public_url:"));
    assert!(
        err("scheme = \"github\"\nsecrets = [\"x\"]\nalgorithm = \"hmac-sha1\"")
            .starts_with("verify.algorithm: only for scheme = \"generic\"")
    );
    assert!(err("scheme = \"discord\"\nsecrets = [\"abcd\"]")
        .starts_with("verify.secrets[0]: Ed25519 public key"));
    assert!(err("scheme = \"generic\"\nsignature_header = \"X\"\nsigned_content = \"{nope}\"\nsecrets = [\"x\"]").contains("unknown placeholder {nope}"));
    assert!(
        err("scheme = \"slack\"\nsecrets = [\"x\"]\nlegacy_sha1 = true")
            .starts_with("verify.legacy_sha1:")
    );
}

#[test]
fn rejection_details_never_contain_the_expected_signature() {
    let v = verifier("scheme = \"github\"\nsecrets = [\"mysecret\"]");
    let expected = "4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3";
    let h = headers(&[(
        "x-hub-signature-256".into(),
        format!("sha256={}", "0".repeat(64)),
    )]);
    let req = RequestParts {
        method: "POST",
        path_and_query: "/",
        headers: &h,
    };
    let pre = v.precheck(&req, at(1)).unwrap();
    let r = v
        .verify(&pre, &req, br#"{"foo":"bar"}"#, at(1))
        .unwrap_err();
    assert_eq!(r.reason, Reason::SignatureInvalid);
    assert!(
        !r.detail.contains(expected) && !r.detail.contains("mysecret"),
        "{}",
        r.detail
    );
}

#[test]
fn oversized_and_overlong_lists_are_malformed_not_panics() {
    let v = verifier(
        "scheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]",
    );
    let many = vec!["v1,AAAA"; 40].join(" ");
    let h = headers(&[
        ("webhook-id".into(), "msg_1".into()),
        ("webhook-timestamp".into(), "1700000000".into()),
        ("webhook-signature".into(), many),
    ]);
    assert_eq!(
        check(&v, "POST", "/", &h, b"{}", at(1_700_000_000)),
        Err(Reason::SignatureMalformed)
    );
    let huge = headers(&[
        ("webhook-id".into(), "msg_1".into()),
        ("webhook-timestamp".into(), "1700000000".into()),
        (
            "webhook-signature".into(),
            format!("v1,{}", "A".repeat(20_000)),
        ),
    ]);
    assert_eq!(
        check(&v, "POST", "/", &huge, b"{}", at(1_700_000_000)),
        Err(Reason::SignatureMalformed)
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn all() -> Vec<Verifier> {
        PROVIDERS
            .iter()
            .map(|p| verifier(&preset_toml(p, &[&secret_for(p, 1)])))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary header values under every scheme's header names never panic.
        #[test]
        fn arbitrary_headers_never_panic(values in proptest::collection::vec("[ -~]{0,200}", 1..6), body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let names = [
                "x-hub-signature-256", "stripe-signature", "x-slack-signature", "x-slack-request-timestamp",
                "webhook-signature", "webhook-timestamp", "webhook-id", "svix-signature", "svix-timestamp", "svix-id",
                "paddle-signature", "authorization", "x-signature-ed25519", "x-signature-timestamp",
                "x-twilio-signature", "x-pagerduty-signature", "x-docusign-signature-1", "twitch-eventsub-message-timestamp",
                "x-hubspot-request-timestamp", "x-gitlab-token", "content-type",
            ];
            for v in all() {
                let mut h = HeaderMap::new();
                for (i, val) in values.iter().enumerate() {
                    if let Ok(hv) = HeaderValue::from_str(val) {
                        h.append(http::HeaderName::from_static(names[(i * 7 + val.len()) % names.len()]), hv);
                    }
                }
                let req = RequestParts { method: "POST", path_and_query: "/x", headers: &h };
                if let Ok(pre) = v.precheck(&req, at(1_700_000_000)) {
                    let _ = v.verify(&pre, &req, &body, at(1_700_000_000));
                }
            }
        }

        /// Structured header parsers on arbitrary bytes.
        #[test]
        fn parsers_total(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse::decode(spec::Enc::Hex, &raw);
            let _ = parse::decode(spec::Enc::Base64, &raw);
            let _ = parse::decode(spec::Enc::Base64Url, &raw);
            let _: Vec<_> = parse::pairs(&raw, ',').collect();
            let _ = parse::timestamp(&raw, spec::TsFmt::Unix);
            let _ = parse::timestamp(&raw, spec::TsFmt::UnixMs);
            let _ = parse::timestamp(&raw, spec::TsFmt::Rfc3339);
            let _ = parse::body_field(&raw, &["a".to_string(), "b".to_string()]);
        }
    }
}

#[test]
fn twilio_refuses_a_body_no_signature_covers() {
    let v =
        verifier("scheme = \"twilio\"\nsecrets = [\"12345\"]\npublic_url = \"https://h.example\"");
    let plain = headers(&[("content-type".into(), "application/json".into())]);
    let req = RequestParts {
        method: "POST",
        path_and_query: "/t",
        headers: &plain,
    };
    let mut signed = v.sign(&req, b"", at(1)).unwrap();
    signed.push(("content-type".into(), "application/json".into()));
    // The URL-only signature is valid for an empty body, never for an unsigned JSON one.
    assert!(check(&v, "POST", "/t", &headers(&signed), b"", at(1)).is_ok());
    assert_eq!(
        check(&v, "POST", "/t", &headers(&signed), b"{\"x\":1}", at(1)),
        Err(Reason::SignatureInvalid)
    );
}
