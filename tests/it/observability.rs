//! Admin endpoints, metrics and shutdown behaviour.

use crate::harness::*;
use std::time::Duration;

#[test]
fn health_ready_and_metrics_move() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("m", "/m", up.addr, ""));
    assert_eq!(
        get(&format!("http://{}/healthz", gw.admin)).unwrap(),
        (200, "ok\n".into())
    );
    let (status, body) = get(&format!("http://{}/readyz", gw.admin)).unwrap();
    assert_eq!(status, 200, "{body}");

    let fwd = "hookgate_requests_total{outcome=\"forwarded\",route=\"m\"}";
    let none = "hookgate_requests_total{outcome=\"no_route\",route=\"none\"}";
    let m = gw.metrics();
    assert!(
        m.contains(fwd),
        "series exist before the first request:\n{m}"
    );
    assert_eq!(metric_value(&m, fwd), 0.0);

    for _ in 0..3 {
        assert_eq!(
            client()
                .post(gw.url("/m"))
                .body("12345")
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        client()
            .post(gw.url("/nope"))
            .body("1")
            .send()
            .unwrap()
            .status(),
        404
    );

    // The overhead histogram is observed after the response (it includes
    // relaying it), so wait for it; everything else is counted before.
    eventually(
        Duration::from_secs(10),
        "the overhead to be observed",
        || gw.metric("hookgate_overhead_seconds_count{route=\"m\"}") >= 3.0,
    );
    let m = gw.metrics();
    assert_eq!(metric_value(&m, fwd), 3.0);
    assert_eq!(metric_value(&m, none), 1.0);
    assert_eq!(
        metric_value(&m, "hookgate_request_body_bytes_total{route=\"m\"}"),
        15.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_upstream_responses_total{class=\"2xx\",route=\"m\"}"
        ),
        3.0
    );
    assert_eq!(
        metric_value(&m, "hookgate_upstream_duration_seconds_count{route=\"m\"}"),
        3.0
    );
    assert_eq!(
        metric_value(&m, "hookgate_overhead_seconds_count{route=\"m\"}"),
        3.0
    );
    assert_eq!(metric_value(&m, "hookgate_config_generation"), 1.0);
    assert!(metric_value(&m, "hookgate_config_last_reload_success_timestamp_seconds") > 1.7e9);
    assert!(m.contains("hookgate_build_info{version=\""));
    assert!(m.contains("hookgate_config_reload_total{result=\"error\"} 0"));
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let up = Upstream::with(Behaviour {
        delay: Duration::from_millis(1500),
        ..Default::default()
    });
    let mut gw = Gateway::start(&route("s", "/s", up.addr, ""));
    let url = gw.url("/s");
    let inflight = std::thread::spawn(move || {
        client()
            .post(url)
            .body("slow")
            .send()
            .map(|r| r.status().as_u16())
    });
    // Wait until the upstream has the request, then ask hookgate to stop.
    eventually(
        Duration::from_secs(10),
        "the request to reach the upstream",
        || !up.received().is_empty(),
    );
    gw.signal("TERM");
    assert_eq!(
        inflight.join().unwrap().unwrap(),
        200,
        "in-flight request completed after SIGTERM"
    );
    gw.wait_exit(Duration::from_secs(20));
}

/// pingora drops connections still waiting for a request the moment its
/// listeners close; a request that was on its way (here: the second one on a
/// keep-alive connection, sent right after shutdown began) must still be
/// answered, with `Connection: close`, and reach the upstream.
#[test]
fn request_arriving_just_after_the_listeners_close_is_answered() {
    let up = Upstream::start();
    let mut gw = Gateway::start(&route("k", "/k", up.addr, ""));
    let mut conn = std::net::TcpStream::connect(gw.addr).unwrap();
    let head = |body: &str| {
        format!(
            "POST /k HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
    };
    // The first exchange proves the gateway accepted this connection.
    let first = exchange(&mut conn, &head("one"), b"one");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    gw.signal("TERM");
    eventually(Duration::from_secs(10), "shutdown to begin", || {
        gw.logs().contains("listeners closed, draining")
    });
    let second = exchange(&mut conn, &head("two"), b"two");
    assert!(second.starts_with("HTTP/1.1 200"), "answered: {second:?}");
    assert!(
        second.to_ascii_lowercase().contains("connection: close"),
        "the client is told not to reuse: {second}"
    );
    let bodies: Vec<Vec<u8>> = up.received().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies, vec![b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(gw.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn config_endpoint_shows_effective_config_without_secrets() {
    let up = Upstream::start();
    let routes = "[replay]\nstore = \"redis\"\nredis_url = \"redis://:hunter2-redis@127.0.0.1:1/0\"\nfail_open = true\n\n".to_string()
        + &route(
            "gh",
            "/gh",
            up.addr,
            "[route.verify]\nscheme = \"github\"\nsecrets = [\"inline-super-secret\", \"env:HOOKGATE_CFG_TEST\", { value = \"another-inline-secret\", id = \"2025-q1\" }]",
        );
    let gw = Gateway::launch("", &routes, &[("HOOKGATE_CFG_TEST", "env-super-secret")]);
    let (status, body) = get(&format!("http://{}/config", gw.admin)).unwrap();
    assert_eq!(status, 200);
    for secret in [
        "inline-super-secret",
        "env-super-secret",
        "another-inline-secret",
        "hunter2-redis",
    ] {
        assert!(!body.contains(secret), "/config leaks {secret}:\n{body}");
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let secrets = &v["config"]["route"][0]["verify"]["secrets"];
    assert_eq!(secrets[0], "<redacted>");
    assert_eq!(
        secrets[1], "env:HOOKGATE_CFG_TEST",
        "references say where a secret lives, not what it is"
    );
    assert_eq!(secrets[2]["id"], "2025-q1");
    assert_eq!(v["generation"], 1);
    let effective = v["effective"].to_string();
    assert!(
        effective.contains("replay store: redis redis://<redacted>@127.0.0.1:1/0"),
        "{effective}"
    );
    assert!(
        effective.contains("warning: replay.fail_open = true"),
        "{effective}"
    );
    assert!(
        !gw.logs().contains("inline-super-secret"),
        "secrets never logged"
    );
}
