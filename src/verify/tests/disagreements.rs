//! The disagreements with real senders found against the providers' SDKs
//! (issue 12, D1–D10) and the per-preset tolerances: one test each, against
//! the SDK's output or the provider's documented example.

use super::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// D1: no token or Basic preset defaults to a key derived from its credential;
/// D8: no preset defaults to the signature digest unless its row says the
/// signed bytes are unique per delivery, and never where the signature does not
/// cover the body.
#[test]
fn d1_d8_default_replay_keys_never_merge_real_deliveries() {
    for p in PROVIDERS {
        let v = verifier(&preset_toml(p, &[&secret_for(p, 1)]));
        match (p.spec.sig, v.default_replay_key()) {
            (Sig::Token { .. } | Sig::Basic, DefaultKey::Signature) => {
                panic!("{}: keyed on its own credential", p.name)
            }
            (_, DefaultKey::Signature) => assert!(
                matches!(p.replay, spec::Replay::Signature(_)) && !v.credential_only(),
                "{}",
                p.name
            ),
            (_, DefaultKey::Header(names, signed)) => {
                assert!(!names.is_empty(), "{}", p.name);
                assert_eq!(
                    *signed,
                    matches!(p.replay, spec::Replay::SignedHeader(..)),
                    "{}: the row says the id is {}signed",
                    p.name,
                    if *signed { "not " } else { "" }
                );
            }
            (_, DefaultKey::None) => {}
        }
    }
    // Dropbox sends identical bodies for distinct changes (D8).
    let dropbox = verifier("scheme = \"dropbox\"\nsecrets = [\"s\"]");
    assert_eq!(dropbox.default_replay_key(), &DefaultKey::None);
    let gitlab = verifier("scheme = \"gitlab\"\nsecrets = [\"t\"]");
    assert_eq!(
        gitlab.default_replay_key(),
        &DefaultKey::Header(
            vec![
                http::HeaderName::from_static("idempotency-key"),
                http::HeaderName::from_static("x-gitlab-event-uuid")
            ],
            false
        )
    );
}

/// D2: Persona sends two space-separated `t=…,v1=…` sets while a secret rotates.
#[test]
fn d2_persona_accepts_two_signature_sets() {
    let body = br#"{"data":{"id":"evt_1"}}"#;
    let (t_old, t_new) = ("1700000000", "1700000001");
    let old = hex::encode(hmac256(b"old-secret", &[t_old.as_bytes(), b".", body]));
    let new = hex::encode(hmac256(b"new-secret", &[t_new.as_bytes(), b".", body]));
    let header = format!("t={t_old},v1={old} t={t_new},v1={new}");
    let hdrs = h(&[("persona-signature", &header)]);
    for secret in ["old-secret", "new-secret"] {
        let v = verifier(&format!("scheme = \"persona\"\nsecrets = [{secret:?}]"));
        assert!(
            check(&v, "POST", "/", &hdrs, body, at(1_700_000_010)).is_ok(),
            "{secret}"
        );
    }
    // Each set is checked against its own timestamp: swapping them breaks both.
    let swapped = format!("t={t_new},v1={old} t={t_old},v1={new}");
    let v = verifier("scheme = \"persona\"\nsecrets = [\"new-secret\"]");
    assert_eq!(
        check(
            &v,
            "POST",
            "/",
            &h(&[("persona-signature", &swapped)]),
            body,
            at(1_700_000_010)
        ),
        Err(Reason::SignatureInvalid)
    );
}

