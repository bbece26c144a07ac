//! Handshakes through a running gateway: answered by hookgate, counted as
//! `outcome="handshake"`, never forwarded; and deliveries that used to be
//! dropped as duplicates (D1/D8) reach the app.

use crate::harness::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

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

#[test]
fn d1_d8_distinct_deliveries_with_one_credential_or_one_body_all_reach_the_app() {
    let up = Upstream::start();
    let routes = route(
        "gitlab",
        "/gitlab",
        up.addr,
        "[route.verify]\nscheme = \"gitlab\"\nsecrets = [\"tok\"]\n",
    ) + &route(
        "basic",
        "/basic",
        up.addr,
        "[route.verify]\nscheme = \"postmark\"\nsecrets = [\"u:p\"]\n",
    ) + &route(
        "dropbox",
        "/dropbox",
        up.addr,
        "[route.verify]\nscheme = \"dropbox\"\nsecrets = [\"app\"]\n",
    );
    let gw = Gateway::start(&routes);
    for i in 0..2 {
        let r = client()
            .post(gw.url("/gitlab"))
            .header("x-gitlab-token", "tok")
            .header("idempotency-key", format!("key-{i}"))
            .body(format!("{{\"n\":{i}}}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = client()
            .post(gw.url("/basic"))
            .basic_auth("u", Some("p"))
            .body(format!("{{\"n\":{i}}}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        // Dropbox notifies two changes with byte-identical bodies.
        let body = br#"{"list_folder":{"accounts":["dbid:1"]},"delta":{"users":[1]}}"#;
        let r = client()
            .post(gw.url("/dropbox"))
            .header("x-dropbox-signature", hex_hmac(b"app", body))
            .body(body.to_vec())
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(up.received().len(), 6, "every real delivery was forwarded");
    // GitLab's own retry of one delivery (same Idempotency-Key) is still caught.
    let r = client()
        .post(gw.url("/gitlab"))
        .header("x-gitlab-token", "tok")
        .header("idempotency-key", "key-0")
        .body("{\"n\":0}")
        .send()
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["status"],
        "duplicate"
    );
    assert_eq!(up.received().len(), 6);
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
