//! Handshakes through a running gateway: answered by hookgate, counted as
//! `outcome="handshake"`, never forwarded (every row with a handshake is
//! covered here); and deliveries that used to be dropped as duplicates
//! (D1/D8) reach the app.

use crate::harness::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::SystemTime;

fn hex_hmac(key: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

#[test]
fn meta_subscription_and_asana_secret_are_answered_by_the_gateway() {
    let up = Upstream::start();
    let state = tempfile::tempdir().unwrap();
    let routes = route(
        "meta",
        "/meta",
        up.addr,
        "[route.verify]\nscheme = \"meta\"\nsecrets = [\"app-secret\"]\nverify_token = \"vt-1\"\n",
    ) + &route(
        "asana",
        "/asana",
        up.addr,
        &format!(
            "[route.verify]\nscheme = \"asana\"\nstate_dir = {:?}\n",
            state.path()
        ),
    );
    let gw = Gateway::start(&routes);

    let r = client()
        .get(gw.url("/meta?hub.mode=subscribe&hub.verify_token=vt-1&hub.challenge=1158201444"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), "1158201444");
    let r = client()
        .get(gw.url("/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = client()
        .post(gw.url("/asana"))
        .header("x-hook-secret", "asana-s3cret")
        .body("")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-hook-secret"], "asana-s3cret");
    // The learned secret now verifies deliveries, which reach the app.
    let body = br#"{"events":[{"action":"changed"}]}"#;
    let r = client()
        .post(gw.url("/asana"))
        .header("x-hook-signature", hex_hmac(b"asana-s3cret", body))
        .body(body.to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = up.received();
    assert_eq!(got.len(), 1, "handshakes are never forwarded");
    assert_eq!(got[0].body, body);
    assert_eq!(
        got[0].header("x-hookgate-verified").as_deref(),
        Some("asana; key=handshake")
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"handshake\",route=\"meta\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"handshake\",route=\"asana\"}"),
        1.0
    );
    assert!(state.path().join("asana.asana-secret").exists());
}

/// The D1 rule through the request path: a default replay key never makes
/// two distinct real deliveries collide. GitLab's token and Postmark's Basic
/// credentials are the same on every delivery, and Dropbox sends
/// byte-identical notifications for distinct changes: every one reaches the
/// app. A real retry (same signed `webhook-id`, same GitLab
/// `Idempotency-Key`) is still acknowledged as a duplicate, not forwarded.
#[test]
fn d1_d8_distinct_deliveries_with_one_credential_or_one_body_all_reach_the_app() {
    let up = Upstream::start();
    let sw = "[route.verify]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n";
    let routes = route(
        "gitlab",
        "/gitlab",
        up.addr,
        "[route.verify]\nscheme = \"gitlab\"\nsecrets = [\"tok\"]\n",
    ) + &route(
        "postmark",
        "/postmark",
        up.addr,
        "[route.verify]\nscheme = \"postmark\"\nsecrets = [\"u:p\"]\n",
    ) + &route(
        "dropbox",
        "/dropbox",
        up.addr,
        "[route.verify]\nscheme = \"dropbox\"\nsecrets = [\"app\"]\n",
    ) + &route("sw", "/sw", up.addr, sw);
    let gw = Gateway::start(&routes);
    let post = |path: &str, headers: &[(String, String)], body: &[u8]| {
        let mut rb = client().post(gw.url(path)).body(body.to_vec());
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().ok())
    };
    let dropbox = br#"{"list_folder":{"accounts":["dbid:1"]},"delta":{"users":[1]}}"#;
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "u:p")
    );
    let sw_signer = signer(sw);
    let sw_delivery = |id: &str, body: &[u8]| {
        sign_with(
            &sw_signer,
            "/sw",
            &[("webhook-id", id)],
            body,
            SystemTime::now(),
        )
    };
    for i in 0..2 {
        let gitlab = [
            ("x-gitlab-token".to_string(), "tok".to_string()),
            ("idempotency-key".to_string(), format!("key-{i}")),
        ];
        let n = format!("{{\"n\":{i}}}");
        assert_eq!(post("/gitlab", &gitlab, n.as_bytes()).0, 200);
        let auth = [("authorization".to_string(), basic.clone())];
        assert_eq!(post("/postmark", &auth, n.as_bytes()).0, 200);
        // Dropbox notifies two changes with byte-identical bodies.
        let sig = [("x-dropbox-signature".to_string(), hex_hmac(b"app", dropbox))];
        assert_eq!(post("/dropbox", &sig, dropbox).0, 200);
        let id = format!("msg_{i}");
        assert_eq!(
            post("/sw", &sw_delivery(&id, n.as_bytes()), n.as_bytes()).0,
            200
        );
    }
    let got = up.received();
    for (path, bodies) in [
        ("/gitlab", [&b"{\"n\":0}"[..], b"{\"n\":1}"]),
        ("/postmark", [b"{\"n\":0}", b"{\"n\":1}"]),
        ("/dropbox", [dropbox, dropbox]),
        ("/sw", [b"{\"n\":0}", b"{\"n\":1}"]),
    ] {
        let seen: Vec<&[u8]> = got
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.body.as_slice())
            .collect();
        assert_eq!(
            seen, bodies,
            "{path}: every real delivery forwarded, byte-exact"
        );
    }

    // Retries of one delivery: acknowledged, not forwarded again.
    let retry = sw_delivery("msg_0", b"{\"n\":0}");
    let (status, body) = post("/sw", &retry, b"{\"n\":0}");
    assert_eq!(
        (status, body.unwrap()["status"].clone()),
        (200, "duplicate".into())
    );
    let gitlab_retry = [
        ("x-gitlab-token".to_string(), "tok".to_string()),
        ("idempotency-key".to_string(), "key-0".to_string()),
    ];
    let (status, body) = post("/gitlab", &gitlab_retry, b"{\"n\":0}");
    assert_eq!(
        (status, body.unwrap()["status"].clone()),
        (200, "duplicate".into())
    );
    assert_eq!(up.received().len(), 8);
    for route in ["gitlab", "postmark", "dropbox", "sw"] {
        let forwarded =
            format!("hookgate_requests_total{{outcome=\"forwarded\",route=\"{route}\"}}");
        assert_eq!(gw.metric(&forwarded), 2.0, "{route}");
    }
    for route in ["sw", "gitlab"] {
        let duplicate =
            format!("hookgate_requests_total{{outcome=\"duplicate\",route=\"{route}\"}}");
        assert_eq!(gw.metric(&duplicate), 1.0, "{route}");
    }
}

