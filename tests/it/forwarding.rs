//! Routing and byte-exact forwarding.

use crate::harness::*;

#[test]
fn routes_by_prefix_and_host_first_match_wins_and_404_otherwise() {
    let a = Upstream::start();
    let b = Upstream::start();
    let routes = route("host-only", "/hooks", b.addr, "host = \"special.example\"")
        + &route("a", "/hooks/a", a.addr, "")
        + &route("b", "/hooks", b.addr, "");
    let gw = Gateway::start(&routes);
    let c = client();

    let r = c.post(gw.url("/hooks/a/x?q=1")).body("1").send().unwrap();
    assert_eq!(r.status(), 200);
    let r = c.post(gw.url("/hooks/ab")).body("2").send().unwrap();
    assert_eq!(
        r.status(),
        200,
        "/hooks/ab is not under /hooks/a: falls to route b"
    );
    let r = c
        .post(gw.url("/hooks/a"))
        .header("host", "Special.Example:8080")
        .body("3")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let got_a = a.received();
    let got_b = b.received();
    assert_eq!(got_a.len(), 1);
    assert_eq!(
        got_a[0].path, "/hooks/a/x?q=1",
        "path and query forwarded unchanged"
    );
    assert_eq!(got_a[0].body, b"1");
    assert_eq!(
        got_b.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
        vec![b"2".to_vec(), b"3".to_vec()]
    );

    let r = c.post(gw.url("/other")).body("x").send().unwrap();
    assert_eq!(r.status(), 404);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let json: serde_json::Value = r.json().unwrap();
    assert_eq!(
        json,
        serde_json::json!({"error": "no_route", "request_id": id})
    );
    assert_eq!(
        a.received().len() + b.received().len(),
        3,
        "nothing forwarded for 404"
    );
}

fn send_and_compare(gw: &Gateway, up: &Upstream, size: usize, chunked: bool) {
    let data = payload(size);
    let before = up.received().len();
    let body = if chunked {
        // A reader of unknown length makes reqwest use Transfer-Encoding: chunked.
        reqwest::blocking::Body::new(std::io::Cursor::new(data.clone()))
    } else {
        reqwest::blocking::Body::from(data.clone())
    };
    let r = client().post(gw.url("/hooks/x")).body(body).send().unwrap();
    assert_eq!(
        r.status(),
        200,
        "size {size} chunked {chunked}: {}",
        gw.logs()
    );
    let got = up.received();
    assert_eq!(got.len(), before + 1);
    let rec = &got[before];
    assert_eq!(rec.body.len(), size, "size {size} chunked {chunked}");
    assert!(
        rec.body == data,
        "body bytes differ for size {size} chunked {chunked}"
    );
    assert_eq!(rec.header("content-length"), Some(size.to_string()));
    assert_eq!(rec.header("transfer-encoding"), None);
}

#[test]
fn forwards_exact_bytes_for_all_sizes_and_framings() {
    let up = Upstream::start();
    let gw = Gateway::start(&route(
        "x",
        "/hooks/x",
        up.addr,
        "max_body_bytes = \"6MiB\"",
    ));
    for size in [0, 1024, 200 * 1024, 5 * 1024 * 1024] {
        send_and_compare(&gw, &up, size, false);
        send_and_compare(&gw, &up, size, true);
    }
}

