//! Upstreams that answer the way real ones sometimes do: interim responses,
//! a stray `101`, keep-alive connections closed just as they are reused, a
//! client that leaves before the answer. Raw-socket upstreams, so the bytes
//! are exactly those.

use crate::harness::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

const SW: &str =
    "scheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]";

/// A route with replay protection keyed on the signed `webhook-id`.
fn replayed_route(upstream: std::net::SocketAddr) -> String {
    route(
        "sw",
        "/hooks/sw",
        upstream,
        &format!("[route.verify]\n{SW}\n[route.replay]\non_duplicate = \"ack\"\n"),
    )
}

fn deliver(gw: &Gateway, id: &str, body: &str) -> (u16, String) {
    let mut req = client().post(gw.url("/hooks/sw")).body(body.to_string());
    for (k, v) in sign_with(
        &signer(SW),
        "/hooks/sw",
        &[("webhook-id", id)],
        body.as_bytes(),
        SystemTime::now(),
    ) {
        req = req.header(k, v);
    }
    let r = req.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn replay_count(gw: &Gateway, result: &str) -> f64 {
    gw.metric(&format!(
        "hookgate_replay_total{{result=\"{result}\",route=\"sw\"}}"
    ))
}

/// An upstream `103 Early Hints` or `100 Continue` before its `200` made
/// hookgate panic: the client got the 1xx and a close, the replay key stayed
/// reserved and the in-flight gauge never went down.
#[test]
fn interim_responses_are_skipped_the_final_one_relayed_and_the_key_committed() {
    for interim in [
        "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n",
    ] {
        let up = RawUpstream::start(move |_, _| {
            let mut bytes = interim.as_bytes().to_vec();
            bytes.extend(http_response(200, "final"));
            Reply::Bytes(bytes)
        });
        let gw = Gateway::start(&replayed_route(up.addr));
        let (status, body) = deliver(&gw, "msg_1xx", "{\"n\":1}");
        assert_eq!((status, body.as_str()), (200, "final"), "{interim:?}");
        assert_eq!(replay_count(&gw, "committed"), 1.0, "{interim:?}");
        let (status, body) = deliver(&gw, "msg_1xx", "{\"n\":1}");
        assert_eq!(status, 200);
        assert!(body.contains("\"duplicate\""), "{body}");
        assert_eq!(up.received().len(), 1, "the copy was not forwarded");
        settles_to_no_request_in_flight(&gw);
        assert_eq!(
            gw.metric("hookgate_upstream_responses_total{class=\"2xx\",route=\"sw\"}"),
            1.0
        );
    }
}

/// hookgate never forwards an upgrade request, so an upstream `101` is a bad
/// answer: 502, never relayed; the key is released for the sender's retry.
#[test]
fn an_unrequested_101_is_a_bad_gateway_and_the_retry_goes_through() {
    let up = RawUpstream::start(|i, _| {
        Reply::Bytes(if i == 0 {
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
                .to_vec()
        } else {
            http_response(200, "ok")
        })
    });
    let gw = Gateway::start(&replayed_route(up.addr));
    let (status, body) = deliver(&gw, "msg_101", "{}");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("upstream_invalid_response"), "{body}");
    assert_eq!(replay_count(&gw, "released"), 1.0);
    let (status, _) = deliver(&gw, "msg_101", "{}");
    assert_eq!(status, 200, "the released key lets the retry through");
    assert_eq!(up.received().len(), 2);
    settles_to_no_request_in_flight(&gw);
}

/// The in-flight guard covers writing the response, so it is released just
/// after the client has read it: poll, with a bound, rather than read once.
fn settles_to_no_request_in_flight(gw: &Gateway) {
    eventually(Duration::from_secs(10), "no request in flight", || {
        gw.metric("hookgate_requests_in_flight") == 0.0
    });
}