#[test]
fn signed_handshakes_are_answered_after_verification_and_unsigned_ones_refused() {
    let up = Upstream::start();
    let table = "[route.verify]\nscheme = \"slack\"\nsecrets = [\"slack-secret\"]\n";
    let gw = Gateway::start(&route("slack", "/slack", up.addr, table));
    let body = br#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let signed = sign_with(
        &signer(table),
        "/slack",
        &[],
        body,
        std::time::SystemTime::now(),
    );
    let mut rb = client().post(gw.url("/slack")).body(body.to_vec());
    for (k, val) in &signed {
        rb = rb.header(k, val);
    }
    let r = rb.send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().unwrap(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    // The same challenge without a valid signature gets no answer.
    let r = client()
        .post(gw.url("/slack"))
        .body(body.to_vec())
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(up.received().is_empty(), "handshakes are never forwarded");
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"handshake\",route=\"slack\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_signatures_verified_total{key=\"0\",route=\"slack\"}"),
        1.0
    );
}

/// What a handshake request got from the gateway.
struct Answered {
    status: u16,
    content_type: String,
    body: String,
}

fn answered(r: reqwest::blocking::Response) -> Answered {
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Answered {
        status: r.status().as_u16(),
        content_type,
        body: r.text().unwrap(),
    }
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        m.finalize().into_bytes(),
    )
}

/// An Ed25519 signing key as a `whsk_` secret (key and public key), so the
/// test can sign what Discord would.
fn whsk() -> String {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let pair = [sk.to_bytes().as_slice(), sk.verifying_key().as_bytes()].concat();
    format!(
        "whsk_{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair)
    )
}