#[test]
fn sets_forwarding_headers_strips_hop_by_hop_and_relays_response() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    let r = client()
        .post(gw.url("/hooks/x"))
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-request-id", "client-chosen")
        .header("connection", "x-drop-me")
        .header("x-drop-me", "secret-hop")
        .header("x-hub-signature-256", "sha256=abc")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-upstream"],
        "recorder",
        "upstream headers relayed"
    );
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(
        id, "client-chosen",
        "incoming ids are not trusted by default"
    );
    assert_eq!(r.text().unwrap(), "{\"ok\":true}");

    let rec = up.received().pop().unwrap();
    assert_eq!(
        rec.header("x-forwarded-for").as_deref(),
        Some("127.0.0.1"),
        "spoofed XFF replaced"
    );
    assert_eq!(rec.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(rec.header("x-request-id"), Some(id.clone()));
    assert_eq!(
        rec.header("x-drop-me"),
        None,
        "header named in Connection is hop-by-hop"
    );
    assert_eq!(
        rec.header("x-hub-signature-256").as_deref(),
        Some("sha256=abc")
    );

    let line = gw.wait_access_log(&id);
    assert_eq!(line["route"], "x");
    assert_eq!(line["status"], 200);
    assert_eq!(line["outcome"], "forwarded");
    assert_eq!(line["peer"], "127.0.0.1");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn trusted_request_id_is_kept_when_configured() {
    let up = Upstream::start();
    let gw = Gateway::launch(
        "trust_request_id = true",
        &route("x", "/hooks/x", up.addr, ""),
        &[],
    );
    let r = client()
        .post(gw.url("/hooks/x"))
        .header("x-request-id", "abc-123")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    assert_eq!(
        up.received()
            .pop()
            .unwrap()
            .header("x-request-id")
            .as_deref(),
        Some("abc-123")
    );
    let r = client()
        .post(gw.url("/hooks/x"))
        .header("x-request-id", "bad id{}")
        .body("x")
        .send()
        .unwrap();
    assert_ne!(
        r.headers()["x-request-id"],
        "bad id{}",
        "malformed ids are replaced"
    );
}

#[test]
fn upstream_unreachable_is_502_and_timeout_is_504() {
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let slow = Upstream::with(Behaviour {
        delay: std::time::Duration::from_secs(3),
        ..Default::default()
    });
    let routes = route("dead", "/dead", dead, "")
        + &route("slow", "/slow", slow.addr, "read_timeout = \"500ms\"");
    let gw = Gateway::start(&routes);

    let r = client().post(gw.url("/dead")).body("x").send().unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"],
        "upstream_unreachable"
    );

    let r = client().post(gw.url("/slow")).body("x").send().unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"],
        "upstream_timeout"
    );

    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"upstream_unreachable\",route=\"dead\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"upstream_timeout\",route=\"slow\"}"),
        1.0
    );
}

#[test]
fn round_robin_across_upstreams_and_skips_a_dead_one() {
    let a = Upstream::start();
    let b = Upstream::start();
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let extra = format!(
        "upstreams = [\"{}\", \"http://{}\", \"{}\"]",
        a.addr, b.addr, dead
    );
    let routes = format!(
        "[[route]]\nname = \"rr\"\npath_prefix = \"/rr\"\nallow_unauthenticated = true\n{extra}\n"
    );
    let gw = Gateway::start(&routes);
    for i in 0..6 {
        let r = client()
            .post(gw.url("/rr"))
            .body(format!("{i}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "a dead backend is skipped, not surfaced");
    }
    assert!(
        !a.received().is_empty() && !b.received().is_empty(),
        "both live backends used"
    );
    assert_eq!(
        a.received().len() + b.received().len(),
        6,
        "each delivery forwarded exactly once"
    );
}

#[test]
fn upstream_errors_are_relayed_as_is_and_counted_by_class() {
    let up = Upstream::with(Behaviour {
        status: 500,
        body: "{\"app\":\"broke\"}",
        ..Default::default()
    });
    let gw = Gateway::start(&route("x", "/x", up.addr, ""));
    let r = client().post(gw.url("/x")).body("1").send().unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.text().unwrap(),
        "{\"app\":\"broke\"}",
        "the app's own answer reaches the sender"
    );
    up.set(Behaviour {
        status: 202,
        ..Default::default()
    });
    assert_eq!(
        client()
            .post(gw.url("/x"))
            .body("2")
            .send()
            .unwrap()
            .status(),
        202
    );
    let m = gw.metrics();
    assert_eq!(
        metric_value(
            &m,
            "hookgate_upstream_responses_total{class=\"5xx\",route=\"x\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_upstream_responses_total{class=\"2xx\",route=\"x\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &m,
            "hookgate_requests_total{outcome=\"forwarded\",route=\"x\"}"
        ),
        2.0
    );
}

/// A HEAD response carries a `Content-Length` but no body: hookgate relays
/// it at once and the connections on both sides stay usable.
#[test]
fn head_requests_are_answered_without_waiting_for_a_body() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("h", "/h", up.addr, ""));
    let mut conn = std::net::TcpStream::connect(gw.addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    for i in 0..3 {
        let head = format!("HEAD /h/{i} HTTP/1.1\r\nHost: a.example\r\n\r\n");
        std::io::Write::write_all(&mut conn, head.as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = std::io::Read::read(&mut conn, &mut buf).unwrap();
            assert!(n > 0, "connection closed after {i} HEAD requests");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).to_lowercase();
        assert!(text.starts_with("http/1.1 200"), "{text}");
        assert!(text.contains("content-length: 11"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "no body after a HEAD: {text}");
    }
    let got = up.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.method == "HEAD"));
}