/// An upstream that closes idle keep-alive connections just as hookgate
/// reuses them (here: always, the moment the next request arrives, unread,
/// so the kernel resets the connection). The request cannot have been
/// processed, so it is sent once more on a fresh connection: none lost,
/// none delivered twice.
#[test]
fn reused_connections_reset_before_reading_are_retried_once_on_a_fresh_one() {
    let up = RawUpstream::closing_reused(|_, req| {
        Reply::Bytes(http_response(200, &String::from_utf8_lossy(&req.body)))
    });
    let gw = Gateway::start(&route(
        "x",
        "/hooks/x",
        up.addr,
        "upstream_idle_timeout = \"30s\"",
    ));
    let c = client();
    for n in 0..40 {
        let body = format!("delivery-{n}");
        let r = c
            .post(gw.url("/hooks/x"))
            .body(body.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "request {n}: {}", gw.logs());
        assert_eq!(r.text().unwrap(), body);
    }
    let mut bodies: Vec<String> = up
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    bodies.sort();
    let mut want: Vec<String> = (0..40).map(|n| format!("delivery-{n}")).collect();
    want.sort();
    assert_eq!(
        bodies, want,
        "each delivery reached the upstream exactly once"
    );
    assert!(
        gw.metric("hookgate_upstream_retries_total{route=\"x\"}") >= 19.0,
        "pooled connections were reused and retried"
    );
}

/// A failure after the upstream may have read the request is never
/// retried, even on a reused connection: here the upstream reads a request
/// and closes without answering, then sends half a status line and closes.
#[test]
fn a_request_the_upstream_may_have_processed_is_not_retried() {
    let up = RawUpstream::start(|i, _| match i {
        1 => Reply::Close(Vec::new()),
        3 => Reply::Close(b"HTTP/1.1 20".to_vec()),
        _ => Reply::Bytes(http_response(200, "ok")),
    });
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    let c = client();
    let statuses: Vec<u16> = ["a", "b", "c", "d"]
        .iter()
        .map(|b| {
            c.post(gw.url("/hooks/x"))
                .body(*b)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(statuses, [200, 502, 200, 502]);
    let bodies: Vec<Vec<u8>> = up.received().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        [b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
    );
    assert_eq!(
        gw.metric("hookgate_upstream_retries_total{route=\"x\"}"),
        0.0
    );
}

/// A client that leaves while its delivery is with the upstream: the
/// delivery still settles with the upstream's answer (a 5xx releases the
/// key, so the sender's retry goes through) and nothing stays in flight.
#[test]
fn a_client_leaving_mid_upstream_leaves_nothing_in_flight_or_reserved() {
    let up = RawUpstream::start(|i, _| {
        if i == 0 {
            Reply::Later(Duration::from_millis(800), http_response(503, "busy"))
        } else {
            Reply::Bytes(http_response(200, "ok"))
        }
    });
    let gw = Gateway::start(&replayed_route(up.addr));
    let body = "{\"n\":2}";
    let mut head = String::from("POST /hooks/sw HTTP/1.1\r\nhost: h\r\n");
    for (k, v) in sign_with(
        &signer(SW),
        "/hooks/sw",
        &[("webhook-id", "msg_gone")],
        body.as_bytes(),
        SystemTime::now(),
    ) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let mut s = TcpStream::connect(gw.addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    eventually(Duration::from_secs(10), "the upstream to get it", || {
        !up.received().is_empty()
    });
    drop(s);
    eventually(Duration::from_secs(10), "the request to settle", || {
        gw.metric("hookgate_requests_in_flight") == 0.0 && replay_count(&gw, "released") == 1.0
    });
    let (status, _) = deliver(&gw, "msg_gone", body);
    assert_eq!(status, 200);
    assert_eq!(up.received().len(), 2);
}

/// An upstream that ends its body by closing (HTTP/1.0 style, no
/// `Content-Length`): the relayed response said `Connection: keep-alive`,
/// then hookgate closed, dropping a request pipelined behind it.
#[test]
fn a_body_the_upstream_ends_by_closing_is_relayed_with_connection_close() {
    for answer in [
        "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil-close",
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil-close",
    ] {
        let up = RawUpstream::start(move |_, _| Reply::Close(answer.as_bytes().to_vec()));
        let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
        let req = "POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\n{}";
        let mut s = TcpStream::connect(gw.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("{req}{req}").as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let raw = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        assert!(raw.starts_with("http/1.1 200"), "{answer:?}: {raw}");
        assert!(
            raw.contains("\r\nconnection: close\r\n"),
            "{answer:?}: {raw}"
        );
        assert!(!raw.contains("keep-alive"), "{answer:?}: {raw}");
        assert!(raw.ends_with("\r\n\r\nuntil-close"), "{answer:?}: {raw}");
        assert_eq!(up.received().len(), 1, "the pipelined request was not read");
    }
}