/// Every handshake answered from the request line and headers, and every
/// signed one, through a running gateway: the provider's expected answer,
/// counted as `outcome="handshake"`, never forwarded. A signed handshake is
/// answered only once its signature verified; an ordinary event on the same
/// route is forwarded. (Meta, Asana, Slack and SNS have tests of their own;
/// the last assertion checks every handshake row is covered here.)
#[test]
fn every_handshake_is_answered_by_the_gateway_and_never_forwarded() {
    let up = Upstream::start();
    let discord = format!(
        "[route.verify]\nscheme = \"discord\"\nsecrets = [\"{}\"]\n",
        whsk()
    );
    let tables: Vec<(&str, String)> = vec![
        ("dropbox", "secrets = [\"app\"]".into()),
        ("nylas", "secrets = [\"nylas-secret\"]".into()),
        ("microsoft-graph", "secrets = [\"client-state-1\"]".into()),
        ("twitter", "secrets = [\"consumer-secret\"]".into()),
        ("worldline", "secrets = [\"worldline-secret\"]".into()),
        ("okta", "secrets = [\"Bearer tok\"]".into()),
        ("zoom", "secrets = [\"zoom-secret\"]".into()),
        ("twitch", "secrets = [\"0123456789\"]".into()),
        (
            "mandrill",
            "secrets = [\"mandrill-key\"]\npublic_url = \"https://hooks.example.com\"".into(),
        ),
        (
            "trello",
            "secrets = [\"trello-app-secret\"]\npublic_url = \"https://hooks.example.com\"".into(),
        ),
        ("smartsheet", "secrets = [\"smartsheet-shared\"]".into()),
    ];
    let table =
        |scheme: &str, knobs: &str| format!("[route.verify]\nscheme = \"{scheme}\"\n{knobs}\n");
    let mut routes: String = tables
        .iter()
        .map(|(s, k)| route(s, &format!("/{s}"), up.addr, &table(s, k)))
        .collect();
    routes += &route("discord", "/discord", up.addr, &discord);
    let gw = Gateway::start(&routes);
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut rb = client().get(gw.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        answered(rb.send().unwrap())
    };
    let signed_post = |scheme: &str, knobs: &str, extra: &[(&str, &str)], body: &[u8]| {
        let path = format!("/{scheme}");
        let v = signer(&table(scheme, knobs));
        let mut rb = client().post(gw.url(&path)).body(body.to_vec());
        for (k, val) in sign_with(&v, &path, extra, body, SystemTime::now()) {
            rb = rb.header(k, val);
        }
        answered(rb.send().unwrap())
    };

    // Answered before the body: query and header challenges.
    for scheme in ["dropbox", "nylas"] {
        let a = get(&format!("/{scheme}?challenge=abc%20123"), &[]);
        assert_eq!((a.status, a.body.as_str()), (200, "abc 123"), "{scheme}");
        assert!(a.content_type.starts_with("text/plain"), "{scheme}");
    }
    let r =
        client()
            .post(gw.url(
                "/microsoft-graph?validationToken=Validation%3A%20Testing%20client%20application",
            ))
            .header("content-type", "text/plain")
            .send()
            .unwrap();
    let a = answered(r);
    assert_eq!(
        (a.status, a.body.as_str()),
        (200, "Validation: Testing client application")
    );
    let a = get("/twitter?crc_token=crc-abc", &[]);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        json["response_token"],
        format!("sha256={}", hmac_b64(b"consumer-secret", b"crc-abc"))
    );
    let a = get(
        "/worldline",
        &[("x-gcs-webhooks-endpoint-verification", "wl-7")],
    );
    assert_eq!((a.status, a.body.as_str()), (200, "wl-7"));
    // Mandrill's URL check: HEAD gets an empty 200; an unsigned POST still 401.
    let r = client().head(gw.url("/mandrill")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), "");
    let r = client()
        .post(gw.url("/mandrill"))
        .body("mandrill_events=%5B%5D")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // Trello's callback check at creation: HEAD wants a 200.
    let r = client().head(gw.url("/trello")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), "");
    // Smartsheet's verification POST: the value back in a header and in JSON.
    let r = client()
        .post(gw.url("/smartsheet"))
        .header("smartsheet-hook-challenge", "d78dd1d3-01ce")
        .header("content-type", "application/json")
        .body(r#"{"challenge":"d78dd1d3-01ce","webhookId":8951687911106436}"#)
        .send()
        .unwrap();
    assert_eq!(
        r.headers()
            .get("smartsheet-hook-response")
            .map(|v| v.to_str().unwrap()),
        Some("d78dd1d3-01ce")
    );
    let a = answered(r);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        (a.status, json["smartsheetHookResponse"].as_str()),
        (200, Some("d78dd1d3-01ce"))
    );
    let a = get("/okta", &[("x-okta-verification-challenge", "chal-1")]);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(
        (a.status, json["verification"].as_str()),
        (200, Some("chal-1"))
    );

    // Answered after the signature verified.
    let zoom = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let a = signed_post("zoom", "secrets = [\"zoom-secret\"]", &[], zoom);
    let json: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        json["encryptedToken"],
        hex_hmac(b"zoom-secret", b"qgg8vlvZRS6UYooatFL8Aw")
    );
    let twitch = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}"#;
    let verification = [(
        "twitch-eventsub-message-type",
        "webhook_callback_verification",
    )];
    let a = signed_post(
        "twitch",
        "secrets = [\"0123456789\"]",
        &verification,
        twitch,
    );
    assert_eq!(
        (a.status, a.body.as_str()),
        (200, "pogchamp-kappa-360noscope-vohiyo")
    );
    let ping = br#"{"type":1,"id":"1"}"#;
    let a = signed_post("discord", &format!("secrets = [\"{}\"]", whsk()), &[], ping);
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"type":1}"#));
    assert!(up.received().is_empty(), "handshakes are never forwarded");

    // The same signed handshakes without a valid signature get no answer.
    for (path, body, extra) in [
        ("/zoom", &zoom[..], &[][..]),
        ("/twitch", twitch, &verification[..]),
        ("/discord", ping, &[]),
    ] {
        let mut rb = client().post(gw.url(path)).body(body.to_vec());
        for (k, v) in extra {
            rb = rb.header(*k, *v);
        }
        assert_eq!(rb.send().unwrap().status(), 401, "{path}");
    }

    // An ordinary event on a handshake route is forwarded, byte-exact.
    let event = br#"{"event":"meeting.started","payload":{}}"#;
    let a = signed_post("zoom", "secrets = [\"zoom-secret\"]", &[], event);
    assert_eq!(a.status, 200);
    let got = up.received();
    assert_eq!((got.len(), got[0].body.as_slice()), (1, &event[..]));

    let mut covered: Vec<&str> = tables.iter().map(|(s, _)| *s).collect();
    covered.push("discord");
    for scheme in &covered {
        let series = format!("hookgate_requests_total{{outcome=\"handshake\",route=\"{scheme}\"}}");
        assert_eq!(gw.metric(&series), 1.0, "{scheme}");
    }
    // Meta, Asana and Slack, SNS and monday, are answered in the tests above and below.
    covered.extend(["meta", "asana", "slack", "amazon-sns", "monday"]);
    for p in hookgate::verify::providers::PROVIDERS {
        if p.handshake.is_some() {
            assert!(
                covered.contains(&p.name),
                "no gateway test for {}'s handshake",
                p.name
            );
        }
    }
}