/// D3: Polar's SDK keys the HMAC with the raw `polar_whs_…` secret (and, as
/// a second try, the base64 decoding of a `whsec_` one).
#[test]
fn d3_polar_reads_raw_secrets_and_whsec_ones() {
    let (id, ts, body) = ("msg_1", "1700000000", br#"{"type":"order.paid"}"#);
    let raw = "polar_whs_0123456789abcdefghijklmnop";
    let sig = b64(&hmac256(
        raw.as_bytes(),
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    ));
    let hdrs = h(&[
        ("webhook-id", id),
        ("webhook-timestamp", ts),
        ("webhook-signature", &format!("v1,{sig}")),
    ]);
    let v = verifier(&format!("scheme = \"polar\"\nsecrets = [{raw:?}]"));
    assert!(check(&v, "POST", "/", &hdrs, body, at(1_700_000_000)).is_ok());
    assert_eq!(v.key_count(), 1);
    // A whsec_ secret still verifies the Standard Webhooks vector.
    let sw = verifier("scheme = \"polar\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]");
    let vec = h(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ]);
    assert!(check(
        &sw,
        "POST",
        "/",
        &vec,
        b"{\"test\": 2432232314}",
        at(1_614_265_330)
    )
    .is_ok());
}

/// D4: Shopify's Events API sends `shopify-hmac-sha256` without the `X-`.
#[test]
fn d4_shopify_events_header_without_x_prefix() {
    let body = br#"{"id":1}"#;
    let sig = b64(&hmac256(b"hush", &[body]));
    let v = verifier("scheme = \"shopify\"\nsecrets = [\"hush\"]");
    for name in ["x-shopify-hmac-sha256", "shopify-hmac-sha256"] {
        assert!(
            check(&v, "POST", "/", &h(&[(name, &sig)]), body, at(1)).is_ok(),
            "{name}"
        );
    }
}

/// D5: Twilio signs with HMAC-SHA256 when the settings header says so. The
/// expected value was produced by twilio 9.13.0 (PyPI)
/// `RequestValidator("12345").compute_signature(url, params, "HMAC_SHA256")`.
#[test]
fn d5_twilio_hmac_sha256_from_the_settings_header() {
    let v = verifier(
        "scheme = \"twilio\"\nsecrets = [\"12345\"]\npublic_url = \"https://mycompany.com\"",
    );
    let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let with = |settings: Option<&str>, sig: &str| {
        let mut p = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-twilio-signature", sig),
        ];
        if let Some(s) = settings {
            p.push(("x-twilio-webhooks-signature-settings", s));
        }
        check(
            &v,
            "POST",
            "/myapp.php?foo=1&bar=2",
            &h(&p),
            body.as_bytes(),
            at(1),
        )
    };
    let sha256 = "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=";
    assert!(with(
        Some("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"),
        sha256
    )
    .is_ok());
    assert!(
        with(Some("key=k,algorithm=hmac_sha256"), sha256).is_ok(),
        "case-insensitive as the SDK"
    );
    assert_eq!(
        with(None, sha256),
        Err(Reason::SignatureInvalid),
        "no header means SHA-1"
    );
    assert!(with(None, "RSOYDt4T1cUTdK1PDd93/VVr8B8=").is_ok());
    assert_eq!(
        with(Some("algorithm=HMAC_MD5"), sha256),
        Err(Reason::SignatureMalformed)
    );
}

