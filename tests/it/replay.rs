//! Replay protection end to end, with the memory store and a real Redis.

use crate::harness::*;
use std::time::{Duration, Instant, SystemTime};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn sw_table(extra: &str) -> String {
    format!("[route.verify]\nscheme = \"standard-webhooks\"\nsecrets = [\"{SECRET}\"]\n{extra}")
}

/// A Standard Webhooks delivery (its webhook-id is signed, so it is the replay key).
fn delivery(id: &str, body: &[u8]) -> Vec<(String, String)> {
    let v = signer(&sw_table(""));
    sign_with(&v, "/sw", &[("webhook-id", id)], body, SystemTime::now())
}

fn github_signed(body: &[u8]) -> Vec<(String, String)> {
    let v = signer("scheme = \"github\"\nsecrets = [\"gh\"]");
    sign_with(&v, "/gh", &[], body, SystemTime::now())
}

fn send(gw: &Gateway, path: &str, h: &[(String, String)], body: &[u8]) -> (u16, serde_json::Value) {
    let mut req = client().post(gw.url(path)).body(body.to_vec());
    for (k, v) in h {
        req = req.header(k, v);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn same_delivery_twice_is_forwarded_once_and_acknowledged() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("sw", "/sw", up.addr, &sw_table("")));
    let h = delivery("msg_1", b"{\"n\":1}");
    assert_eq!(send(&gw, "/sw", &h, b"{\"n\":1}").0, 200);
    let (status, json) = send(&gw, "/sw", &h, b"{\"n\":1}");
    assert_eq!(status, 200);
    assert_eq!(
        json["status"], "duplicate",
        "sender is told to stop retrying"
    );
    assert_eq!(up.received().len(), 1);
    // The provider re-signs a retry with a fresh timestamp but the same id: still a duplicate.
    assert_eq!(
        send(&gw, "/sw", &delivery("msg_1", b"{\"n\":1}"), b"{\"n\":1}").1["status"],
        "duplicate"
    );
    assert_eq!(up.received().len(), 1);
    let m = gw.metrics();
    assert_eq!(
        metric_value(
            &m,
            "hookgate_replay_total{result=\"committed\",route=\"sw\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_replay_total{result=\"duplicate_acked\",route=\"sw\"}"
        ),
        2.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_requests_total{outcome=\"duplicate\",route=\"sw\"}"
        ),
        2.0
    );
}

#[test]
fn reject_mode_answers_409_and_unsigned_id_headers_cannot_dodge_the_store() {
    let up = Upstream::start();
    let table = "[route.verify]\nscheme = \"github\"\nsecrets = [\"gh\"]\n[route.replay]\nkey = \"signature\"\non_duplicate = \"reject\"";
    let gw = Gateway::start(&route("gh", "/gh", up.addr, table));
    let body = b"{\"action\":\"opened\"}";
    let mut h = github_signed(body);
    h.push(("x-github-delivery".into(), "d-1".into()));
    assert_eq!(send(&gw, "/gh", &h, body).0, 200);
    // A replayer changes the (unsigned) delivery id: the key is the signature, so it is still caught.
    h.retain(|(k, _)| k != "x-github-delivery");
    h.push(("x-github-delivery".into(), "d-forged".into()));
    let (status, json) = send(&gw, "/gh", &h, body);
    assert_eq!(
        (status, json["error"].as_str()),
        (409, Some("replay_detected"))
    );
    assert_eq!(up.received().len(), 1);
    assert_eq!(
        gw.metric("hookgate_replay_total{result=\"replay_dropped\",route=\"gh\"}"),
        1.0
    );
}

#[test]
fn concurrent_duplicates_forward_exactly_once() {
    let up = Upstream::with(Behaviour {
        delay: Duration::from_millis(600),
        ..Default::default()
    });
    let gw = std::sync::Arc::new(Gateway::start(&route("sw", "/sw", up.addr, &sw_table(""))));
    let h = delivery("msg_race", b"{}");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (gw, h) = (gw.clone(), h.clone());
            std::thread::spawn(move || send(&gw, "/sw", &h, b"{}"))
        })
        .collect();
    let results: Vec<(u16, serde_json::Value)> =
        handles.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(up.received().len(), 1, "exactly one forwarded");
    let forwarded = results
        .iter()
        .filter(|(s, j)| *s == 200 && j["status"] != "duplicate")
        .count();
    assert_eq!(forwarded, 1, "{results:?}");
    for (s, j) in &results {
        assert!(
            *s == 200 || (*s == 409 && j["error"] == "replay_in_flight"),
            "{s} {j}"
        );
    }
}