const SNS_CERT: &str = include_str!("../fixtures/rsa-signing-cert.pem");
const SNS_KEY: &[u8] = include_bytes!("../fixtures/rsa-signing-key.pk8");
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:hooks";

/// An SNS message of `kind` (SignatureVersion 2: RSA with SHA-256 over the
/// documented string to sign), its certificate at `cert_url`.
fn sns_message(kind: &str, cert_url: &str, subscribe_url: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut fields = vec![
        ("Message", "caf\u{e9} \"quoted\"\nline".to_string()),
        (
            "MessageId",
            "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".to_string(),
        ),
    ];
    if kind == "SubscriptionConfirmation" {
        fields.push(("SubscribeURL", subscribe_url.to_string()));
    }
    fields.push(("Timestamp", now));
    if kind == "SubscriptionConfirmation" {
        fields.push(("Token", "t1".to_string()));
    }
    fields.push(("TopicArn", TOPIC.to_string()));
    fields.push(("Type", kind.to_string()));
    let string_to_sign: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    let key = ring::signature::RsaKeyPair::from_pkcs8(SNS_KEY).unwrap();
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        string_to_sign.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let mut doc: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    doc.insert("SignatureVersion".into(), "2".into());
    doc.insert(
        "Signature".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig).into(),
    );
    doc.insert("SigningCertURL".into(), cert_url.into());
    serde_json::Value::Object(doc).to_string()
}