/// D6: Linear's `webhookTimestamp` (ms, in the body) must be within 60 s,
/// checked only after the signature verified.
#[test]
fn d6_linear_body_timestamp() {
    let v = verifier("scheme = \"linear\"\nsecrets = [\"lin\"]");
    let now_ms: u64 = 1_700_000_000_000;
    let signed = |ts: u64| {
        let body = format!("{{\"action\":\"create\",\"webhookTimestamp\":{ts}}}");
        let sig = hex::encode(hmac256(b"lin", &[body.as_bytes()]));
        (body, h(&[("linear-signature", &sig)]))
    };
    let now = UNIX_EPOCH + Duration::from_millis(now_ms);
    let (b, hd) = signed(now_ms - 59_000);
    assert!(check(&v, "POST", "/", &hd, b.as_bytes(), now).is_ok());
    for ts in [now_ms - 3_600_000, now_ms - 61_000, now_ms + 61_000] {
        let (b, hd) = signed(ts);
        assert_eq!(
            check(&v, "POST", "/", &hd, b.as_bytes(), now),
            Err(Reason::TimestampOutOfRange)
        );
    }
    // A tampered stale body fails on its signature, not its timestamp: the body is parsed only once authentic.
    let (b, hd) = signed(now_ms - 3_600_000);
    let forged = b.replace("create", "remove");
    assert_eq!(
        check(&v, "POST", "/", &hd, forged.as_bytes(), now),
        Err(Reason::SignatureInvalid)
    );
    let body = "{\"action\":\"create\"}";
    let sig = hex::encode(hmac256(b"lin", &[body.as_bytes()]));
    assert_eq!(
        check(
            &v,
            "POST",
            "/",
            &h(&[("linear-signature", &sig)]),
            body.as_bytes(),
            now
        ),
        Err(Reason::TimestampMissing)
    );
}

/// D9: Hookdeck's `x-hookdeck-signature-2` carries the secondary secret's signature.
#[test]
fn d9_hookdeck_secondary_signature() {
    let body = br#"{"ok":true}"#;
    let primary = b64(&hmac256(b"primary", &[body]));
    let secondary = b64(&hmac256(b"secondary", &[body]));
    let hdrs = h(&[
        ("x-hookdeck-signature", &primary),
        ("x-hookdeck-signature-2", &secondary),
    ]);
    let v = verifier("scheme = \"hookdeck\"\nsecrets = [\"secondary\"]");
    assert!(check(&v, "POST", "/", &hdrs, body, at(1)).is_ok());
    let other = verifier("scheme = \"hookdeck\"\nsecrets = [\"neither\"]");
    assert_eq!(
        check(&other, "POST", "/", &hdrs, body, at(1)),
        Err(Reason::SignatureInvalid)
    );
}

/// D10: the Svix libraries fall back to `webhook-*` names (white-labelled senders).
#[test]
fn d10_svix_accepts_webhook_header_names() {
    let v = verifier("scheme = \"svix\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]");
    let body = b"{\"test\": 2432232314}";
    for prefix in ["svix", "webhook"] {
        let hdrs = h(&[
            (&format!("{prefix}-id"), "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            (&format!("{prefix}-timestamp"), "1614265330"),
            (
                &format!("{prefix}-signature"),
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        assert!(
            check(&v, "POST", "/", &hdrs, body, at(1_614_265_330)).is_ok(),
            "{prefix}-*"
        );
    }
}

/// Tolerances: each timestamped preset accepts what its provider's SDK
/// accepts with default settings, within hookgate's documented bound
/// (both directions, at most the row's tolerance).
#[test]
fn tolerances_accept_what_the_sdks_accept() {
    let now = at(1_700_000_000);
    for p in signable().filter(|p| matches!(p.spec.ts, Ts::Header { .. } | Ts::Pair { .. })) {
        let v = verifier(&preset_toml(p, &[&secret_for(p, 1)]));
        let (body, ctype) = body_for(p, now);
        let base = h(&[("content-type", ctype)]);
        let req = RequestParts {
            method: "POST",
            path_and_query: "/x",
            headers: &base,
        };
        let edge = p.tol.secs - 1;
        for then in [at(1_700_000_000 - edge), at(1_700_000_000 + edge)] {
            let mut signed = v.sign(&req, &body, then).unwrap();
            signed.push(("content-type".into(), ctype.into()));
            assert!(
                check(&v, "POST", "/x", &headers(&signed), &body, now).is_ok(),
                "{}",
                p.name
            );
        }
    }
    // Twitch: older than 10 minutes is a replay for Twitch's own libraries; 9 minutes is not.
    assert_eq!(providers::find("twitch").unwrap().tol.secs, 600);
    assert_eq!(providers::find("linear").unwrap().tol.secs, 60);
}