#[test]
fn failed_delivery_is_released_so_the_retry_goes_through() {
    let up = Upstream::with(Behaviour {
        status: 500,
        ..Default::default()
    });
    let gw = Gateway::start(&route("sw", "/sw", up.addr, &sw_table("")));
    let body = b"{\"n\":2}";
    assert_eq!(send(&gw, "/sw", &delivery("msg_2", body), body).0, 500);
    up.set(Behaviour::default());
    assert_eq!(
        send(&gw, "/sw", &delivery("msg_2", body), body).0,
        200,
        "retry after failure forwarded"
    );
    assert_eq!(
        send(&gw, "/sw", &delivery("msg_2", body), body).1["status"],
        "duplicate"
    );
    assert_eq!(up.received().len(), 2, "forwarded twice, committed once");
    let m = gw.metrics();
    assert_eq!(
        metric_value(
            &m,
            "hookgate_replay_total{result=\"released\",route=\"sw\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_replay_total{result=\"committed\",route=\"sw\"}"
        ),
        1.0
    );

    // Unreachable upstream: released too.
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let gw2 = Gateway::start(&route("sw", "/sw", dead, &sw_table("")));
    assert_eq!(send(&gw2, "/sw", &delivery("msg_3", body), body).0, 502);
    assert_eq!(
        send(&gw2, "/sw", &delivery("msg_3", body), body).0,
        502,
        "not 409: the key was released"
    );
}

#[test]
fn untimestamped_key_expires_after_its_ttl() {
    let up = Upstream::start();
    let table =
        "[route.verify]\nscheme = \"github\"\nsecrets = [\"gh\"]\n[route.replay]\nkey = \"signature\"\nttl = \"1s\"";
    let gw = Gateway::start(&route("gh", "/gh", up.addr, table));
    let body = b"{}";
    let h = github_signed(body);
    assert_eq!(send(&gw, "/gh", &h, body).0, 200);
    assert_eq!(send(&gw, "/gh", &h, body).1["status"], "duplicate");
    // Acknowledged as a duplicate until the 1s ttl runs out, then forwarded.
    eventually(Duration::from_secs(10), "the key to expire", || {
        send(&gw, "/gh", &h, body).1["status"] != "duplicate"
    });
    assert_eq!(up.received().len(), 2);
}

#[test]
fn full_memory_store_fails_closed_with_retry_after() {
    let up = Upstream::start();
    let routes = format!(
        "[replay]\nmax_keys = 2\n\n{}",
        route("sw", "/sw", up.addr, &sw_table(""))
    );
    let gw = Gateway::start(&routes);
    for i in 0..2 {
        assert_eq!(
            send(&gw, "/sw", &delivery(&format!("msg_f{i}"), b"{}"), b"{}").0,
            200
        );
    }
    let mut req = client().post(gw.url("/sw")).body("{}");
    for (k, v) in delivery("msg_f9", b"{}") {
        req = req.header(k, v);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"],
        "replay_store_full"
    );
    assert_eq!(
        send(&gw, "/sw", &delivery("msg_f0", b"{}"), b"{}").1["status"],
        "duplicate",
        "old keys not forgotten"
    );
    assert_eq!(
        gw.metric("hookgate_replay_store_errors_total{error=\"full\"}"),
        1.0
    );
}

fn redis_routes(redis: &RedisServer, upstream: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "[replay]\nstore = \"redis\"\nredis_url = \"{}\"\ncommand_timeout = \"300ms\"\nconnect_timeout = \"300ms\"\n{extra}\n{}",
        redis.url(),
        route("sw", "/sw", upstream, &sw_table(""))
    )
}

#[test]
fn two_gateways_sharing_redis_forward_a_delivery_once() {
    let redis = RedisServer::start();
    let up = Upstream::start();
    let a = Gateway::start(&redis_routes(&redis, up.addr, ""));
    let b = Gateway::start(&redis_routes(&redis, up.addr, ""));
    let body = b"{\"shared\":true}";
    assert_eq!(send(&a, "/sw", &delivery("msg_shared", body), body).0, 200);
    assert_eq!(
        send(&b, "/sw", &delivery("msg_shared", body), body).1["status"],
        "duplicate"
    );
    assert_eq!(
        send(&a, "/sw", &delivery("msg_shared", body), body).1["status"],
        "duplicate"
    );
    assert_eq!(up.received().len(), 1);
}

#[test]
fn redis_outage_fails_closed_then_recovers() {
    let redis = RedisServer::start();
    let port = redis.port;
    let up = Upstream::start();
    let gw = Gateway::start(&redis_routes(&redis, up.addr, ""));
    assert_eq!(send(&gw, "/sw", &delivery("msg_r1", b"{}"), b"{}").0, 200);
    drop(redis);
    let mut req = client().post(gw.url("/sw")).body("{}");
    for (k, v) in delivery("msg_r2", b"{}") {
        req = req.header(k, v);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"],
        "replay_store_unavailable"
    );
    assert_eq!(
        up.received().len(),
        1,
        "not forwarded while the store is down"
    );

    let _back = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = send(&gw, "/sw", &delivery("msg_r2", b"{}"), b"{}");
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery after Redis came back (last {status})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(up.received().len(), 2);
    assert!(gw.metric("hookgate_replay_store_errors_total{error=\"unavailable\"}") >= 1.0);
}

#[test]
fn fail_open_forwards_when_redis_is_down() {
    let redis = RedisServer::start();
    let up = Upstream::start();
    let gw = Gateway::start(&redis_routes(&redis, up.addr, "fail_open = true"));
    drop(redis);
    assert_eq!(send(&gw, "/sw", &delivery("msg_o", b"{}"), b"{}").0, 200);
    assert_eq!(up.received().len(), 1);
    assert_eq!(
        gw.metric("hookgate_replay_total{result=\"fail_open\",route=\"sw\"}"),
        1.0
    );
}