/// Amazon SNS through the gateway: the signing certificate the message names
/// is fetched over HTTPS from a loopback server (a second hookgate with a TLS
/// listener in front of a recording upstream that serves the certificate),
/// allowed by the route's `cert_url_hosts` and `cert_url_ca`. A notification
/// is verified and forwarded byte-exact; a `SubscriptionConfirmation` is
/// confirmed by fetching its `SubscribeURL` and answered by the gateway, not
/// forwarded; tampered and off-list messages are refused.
#[test]
fn sns_certificate_is_fetched_over_loopback_https_and_subscriptions_are_confirmed() {
    let certs = tempfile::tempdir().unwrap();
    hookgate::certs::generate_dev(certs.path()).unwrap();
    let pem = |f: &str| certs.path().join(f).display().to_string();
    let cert_origin = Upstream::with(Behaviour {
        body: SNS_CERT,
        ..Behaviour::default()
    });
    let https_port = free_port();
    let cert_host = Gateway::start(
        &(format!(
            "[[listener]]\nname = \"tls\"\nlisten = \"127.0.0.1:{https_port}\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n",
            pem("server.pem"),
            pem("server.key")
        ) + &route("certs", "/", cert_origin.addr, "")),
    );
    let up = Upstream::start();
    let sns = format!(
        "[route.verify]\nscheme = \"amazon-sns\"\ntopic_arns = [\"{TOPIC}\"]\nauto_confirm = true\ncert_url_hosts = [\"localhost:{https_port}\"]\ncert_url_ca = \"{}\"\n",
        pem("ca.pem")
    );
    let gw = Gateway::start(&route("sns", "/sns", up.addr, &sns));
    let origin = format!("https://localhost:{https_port}");
    let cert_url = format!("{origin}/SimpleNotificationService-test.pem");
    let post = |body: &str| {
        client()
            .post(gw.url("/sns"))
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "Notification")
            .body(body.to_string())
            .send()
            .unwrap()
    };

    let note = sns_message("Notification", &cert_url, "");
    let r = post(&note);
    assert_eq!(r.status(), 200, "{}", gw.logs());
    assert_eq!(up.received()[0].body, note.as_bytes());
    assert_eq!(
        up.received()[0].header("x-hookgate-verified").as_deref(),
        Some("amazon-sns; key=certificate")
    );

    let confirm = sns_message(
        "SubscriptionConfirmation",
        &cert_url,
        &format!("{origin}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t1"),
    );
    let r = post(&confirm);
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), "subscription confirmed");
    assert_eq!(up.received().len(), 1, "the confirmation is not forwarded");
    let fetched: Vec<String> = cert_origin
        .received()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        fetched,
        [
            "/SimpleNotificationService-test.pem".to_string(),
            format!("/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t1"),
        ],
        "the certificate once (then cached), then the SubscribeURL"
    );

    // Tampered, or naming a certificate off the allowlist: refused, nothing fetched.
    let r = post(&note.replace("quoted", "QUOTED"));
    assert_eq!(r.status(), 401);
    let elsewhere = sns_message("Notification", "https://evil.example/cert.pem", "");
    let r = post(&elsewhere);
    assert_eq!(r.status(), 401);
    assert_eq!(cert_origin.received().len(), 2);
    assert_eq!(up.received().len(), 1);
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"handshake\",route=\"sns\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"forwarded\",route=\"sns\"}"),
        1.0
    );
    drop(cert_host);
}

