//! Disagreements found by running the providers' own SDKs against a running
//! gateway (review of issue 12): each test holds the request the SDK accepts.

use super::*;
use hmac::{Hmac, Mac};

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// Orb signs with every active secret while one rotates and sends the
/// signatures space-separated in one `X-Orb-Signature` header; orb-billing's
/// `verify_signature` accepts a match in any position (orb-billing 4.90.0).
#[test]
fn orb_accepts_space_separated_signatures_during_rotation() {
    let v = verifier("scheme = \"orb\"\nsecrets = [\"orb-secret\"]");
    let (ts, body) = (
        "2023-11-14T22:13:20.000000",
        br#"{"id":"evt_1"}"#.as_slice(),
    );
    let good = format!(
        "v1={}",
        hex::encode(mac::<Hmac<sha2::Sha256>>(
            b"orb-secret",
            &[b"v1:", ts.as_bytes(), b":", body]
        ))
    );
    let other = format!("v1={}", "0".repeat(64));
    for header in [
        format!("{good} {other}"),
        format!("{other} {good}"),
        good.clone(),
    ] {
        let hdrs = h(&[("x-orb-timestamp", ts), ("x-orb-signature", &header)]);
        assert!(
            check(&v, "POST", "/", &hdrs, body, at(1_700_000_000)).is_ok(),
            "{header}"
        );
    }
    let hdrs = h(&[("x-orb-timestamp", ts), ("x-orb-signature", &other)]);
    assert_eq!(
        check(&v, "POST", "/", &hdrs, body, at(1_700_000_000)),
        Err(Reason::SignatureInvalid)
    );
}

/// Mandrill signs the webhook URL followed by every POST parameter, sorted by
/// name, as `name` + `value` (HMAC-SHA1, base64), like Twilio; the body it
/// posts is the form `mandrill_events=<JSON>`. The row signed the raw body, so
/// every real delivery was refused. Mailchimp's documented `generateSignature`,
/// recomputed here.
#[test]
fn mandrill_signs_the_url_and_sorted_form_parameters() {
    let events = r#"[{"event":"send","_id":"a1","ts":1700000000,"msg":{"subject":"Zoë ✓"}}]"#;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("mandrill_events", events)
        .finish();
    let url = "https://hooks.example.com/hooks/mandrill";
    let sig = base64::engine::general_purpose::STANDARD.encode(mac::<Hmac<sha1::Sha1>>(
        b"webhook-key",
        &[url.as_bytes(), b"mandrill_events", events.as_bytes()],
    ));
    let v = verifier(
        "scheme = \"mandrill\"\nsecrets = [\"webhook-key\"]\npublic_url = \"https://hooks.example.com\"",
    );
    let form = ("content-type", "application/x-www-form-urlencoded");
    let hdrs = h(&[("x-mandrill-signature", &sig), form]);
    let now = at(1_700_000_000);
    assert!(check(&v, "POST", "/hooks/mandrill", &hdrs, body.as_bytes(), now).is_ok());
    // A changed event or another URL is refused.
    let tampered = body.replace("send", "open");
    assert_eq!(
        check(
            &v,
            "POST",
            "/hooks/mandrill",
            &hdrs,
            tampered.as_bytes(),
            now
        ),
        Err(Reason::SignatureInvalid)
    );
    assert_eq!(
        check(&v, "POST", "/hooks/other", &hdrs, body.as_bytes(), now),
        Err(Reason::SignatureInvalid)
    );
    // An HMAC of the raw body (the old row) is not Mandrill's signature.
    let raw = base64::engine::general_purpose::STANDARD
        .encode(mac::<Hmac<sha1::Sha1>>(b"webhook-key", &[body.as_bytes()]));
    let hdrs = h(&[("x-mandrill-signature", &raw), form]);
    assert_eq!(
        check(&v, "POST", "/hooks/mandrill", &hdrs, body.as_bytes(), now),
        Err(Reason::SignatureInvalid)
    );
}

/// Mandrill checks a new webhook URL with a `HEAD` request and, when that is
/// not answered 200, posts a test event signed with the public key
/// `test-webhook` (which no route should accept): the gateway answers the
/// `HEAD` itself. It grants nothing; a `POST` still needs its signature.
#[test]
fn mandrill_head_check_is_answered() {
    let v = verifier(
        "scheme = \"mandrill\"\nsecrets = [\"webhook-key\"]\npublic_url = \"https://hooks.example.com\"",
    );
    let none = HeaderMap::new();
    let head = RequestParts {
        method: "HEAD",
        path_and_query: "/hooks/mandrill",
        headers: &none,
    };
    match v.before_body(&head, at(1)) {
        Ok(BeforeBody::Answer(r)) => assert_eq!((r.status, r.body.len()), (200, 0)),
        other => panic!("HEAD not answered: {other:?}"),
    }
    let post = RequestParts {
        method: "POST",
        ..head
    };
    assert!(matches!(
        v.before_body(&post, at(1)),
        Err(r) if r.reason == Reason::SignatureMissing
    ));
}

/// ElevenLabs' SDK (`webhooks.construct_event`, elevenlabs 2.78.0) accepts a
/// signature up to 30 minutes old; the preset refused anything past 5. The
/// default now matches the SDK in the past (and bounds the future the same).
#[test]
fn elevenlabs_accepts_what_its_sdk_accepts() {
    let v = verifier("scheme = \"elevenlabs\"\nsecrets = [\"wsec\"]");
    let body = br#"{"type":"post_call_transcription"}"#.as_slice();
    let sign = |t: u64| {
        let sig = hex::encode(mac::<Hmac<sha2::Sha256>>(
            b"wsec",
            &[t.to_string().as_bytes(), b".", body],
        ));
        h(&[("elevenlabs-signature", &format!("t={t},v0={sig}"))])
    };
    let t = 1_700_000_000;
    assert!(check(&v, "POST", "/", &sign(t), body, at(t + 1795)).is_ok());
    assert_eq!(
        check(&v, "POST", "/", &sign(t), body, at(t + 1805)),
        Err(Reason::TimestampOutOfRange)
    );
    assert_eq!(
        check(&v, "POST", "/", &sign(t + 1805), body, at(t)),
        Err(Reason::TimestampOutOfRange)
    );
}
