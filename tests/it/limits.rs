//! Body limits and client deadlines.

use crate::harness::*;

const LIMIT: usize = 64 * 1024 + 100; // above pingora's 64 KiB retry buffer on purpose

fn gw_with_limit(up: &Upstream) -> Gateway {
    Gateway::start(&route(
        "x",
        "/hooks/x",
        up.addr,
        &format!("max_body_bytes = {LIMIT}"),
    ))
}

#[test]
fn body_at_the_limit_passes_one_byte_over_is_413() {
    let up = Upstream::start();
    let gw = gw_with_limit(&up);
    let c = client();
    let r = c
        .post(gw.url("/hooks/x"))
        .body(payload(LIMIT))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(gw.url("/hooks/x"))
        .body(payload(LIMIT + 1))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"],
        "payload_too_large"
    );
    assert_eq!(up.received().len(), 1, "oversized body never forwarded");
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"payload_too_large\",route=\"x\"}"),
        1.0
    );
}

#[test]
fn chunked_body_crossing_the_limit_is_413_without_reading_the_rest() {
    let up = Upstream::start();
    let gw = gw_with_limit(&up);
    // Declare nothing, send chunks past the limit, then stop sending and wait:
    // hookgate must answer as soon as the limit is crossed, not wait for the end.
    let chunk = payload(16 * 1024);
    let mut body = Vec::new();
    for _ in 0..(LIMIT / chunk.len() + 2) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    // No terminating 0-chunk: the body never ends.
    let resp = raw_request(
        gw.addr,
        "POST /hooks/x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n",
        &body,
    );
    assert!(resp.starts_with("HTTP/1.1 413"), "got: {resp}");
    assert!(
        resp.contains("\"error\":\"payload_too_large\""),
        "got: {resp}"
    );
    assert!(up.received().is_empty());
}

#[test]
fn client_that_stalls_mid_body_gets_408() {
    let up = Upstream::start();
    let gw = gw_with_limit(&up);
    // Content-Length promises 100 bytes, only 10 arrive; read_timeout is 2s in the harness.
    let resp = raw_request(
        gw.addr,
        "POST /hooks/x HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n",
        b"0123456789",
    );
    assert!(resp.starts_with("HTTP/1.1 408"), "got: {resp}");
    assert!(resp.contains("request_timeout"));
    assert!(up.received().is_empty());
}

#[test]
fn header_count_limit_is_enforced() {
    let up = Upstream::start();
    let gw = gw_with_limit(&up);
    let mut head = String::from("POST /hooks/x HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n");
    for i in 0..150 {
        head.push_str(&format!("x-h{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let resp = raw_request(gw.addr, &head, b"");
    assert!(resp.starts_with("HTTP/1.1 400"), "got: {resp}");
    assert!(up.received().is_empty());
}
