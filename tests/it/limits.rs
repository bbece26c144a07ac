//! Body limits and client deadlines.

use crate::harness::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

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

/// Read until the server closes the connection (bounded); while waiting,
/// `trickle` sends one more header byte every 100 ms.
fn wait_closed(s: &mut TcpStream, trickle: bool, within: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        if trickle && s.write_all(b"a").is_err() {
            return true;
        }
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// pingora only bounds each read of a header, so a client sending a byte now
/// and then could hold a connection forever. `header_timeout` bounds the
/// whole header; silent and idle keep-alive connections go too, counted apart.
#[test]
fn trickled_silent_and_idle_connections_are_closed_at_header_timeout() {
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "header_timeout = \"2s\"",
        &route("x", "/hooks/x", up.addr, ""),
    );
    let series = |reason: &str| format!("hookgate_downstream_closed_total{{reason=\"{reason}\"}}");
    assert_eq!(gw.metric(&series("header_timeout")), 0.0);

    let addr = gw.addr;
    let trickler = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /hooks/x HTTP/1.1\r\nhost: t\r\nx-slow: ")
            .unwrap();
        wait_closed(&mut s, true, Duration::from_secs(15))
    });
    let mut silent = TcpStream::connect(gw.addr).unwrap();
    let mut kept = TcpStream::connect(gw.addr).unwrap();
    let first = exchange(
        &mut kept,
        "POST /hooks/x HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n",
        b"ok",
    );
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        wait_closed(&mut silent, false, Duration::from_secs(15)),
        "a connection that sends nothing is closed"
    );
    assert!(
        wait_closed(&mut kept, false, Duration::from_secs(15)),
        "an idle keep-alive connection is closed"
    );
    assert!(
        trickler.join().unwrap(),
        "a trickled header is cut off, though every byte came well within the read timeout"
    );

    assert_eq!(gw.metric(&series("header_timeout")), 1.0);
    assert_eq!(gw.metric(&series("idle")), 2.0);
    assert!(
        gw.logs()
            .contains("closed: request header not complete within header_timeout"),
        "{}",
        gw.logs()
    );
    // Only the one request that completed reached the upstream.
    assert_eq!(up.received().len(), 1);
    let r = client()
        .post(gw.url("/hooks/x"))
        .body("fine")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}