/// A handshake answer follows the connection rules of every answer
/// hookgate makes itself: pipelined GET challenges are answered in order on
/// one kept-alive connection; a challenge answered before its body was read
/// closes the connection, so the unread body is never taken for a request.
#[test]
fn handshake_answers_keep_or_close_the_connection_like_any_answer() {
    use std::io::Write;
    let up = Upstream::start();
    let gw = Gateway::start(&route(
        "dropbox",
        "/dropbox",
        up.addr,
        "[route.verify]\nscheme = \"dropbox\"\nsecrets = [\"app\"]\n",
    ));
    let mut s = std::net::TcpStream::connect(gw.addr).unwrap();
    s.write_all(
        b"GET /dropbox?challenge=a HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /dropbox?challenge=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let got = read_responses(&mut s);
    let seen: Vec<(u16, &[u8], Option<&str>)> = got
        .iter()
        .map(|r| (r.status, r.body.as_slice(), r.header("connection")))
        .collect();
    assert_eq!(
        seen,
        [
            (200, &b"a"[..], Some("keep-alive")),
            (200, &b"b"[..], Some("close"))
        ]
    );

    let mut s = std::net::TcpStream::connect(gw.addr).unwrap();
    s.write_all(
        b"POST /dropbox?challenge=p HTTP/1.1\r\nHost: x\r\nContent-Length: 53\r\n\r\n\
          GET /dropbox?challenge=smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let got = read_responses(&mut s);
    assert_eq!(got.len(), 1, "the unread body is not a second request");
    assert_eq!(
        (
            got[0].status,
            got[0].body.as_slice(),
            got[0].header("connection")
        ),
        (200, &b"p"[..], Some("close"))
    );
    assert!(up.received().is_empty());
}

/// monday.com's `{"challenge"}` through a running gateway: answered with the
/// same JSON when it carries a valid JWT and when it carries none (monday
/// does not document signing it); without a JWT nothing else is read or
/// forwarded; a signed event is forwarded byte-exact.
#[test]
fn monday_challenge_is_echoed_signed_or_unsigned_and_never_forwarded() {
    let up = Upstream::start();
    let table = "[route.verify]\nscheme = \"monday\"\nsecrets = [\"monday-signing\"]\n";
    let gw = Gateway::start(&route("monday", "/monday", up.addr, table));
    let v = signer(table);
    let challenge = br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    let post = |body: &[u8], signed: bool| {
        let mut rb = client()
            .post(gw.url("/monday"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if signed {
            for (k, val) in sign_with(&v, "/monday", &[], body, SystemTime::now()) {
                rb = rb.header(k, val);
            }
        }
        rb.send().unwrap()
    };
    for signed in [true, false] {
        let a = answered(post(challenge, signed));
        assert_eq!(
            (a.status, a.body.as_bytes()),
            (200, &challenge[..]),
            "signed: {signed}"
        );
        assert_eq!(a.content_type, "application/json");
    }
    // Unsigned, anything but the bare challenge is refused.
    let event = br#"{"event":{"type":"create_item","pulseId":1}}"#;
    let r = post(event, false);
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("signature_missing"));
    assert!(up.received().is_empty(), "challenges are never forwarded");
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"handshake\",route=\"monday\"}"),
        2.0
    );
    let r = post(event, true);
    assert_eq!(r.status(), 200);
    let got = up.received();
    assert_eq!((got.len(), got[0].body.as_slice()), (1, &event[..]));
}

/// Trello signs the body followed by the callback URL it was given: the
/// public URL (`public_url` + path), not the address hookgate listens on.
/// The signature here is computed independently of hookgate's signer.
#[test]
fn trello_signature_covers_the_public_callback_url() {
    let up = Upstream::start();
    let table = "[route.verify]\nscheme = \"trello\"\nsecrets = [\"trello-app-secret\"]\npublic_url = \"https://hooks.example.com\"\n";
    let gw = Gateway::start(&route("trello", "/trello", up.addr, table));
    let body = r#"{"action":{"id":"5f1a","type":"updateCard","data":{"text":"caf\u00e9"}},"model":{"id":"4d5e"}}"#;
    let sign = |url: &str| {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(b"trello-app-secret").unwrap();
        m.update(body.as_bytes());
        m.update(url.as_bytes());
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            m.finalize().into_bytes(),
        )
    };
    let post = |sig: String| {
        client()
            .post(gw.url("/trello?board=1"))
            .header("x-trello-webhook", sig)
            .body(body)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(post(sign(&gw.url("/trello?board=1"))), 401);
    assert!(up.received().is_empty());
    assert_eq!(post(sign("https://hooks.example.com/trello?board=1")), 200);
    let got = up.received();
    assert_eq!((got.len(), got[0].body.as_slice()), (1, body.as_bytes()));
}
