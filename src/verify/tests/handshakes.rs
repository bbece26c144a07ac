//! Every handshake the gateway answers: before the body (query/header only,
//! no signature to check) and after the signature verified (signed ones).

use super::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn before(v: &Verifier, method: &str, path: &str, hd: &HeaderMap) -> Result<Option<Reply>, Reason> {
    let req = RequestParts {
        method,
        path_and_query: path,
        headers: hd,
    };
    match v
        .before_body(&req, at(1_700_000_000))
        .map_err(|r| r.reason)?
    {
        BeforeBody::Answer(r) => Ok(Some(r)),
        BeforeBody::Continue(_) => Ok(None),
    }
}

/// Sign `body` with the verifier's own signer, then run both steps.
fn after(v: &Verifier, method: &str, extra: &[(&str, &str)], body: &[u8]) -> Result<Done, Reason> {
    let now = at(1_700_000_000);
    let base = h(extra);
    let req = RequestParts {
        method,
        path_and_query: "/hook",
        headers: &base,
    };
    let mut signed = v.sign(&req, body, now).unwrap();
    signed.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let hd = headers(&signed);
    let req = RequestParts {
        method,
        path_and_query: "/hook",
        headers: &hd,
    };
    both_steps(v, &req, body, now)
}

fn text(r: &Reply) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[test]
fn meta_hub_challenge_needs_the_verify_token() {
    let v = verifier("scheme = \"meta\"\nsecrets = [\"app\"]\nverify_token = \"vt-123\"");
    let ok = before(
        &v,
        "GET",
        "/hook?hub.mode=subscribe&hub.verify_token=vt-123&hub.challenge=1158201444",
        &HeaderMap::new(),
    );
    let reply = ok.unwrap().unwrap();
    assert_eq!(
        (reply.status, text(&reply)),
        (200, "1158201444".to_string())
    );
    assert_eq!(
        before(
            &v,
            "GET",
            "/hook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
            &HeaderMap::new()
        ),
        Err(Reason::SignatureInvalid)
    );
    // A POST (a delivery) goes through the signature check as usual.
    assert_eq!(
        before(&v, "POST", "/hook?hub.mode=subscribe", &HeaderMap::new()),
        Err(Reason::SignatureMissing)
    );
    assert!(config_error("scheme = \"meta\"\nsecrets = [\"app\"]")
        .starts_with("verify.verify_token: the hub.challenge handshake needs verify_token"));
    // handshake = false forwards it instead: it then needs a signature like anything else.
    let off = verifier("scheme = \"meta\"\nsecrets = [\"app\"]\nhandshake = false");
    assert_eq!(
        before(
            &off,
            "GET",
            "/hook?hub.mode=subscribe&hub.verify_token=vt-123&hub.challenge=1",
            &HeaderMap::new()
        ),
        Err(Reason::SignatureMissing)
    );
}

#[test]
fn query_challenges_are_echoed_bounded() {
    for scheme in ["dropbox", "nylas"] {
        let v = verifier(&format!("scheme = {scheme:?}\nsecrets = [\"s\"]"));
        let reply = before(&v, "GET", "/hook?challenge=abc%20123", &HeaderMap::new())
            .unwrap()
            .unwrap();
        assert_eq!(text(&reply), "abc 123", "{scheme}");
        assert!(reply
            .headers
            .contains(&("x-content-type-options", "nosniff".into())));
        let long = format!("/hook?challenge={}", "a".repeat(2000));
        assert_eq!(
            before(&v, "GET", &long, &HeaderMap::new()),
            Err(Reason::BadRequest)
        );
        assert_eq!(
            before(&v, "GET", "/hook?challenge=%0Aevil", &HeaderMap::new()),
            Err(Reason::BadRequest)
        );
    }
}

