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