#[test]
fn asana_secret_is_learned_persisted_and_not_replaceable() {
    let dir = tempfile::tempdir().unwrap();
    let table = format!("scheme = \"asana\"\nstate_dir = {:?}", dir.path());
    let v = verifier(&table);
    assert_eq!(v.key_count(), 0);
    let reply = before(
        &v,
        "POST",
        "/hook",
        &h(&[("x-hook-secret", "learned-secret")]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        reply.headers,
        vec![("x-hook-secret", "learned-secret".to_string())]
    );
    let file = dir.path().join("test.asana-secret");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "learned-secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Later deliveries are signed with it.
    let body = br#"{"events":[]}"#;
    let mut m = Hmac::<Sha256>::new_from_slice(b"learned-secret").unwrap();
    m.update(body);
    let sig = hex::encode(m.finalize().into_bytes());
    let got = check(
        &v,
        "POST",
        "/hook",
        &h(&[("x-hook-signature", &sig)]),
        body,
        at(1),
    )
    .unwrap();
    assert_eq!(got.key_id, "handshake");
    // Whoever comes next cannot replace it, and a reload reads it back.
    assert_eq!(
        before(&v, "POST", "/hook", &h(&[("x-hook-secret", "attacker")])),
        Err(Reason::SignatureInvalid)
    );
    let reloaded = verifier(&table);
    assert!(check(
        &reloaded,
        "POST",
        "/hook",
        &h(&[("x-hook-signature", &sig)]),
        body,
        at(1)
    )
    .is_ok());
    assert!(reloaded.handshake().unwrap().describe().contains("(set)"));
    assert!(config_error("scheme = \"asana\"").starts_with("verify.state_dir:"));
}

#[test]
fn zoom_url_validation_is_answered_with_the_hmac_of_the_plain_token() {
    let v = verifier("scheme = \"zoom\"\nsecrets = [\"zoom-secret\"]");
    let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let reply = after(&v, "POST", &[], body).unwrap().answer.unwrap();
    let mut m = Hmac::<Sha256>::new_from_slice(b"zoom-secret").unwrap();
    m.update(b"qgg8vlvZRS6UYooatFL8Aw");
    let want = hex::encode(m.finalize().into_bytes());
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(json["encryptedToken"], want.as_str());
    // An ordinary event is forwarded.
    assert!(after(&v, "POST", &[], br#"{"event":"meeting.started"}"#)
        .unwrap()
        .answer
        .is_none());
}

#[test]
fn signed_challenges_are_answered_after_verification() {
    let twitch = verifier("scheme = \"twitch\"\nsecrets = [\"0123456789\"]");
    let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}"#;
    let r = after(
        &twitch,
        "POST",
        &[(
            "twitch-eventsub-message-type",
            "webhook_callback_verification",
        )],
        body,
    )
    .unwrap();
    assert_eq!(text(&r.answer.unwrap()), "pogchamp-kappa-360noscope-vohiyo");
    let r = after(
        &twitch,
        "POST",
        &[("twitch-eventsub-message-type", "notification")],
        body,
    )
    .unwrap();
    assert!(r.answer.is_none());

    let slack = verifier("scheme = \"slack\"\nsecrets = [\"s\"]");
    let body = br#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = after(&slack, "POST", &[], body).unwrap();
    assert_eq!(
        text(&r.answer.unwrap()),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let discord = verifier(&format!(
        "scheme = \"discord\"\nsecrets = [{:?}]",
        secret_for(providers::find("discord").unwrap(), 1)
    ));
    let r = after(&discord, "POST", &[], br#"{"type":1,"id":"1"}"#).unwrap();
    assert_eq!(r.answer.unwrap().body, br#"{"type":1}"#);
    assert!(after(&discord, "POST", &[], br#"{"type":2,"id":"2"}"#)
        .unwrap()
        .answer
        .is_none());

    // Okta's verification GET is answered from its header alone.
    let okta = verifier("scheme = \"okta\"\nsecrets = [\"Bearer tok\"]");
    let hd = h(&[("x-okta-verification-challenge", "chal-1")]);
    let r = before(&okta, "GET", "/hook", &hd).unwrap().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["verification"], "chal-1");
}

#[test]
fn unsigned_signed_handshakes_are_refused() {
    // A forged Twitch verification without a signature never gets an answer.
    let twitch = verifier("scheme = \"twitch\"\nsecrets = [\"0123456789\"]");
    let hd = h(&[(
        "twitch-eventsub-message-type",
        "webhook_callback_verification",
    )]);
    assert_eq!(
        before(&twitch, "POST", "/hook", &hd),
        Err(Reason::SignatureMissing)
    );
    let okta = verifier("scheme = \"okta\"\nsecrets = [\"Bearer tok\"]");
    let hd = h(&[
        ("x-okta-verification-challenge", "c"),
        ("authorization", "Bearer wrong"),
    ]);
    let req = RequestParts {
        method: "GET",
        path_and_query: "/",
        headers: &hd,
    };
    let pre = okta.precheck(&req, at(1)).unwrap();
    assert_eq!(
        okta.verify(&pre, &req, b"", at(1)).map_err(|r| r.reason),
        Err(Reason::SignatureInvalid)
    );
}

/// Microsoft Graph: `?validationToken=` is echoed as text; notifications
/// carry the clientState in every item, and every item must match.
#[test]
fn microsoft_graph_validation_and_client_state() {
    let v = verifier("scheme = \"microsoft-graph\"\nsecrets = [\"client-state-1\"]");
    let hd = h(&[("content-type", "text/plain")]);
    let reply = before(
        &v,
        "POST",
        "/hook?validationToken=Validation%3A%20Testing%20client%20application",
        &hd,
    )
    .unwrap()
    .unwrap();
    assert_eq!(text(&reply), "Validation: Testing client application");
    let good = br#"{"value":[{"subscriptionId":"s1","clientState":"client-state-1","changeType":"created"},{"subscriptionId":"s1","clientState":"client-state-1","changeType":"updated"}]}"#;
    assert!(check(&v, "POST", "/hook", &HeaderMap::new(), good, at(1)).is_ok());
    let mixed = br#"{"value":[{"clientState":"client-state-1"},{"clientState":"forged"}]}"#;
    assert_eq!(
        check(&v, "POST", "/hook", &HeaderMap::new(), mixed, at(1)),
        Err(Reason::SignatureInvalid)
    );
    assert_eq!(
        check(
            &v,
            "POST",
            "/hook",
            &HeaderMap::new(),
            b"{\"value\":[]}",
            at(1)
        ),
        Err(Reason::SignatureMissing)
    );
    assert!(v.credential_only());
    assert_eq!(v.default_replay_key(), &DefaultKey::None);
}

/// Smartsheet's verification request (when a webhook is enabled, then every
/// 100 callbacks) is echoed in `Smartsheet-Hook-Response` and as
/// `smartsheetHookResponse`; any other POST must carry the signature.
#[test]
fn smartsheet_challenge_is_echoed_in_the_header_and_the_json() {
    let v = verifier("scheme = \"smartsheet\"\nsecrets = [\"shared-secret\"]");
    let challenge = "d78dd1d3-01ce-4481-81de-92b4f3aa5ab1";
    let hd = h(&[
        ("smartsheet-hook-challenge", challenge),
        ("content-type", "application/json"),
    ]);
    let r = before(&v, "POST", "/hook", &hd).unwrap().unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .headers
        .contains(&("smartsheet-hook-response", challenge.to_string())));
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["smartsheetHookResponse"], challenge);
    assert_eq!(
        before(
            &v,
            "POST",
            "/hook",
            &h(&[("content-type", "application/json")])
        ),
        Err(Reason::SignatureMissing)
    );
    let hd = h(&[("smartsheet-hook-challenge", "")]);
    assert_eq!(before(&v, "POST", "/hook", &hd), Err(Reason::BadRequest));
}

/// Run `before_body` then `after_body` on a request with exactly `pairs` as headers.
fn run_as_sent(v: &Verifier, pairs: &[(&str, &str)], body: &[u8]) -> Result<Done, Reason> {
    let hd = h(pairs);
    let req = RequestParts {
        method: "POST",
        path_and_query: "/hook",
        headers: &hd,
    };
    let now = at(1_700_000_000);
    both_steps(v, &req, body, now)
}

/// monday.com's `{"challenge": ..}`: with a JWT it is verified first; without
/// one (monday does not document signing it) only a small body that is
/// exactly the challenge object is read and answered, never forwarded.
#[test]
fn monday_challenge_is_answered_signed_or_not_and_nothing_else_goes_unsigned() {
    let v = verifier("scheme = \"monday\"\nsecrets = [\"signing-secret\"]");
    let body = br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    let signed = after(&v, "POST", &[], body).unwrap();
    assert!(signed.verified.is_some());
    assert_eq!(signed.answer.unwrap().body, body);
    let event = br#"{"event":{"type":"create_item","pulseId":1}}"#;
    assert!(after(&v, "POST", &[], event).unwrap().answer.is_none());

    let len = body.len().to_string();
    let unsigned = run_as_sent(&v, &[("content-length", &len)], body).unwrap();
    assert!(unsigned.verified.is_none());
    let reply = unsigned.answer.unwrap();
    assert_eq!((reply.status, reply.body.as_slice()), (200, &body[..]));

    // Without a JWT, anything but the bare challenge object is refused.
    for other in [
        &event[..],
        br#"{"challenge":"c","event":{"type":"create_item"}}"#,
        br#"{"challenge":1}"#,
        b"challenge=c",
    ] {
        let len = other.len().to_string();
        assert_eq!(
            run_as_sent(&v, &[("content-length", &len)], other).err(),
            Some(Reason::SignatureMissing),
            "{}",
            String::from_utf8_lossy(other)
        );
    }
    // A larger or undeclared body is not even read.
    let big = (crate::verify::spec::MAX_CHALLENGE_BODY + 1).to_string();
    for declared in [&[("content-length", big.as_str())][..], &[]] {
        assert_eq!(
            run_as_sent(&v, declared, body).err(),
            Some(Reason::SignatureMissing)
        );
    }
    // A JWT signed with another secret is refused, challenge or not.
    let other = verifier("scheme = \"monday\"\nsecrets = [\"not-the-secret\"]");
    let req = RequestParts {
        method: "POST",
        path_and_query: "/hook",
        headers: &HeaderMap::new(),
    };
    let forged = other.sign(&req, body, at(1_700_000_000)).unwrap();
    let forged: Vec<(&str, &str)> = forged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("content-length", len.as_str())])
        .collect();
    assert_eq!(
        run_as_sent(&v, &forged, body).err(),
        Some(Reason::SignatureInvalid)
    );
}

/// Trello checks a new callback URL with `HEAD`: an empty 200, no secret needed.
#[test]
fn trello_head_check_gets_an_empty_200() {
    let v = verifier(
        "scheme = \"trello\"\nsecrets = [\"app-secret\"]\npublic_url = \"https://hooks.example.com\"",
    );
    let r = before(&v, "HEAD", "/hook", &HeaderMap::new())
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(
        before(&v, "POST", "/hook", &HeaderMap::new()),
        Err(Reason::SignatureMissing)
    );
}
