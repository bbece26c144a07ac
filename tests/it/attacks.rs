//! What an attacker tries on the request line and header: route bypass
//! through dot segments and hosts, ambiguous targets, framing tricks,
//! oversized headers, pipelining, secrets in trace logs. Raw sockets, so
//! nothing is normalised by a client library first.

use crate::harness::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

const GITHUB: &str = "scheme = \"github\"\nsecrets = [\"payments-secret\"]";

/// An open route and a signed one on the same upstream.
fn open_and_signed(up: &Upstream) -> Gateway {
    let routes = route("ping", "/hooks/ping", up.addr, "")
        + &route(
            "payments",
            "/hooks/payments",
            up.addr,
            &format!("[route.verify]\n{GITHUB}"),
        );
    Gateway::start(&routes)
}

fn post_raw(gw: &Gateway, target: &str, extra_headers: &str, body: &str) -> String {
    raw_request(
        gw.addr,
        &format!(
            "POST {target} HTTP/1.1\r\nhost: hooks.example\r\ncontent-length: {}\r\n{extra_headers}\r\n",
            body.len()
        ),
        body.as_bytes(),
    )
}

/// A signed `/hooks/payments` and an open catch-all `/` on one upstream:
/// the layout in which any path the upstream reads differently from
/// hookgate is a bypass.
fn signed_next_to_catch_all(up: &Upstream) -> Gateway {
    let routes = route(
        "payments",
        "/hooks/payments",
        up.addr,
        &format!("[route.verify]\n{GITHUB}"),
    ) + &route("catch-all", "/", up.addr, "");
    Gateway::start(&routes)
}

/// `target` is refused with 400 and the access log's `detail` says `why`.
fn refused_as_ambiguous(gw: &Gateway, target: &str, why: &str) {
    let resp = post_raw(gw, target, "", "{}");
    assert!(resp.starts_with("HTTP/1.1 400"), "{target}: {resp}");
    let id = parse_responses(resp.as_bytes())[0]
        .header("x-request-id")
        .unwrap()
        .to_string();
    let line = gw.wait_access_log(&id);
    assert!(
        line["detail"].as_str().unwrap().contains(why),
        "{target}: {line}"
    );
}

/// Issue 9 item 1: `/hooks/ping/../payments` matched the open route while the
/// upstream served it from the signed one.
#[test]
fn dot_segments_in_any_spelling_never_reach_the_signed_route_unsigned() {
    let up = Upstream::start();
    let gw = open_and_signed(&up);
    for target in [
        "/hooks/ping/../payments",
        "/hooks/ping/%2e%2e/payments",
        "/hooks/ping/%2E%2E/payments",
        "/hooks/ping/.%2e/payments",
        "/hooks/ping/..%2fpayments",
        "/hooks/ping/%2E%2E%2Fpayments",
        "/hooks/ping/..;/payments",
        "/hooks/ping/%2e%2e;x/payments",
        "/hooks/ping//..//payments",
        "/hooks/ping/./../payments",
        "/hooks/ping/..%5cpayments",
        "/hooks/ping/..\\payments",
    ] {
        let resp = post_raw(&gw, target, "", "{}");
        let status = &resp[9..12];
        assert!(
            status == "401" || status == "400",
            "{target}: must be refused (401 on the signed route, or 400), got {resp}"
        );
    }
    assert!(
        up.received().is_empty(),
        "nothing unsigned reached the upstream: {:?}",
        up.received()
    );

    // Benign spellings are forwarded in their normal form: what the upstream
    // sees routes to exactly the route hookgate matched.
    let resp = post_raw(&gw, "/hooks//ping/./a/../b?x=/../%2e", "", "{}");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let body = b"{\"amount\":1}";
    let sig = sign_with(
        &signer(GITHUB),
        "/hooks/payments",
        &[],
        body,
        SystemTime::now(),
    );
    let headers: String = sig.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let resp = post_raw(
        &gw,
        "/hooks/ping/../payments",
        &headers,
        std::str::from_utf8(body).unwrap(),
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let paths: Vec<String> = up.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/hooks/ping/b?x=/../%2e", "/hooks/payments"]);
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"forwarded\",route=\"payments\"}"),
        1.0
    );
}

/// `Host: a.example.` skipped a `host = "a.example"` route and fell through
/// to a catch-all.
#[test]
fn host_is_matched_and_forwarded_in_normal_form() {
    let up = Upstream::start();
    let routes = route(
        "a-signed",
        "/hooks",
        up.addr,
        &format!("host = \"a.example\"\n[route.verify]\n{GITHUB}"),
    ) + &route("catch-all", "/", up.addr, "");
    let gw = Gateway::start(&routes);
    for host in [
        "a.example.",
        "A.EXAMPLE.",
        "a.example.:8080",
        "A.Example:80",
    ] {
        let resp = raw_request(
            gw.addr,
            &format!("POST /hooks/x HTTP/1.1\r\nhost: {host}\r\ncontent-length: 2\r\n\r\n"),
            b"{}",
        );
        assert!(
            resp.starts_with("HTTP/1.1 401"),
            "Host {host:?} must match the signed host route: {resp}"
        );
    }
    assert!(up.received().is_empty());

    let body = b"{}";
    let mut req = client()
        .post(gw.url("/hooks/x"))
        .header("host", "A.Example.:8443")
        .body(body.to_vec());
    for (k, v) in sign_with(&signer(GITHUB), "/hooks/x", &[], body, SystemTime::now()) {
        req = req.header(k, v);
    }
    assert_eq!(req.send().unwrap().status(), 200);
    let rec = up.received().pop().unwrap();
    assert_eq!(rec.header("host").as_deref(), Some("a.example:8443"));
}

/// Targets with no single safe reading are refused, and say why in the log.
#[test]
fn ambiguous_targets_and_hosts_are_refused_with_400() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("all", "/", up.addr, ""));
    let cases: [(&str, &str); 14] = [
        ("POST /a%2fb HTTP/1.1\r\nhost: h\r\n", "encoded slash"),
        ("POST /a%5Cb HTTP/1.1\r\nhost: h\r\n", "backslash"),
        ("POST /a%00b HTTP/1.1\r\nhost: h\r\n", "control character"),
        (
            "POST /a%zz HTTP/1.1\r\nhost: h\r\n",
            "malformed percent escape",
        ),
        (
            "POST /a/..;/b HTTP/1.1\r\nhost: h\r\n",
            "dot segment with parameters",
        ),
        ("POST /../etc HTTP/1.1\r\nhost: h\r\n", "above the root"),
        (
            "POST /a/%2e%2e/%2e%2e/b HTTP/1.1\r\nhost: h\r\n",
            "above the root",
        ),
        ("POST /a#frag HTTP/1.1\r\nhost: h\r\n", "fragment"),
        ("POST /a HTTP/1.1\r\n", "without Host"),
        ("POST /a HTTP/1.1\r\nhost: a\r\nhost: b\r\n", ""),
        ("POST /a HTTP/1.1\r\nhost: a b\r\n", ""),
        ("POST /a HTTP/1.1\r\nhost: a..example\r\n", "invalid Host"),
        (
            "POST http://a.example/a HTTP/1.1\r\nhost: b.example\r\n",
            "",
        ),
        (
            "POST ftp://a.example/a HTTP/1.1\r\nhost: a.example\r\n",
            "neither /path",
        ),
    ];
    for (head, detail) in cases {
        let resp = raw_request(gw.addr, &format!("{head}content-length: 0\r\n\r\n"), b"");
        assert!(resp.starts_with("HTTP/1.1 400"), "{head:?}: {resp}");
        assert!(
            resp.contains("\"error\":\"bad_request\""),
            "{head:?}: {resp}"
        );
        let id = parse_responses(resp.as_bytes())[0]
            .header("x-request-id")
            .unwrap()
            .to_string();
        let line = gw.wait_access_log(&id);
        assert_eq!(line["outcome"], "bad_request");
        assert!(
            line["detail"].as_str().unwrap().contains(detail),
            "{head:?}: {line}"
        );
    }
    assert!(up.received().is_empty(), "{:?}", up.received());

    // An absolute-form target is forwarded in origin form; its authority is the host.
    let resp = raw_request(
        gw.addr,
        "POST HTTP://A.example/x/./y?q HTTP/1.1\r\nhost: A.example\r\ncontent-length: 0\r\n\r\n",
        b"",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let rec = up.received().pop().unwrap();
    assert_eq!(rec.path, "/x/y?q");
    assert_eq!(rec.header("host").as_deref(), Some("a.example"));
}

/// Only hop-by-hop fields may be removed: a sender naming `Host` or
/// `Content-Type` in `Connection` must not strip them from the upstream request.
#[test]
fn connection_header_cannot_strip_host_or_content_fields() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    let resp = raw_request(
        gw.addr,
        "POST /hooks/x HTTP/1.1\r\nhost: hooks.example\r\ncontent-type: application/json\r\n\
         connection: host, content-type, content-length, x-hop\r\nx-hop: 1\r\ncontent-length: 2\r\n\r\n",
        b"{}",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let rec = up.received().pop().unwrap();
    assert_eq!(rec.header("host").as_deref(), Some("hooks.example"));
    assert_eq!(
        rec.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(rec.header("content-length").as_deref(), Some("2"));
    assert_eq!(
        rec.header("x-hop"),
        None,
        "a real hop-by-hop extension goes"
    );
    assert_eq!(rec.body, b"{}");
}

/// `Transfer-Encoding: gzip, chunked` was accepted and the gzip dropped.
#[test]
fn transfer_codings_other_than_chunked_are_refused_with_501() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    for te in [
        "transfer-encoding: gzip, chunked\r\n",
        "transfer-encoding: chunked, chunked\r\n",
        "transfer-encoding: identity, chunked\r\n",
        "transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n",
    ] {
        let resp = raw_request(
            gw.addr,
            &format!("POST /hooks/x HTTP/1.1\r\nhost: h\r\n{te}\r\n"),
            b"2\r\n{}\r\n0\r\n\r\n",
        );
        assert!(resp.starts_with("HTTP/1.1 501"), "{te:?}: {resp}");
        assert!(resp.contains("unsupported_transfer_encoding"), "{resp}");
        assert!(
            resp.to_ascii_lowercase().contains("connection: close"),
            "{resp}"
        );
    }
    assert!(up.received().is_empty());
    assert_eq!(
        gw.metric(
            "hookgate_requests_total{outcome=\"unsupported_transfer_encoding\",route=\"none\"}"
        ),
        4.0,
        "refused before routing: the body's framing is unknown"
    );
}

/// The request-smuggling and desync refusals pingora and hookgate make today
/// stay in place: each is refused and nothing reaches the upstream.
#[test]
fn smuggling_and_desync_vectors_stay_refused() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    for (head, body) in [
        ("content-length: 2\r\ncontent-length: 3\r\n", "{}"),
        ("content-length: 2, 3\r\n", "{}"),
        ("content-length: -2\r\n", "{}"),
        ("content-length: +2\r\n", "{}"),
        ("content-length: 0x2\r\n", "{}"),
        ("transfer-encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"),
        ("transfer-encoding: chunked\r\n", "2\r\n{}X0\r\n\r\n"),
        ("content-length : 2\r\n", "{}"),
        ("x-a: 1\r\n content-length: 2\r\n", "{}"),
    ] {
        let resp = raw_request(
            gw.addr,
            &format!("POST /hooks/x HTTP/1.1\r\nhost: h\r\n{head}\r\n"),
            body.as_bytes(),
        );
        assert!(
            resp.starts_with("HTTP/1.1 400"),
            "{head:?} {body:?}: {resp}"
        );
    }
    let resp = raw_request(
        gw.addr,
        "POST /hooks/x HTTP/1.0\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n",
        b"2\r\n{}\r\n0\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 400"), "TE in HTTP/1.0: {resp}");
    assert!(up.received().is_empty(), "{:?}", up.received());

    // Content-Length and Transfer-Encoding together: the body is read as
    // chunked and the connection closed after, so a smuggled suffix is never
    // read as a second request.
    let mut s = TcpStream::connect(gw.addr).unwrap();
    s.write_all(
        b"POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 40\r\ntransfer-encoding: chunked\r\n\r\n\
          2\r\n{}\r\n0\r\n\r\nPOST /hooks/x/smuggled HTTP/1.1\r\nhost: h\r\n\r\n",
    )
    .unwrap();
    let responses = read_responses(&mut s);
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(responses[0].header("connection"), Some("close"));
    let got = up.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/hooks/x");
    assert_eq!(got[0].body, b"{}");
}

/// pingora buffers up to 1 MiB of header before any application limit; the
/// configured limit now applies while reading.
#[test]
fn header_over_max_header_bytes_is_refused_while_it_is_still_arriving() {
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "max_header_bytes = \"8KiB\"\nheader_timeout = \"30s\"",
        &route("x", "/hooks/x", up.addr, ""),
    );
    // Well over the limit, far under pingora's 1 MiB, never finished.
    let mut s = TcpStream::connect(gw.addr).unwrap();
    let mut head = String::from("POST /hooks/x HTTP/1.1\r\nhost: h\r\n");
    while head.len() < 20 * 1024 {
        head.push_str(
            "x-pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let started = Instant::now();
    let _ = s.write_all(head.as_bytes());
    let responses = read_responses(&mut s);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "answered at once, not at the header deadline"
    );
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(responses[0].status, 431);
    assert!(String::from_utf8_lossy(&responses[0].body).contains("header_too_large"));

    // A complete header just under the limit is fine.
    let mut ok = String::from("POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n");
    while ok.len() < 7 * 1024 {
        ok.push_str(
            "x-pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    ok.push_str("\r\n");
    assert!(raw_request(gw.addr, &ok, b"").starts_with("HTTP/1.1 200"));
    assert_eq!(up.received().len(), 1);
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"header_too_large\",route=\"none\"}"),
        1.0
    );
}

/// Requests pipelined on one connection are each answered, in order; a
/// response never says keep-alive and then drops the request behind it.
#[test]
fn pipelined_requests_are_each_answered_in_order() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    let mut s = TcpStream::connect(gw.addr).unwrap();
    let one =
        |n: usize| format!("POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\nr{n:02}");
    let last =
        "POST /hooks/x HTTP/1.1\r\nhost: h\r\nconnection: close\r\ncontent-length: 3\r\n\r\nend";
    s.write_all((one(1) + &one(2) + &one(3) + last).as_bytes())
        .unwrap();
    let responses = read_responses(&mut s);
    assert_eq!(
        responses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 200, 200],
        "{responses:?}"
    );
    assert_eq!(responses[0].header("connection"), Some("keep-alive"));
    assert_eq!(responses[3].header("connection"), Some("close"));
    let bodies: Vec<Vec<u8>> = up.received().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        [
            b"r01".to_vec(),
            b"r02".to_vec(),
            b"r03".to_vec(),
            b"end".to_vec()
        ]
    );
}

/// While draining, a response says `Connection: close`, so the request
/// pipelined behind it is dropped honestly, never after a keep-alive.
#[test]
fn pipelined_requests_while_draining_get_an_honest_close() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("x", "/hooks/x", up.addr, ""));
    // Keeps the process draining rather than exiting.
    up.set(Behaviour {
        delay: Duration::from_secs(3),
        ..Behaviour::default()
    });
    let url = gw.url("/hooks/x");
    let slow = std::thread::spawn(move || client().post(url).body("slow").send().unwrap().status());
    eventually(
        Duration::from_secs(10),
        "the slow request in flight",
        || gw.metric("hookgate_requests_in_flight") == 1.0,
    );
    up.set(Behaviour::default());
    let mut s = TcpStream::connect(gw.addr).unwrap();
    assert!(exchange(
        &mut s,
        "POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 1\r\n\r\n",
        b"a"
    )
    .starts_with("HTTP/1.1 200"));
    gw.signal("TERM");
    eventually(Duration::from_secs(10), "draining", || {
        gw.logs().contains("draining")
    });
    let pair = "POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 1\r\n\r\nb";
    let _ = s.write_all(format!("{pair}{pair}").as_bytes());
    let responses = read_responses(&mut s);
    assert!(responses.len() <= 1, "{responses:?}");
    for r in &responses {
        assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    }
    assert_eq!(slow.join().unwrap(), 200);
}

/// With `HOOKGATE_LOG=trace`, pingora dumped request headers: GitLab tokens,
/// Basic credentials, valid signatures. No log line carries them at any level.
#[test]
fn trace_logs_carry_no_credentials() {
    let up = Upstream::start();
    let gitlab = "scheme = \"gitlab\"\nsecrets = [\"glpat-token-do-not-log\"]";
    let basic = "scheme = \"basic-auth\"\nsecrets = [\"hook:pa55-do-not-log\"]";
    let routes = route(
        "gitlab",
        "/hooks/gitlab",
        up.addr,
        &format!("[route.verify]\n{gitlab}"),
    ) + &route(
        "basic",
        "/hooks/basic",
        up.addr,
        &format!("[route.verify]\n{basic}"),
    ) + &route(
        "github",
        "/hooks/github",
        up.addr,
        &format!("[route.verify]\n{GITHUB}"),
    );
    let gw = Gateway::launch("", &routes, &[("HOOKGATE_LOG", "trace")]);
    let mut secrets = Vec::new();
    for (path, table) in [
        ("/hooks/gitlab", gitlab),
        ("/hooks/basic", basic),
        ("/hooks/github", GITHUB),
    ] {
        let headers = sign_with(
            &signer(table),
            path,
            &[],
            b"{\"event\":1}",
            SystemTime::now(),
        );
        let mut req = client().post(gw.url(path)).body("{\"event\":1}");
        for (k, v) in &headers {
            req = req.header(k, v);
            secrets.push(v.split_whitespace().last().unwrap().to_string());
        }
        assert_eq!(req.send().unwrap().status(), 200, "{path}");
    }
    assert_eq!(up.received().len(), 3);
    assert!(
        gw.logs().lines().count() > 10,
        "trace logging is on: {}",
        gw.logs()
    );
    let all = gw.logs() + &gw.stderr();
    for secret in secrets
        .iter()
        .chain([&"glpat-token-do-not-log".to_string()])
    {
        assert!(!all.contains(secret.as_str()), "{secret} logged:\n{all}");
    }
}

/// Tomcat, Jetty and Spring drop `;params` from each path segment before
/// routing: `/hooks/payments;x` is their `/hooks/payments`, but matched no
/// signed route here and went unauthenticated through the catch-all.
#[test]
fn path_parameters_are_refused_so_a_catch_all_cannot_take_a_signed_path() {
    let up = Upstream::start();
    let gw = signed_next_to_catch_all(&up);
    for target in [
        "/hooks/payments;x",
        "/hooks/payments;jsessionid=1",
        "/hooks;x/payments",
        "/hooks/payments;/",
    ] {
        refused_as_ambiguous(&gw, target, "path parameter");
    }
    assert!(up.received().is_empty(), "{:?}", up.received());
    // An encoded `;` is data, not a parameter: no server splits on it.
    let resp = post_raw(&gw, "/hooks/a%3Bb", "", "{}");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(up.received()[0].path, "/hooks/a%3Bb");
}

/// The upstream must not be told another host or path than the one
/// hookgate matched: frameworks behind a proxy route on `X-Forwarded-Host`,
/// `Forwarded: host=`, `X-Original-URL`. A sender naming the signed host
/// there, on a request hookgate routed to the open catch-all, reached the
/// upstream with them.
#[test]
fn headers_that_override_host_or_path_upstream_are_not_passed_on() {
    let up = Upstream::start();
    let routes = route(
        "a-signed",
        "/",
        up.addr,
        &format!("host = \"a.example\"\n[route.verify]\n{GITHUB}"),
    ) + &route("catch-all", "/", up.addr, "");
    let gw = Gateway::start(&routes);
    let resp = raw_request(
        gw.addr,
        "POST /hooks/x HTTP/1.1\r\nhost: b.example\r\nx-forwarded-host: a.example\r\n\
         forwarded: host=a.example;proto=https\r\nx-original-url: /hooks/payments\r\n\
         x-rewrite-url: /hooks/payments\r\nx-real-ip: 10.0.0.1\r\ncontent-length: 2\r\n\r\n",
        b"{}",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let rec = up.received().pop().unwrap();
    assert_eq!(rec.header("host").as_deref(), Some("b.example"));
    for name in [
        "x-forwarded-host",
        "forwarded",
        "x-original-url",
        "x-rewrite-url",
        "x-real-ip",
    ] {
        assert_eq!(rec.header(name), None, "{name} reached the upstream");
    }
}

/// Express (by default), ASP.NET and IIS route paths without regard to
/// letter case: `/HOOKS/PAYMENTS` went unauthenticated through the open
/// catch-all and such an upstream served it from `/hooks/payments`. A path
/// whose route depends on case is refused; one that routes the same either
/// way passes.
#[test]
fn a_path_whose_route_depends_on_letter_case_is_refused() {
    let up = Upstream::start();
    let gw = signed_next_to_catch_all(&up);
    for target in ["/HOOKS/PAYMENTS", "/hooks/Payments", "/Hooks/payments/x"] {
        refused_as_ambiguous(&gw, target, "letter case");
    }
    assert!(up.received().is_empty(), "{:?}", up.received());
    let resp = post_raw(&gw, "/Hooks/Other", "", "{}");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(up.received()[0].path, "/Hooks/Other");
}

/// A forged request waits `auth_failure_delay` for its 401 and holds
/// nothing meanwhile: its body is back in the budget, its refusal already
/// counted, and a signed request on another connection is served while it
/// waits. A flood of forgeries over keep-alive connections gets one answer
/// per connection per delay.
#[test]
fn a_forged_request_waits_for_its_401_while_signed_ones_pass() {
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "auth_failure_delay = \"3s\"",
        &route(
            "payments",
            "/hooks/payments",
            up.addr,
            &format!("[route.verify]\n{GITHUB}"),
        ),
    );
    let addr = gw.addr;
    let forged = std::thread::spawn(move || {
        let body = vec![b'x'; 64 * 1024];
        let head = format!(
            "POST /hooks/payments HTTP/1.1\r\nhost: h\r\ncontent-length: {}\r\nx-hub-signature-256: sha256={}\r\n\r\n",
            body.len(),
            "0".repeat(64)
        );
        let sent = Instant::now();
        let resp = raw_request(addr, &head, &body);
        (resp, sent.elapsed())
    });
    let rejected = "hookgate_requests_total{outcome=\"signature_invalid\",route=\"payments\"}";
    eventually(Duration::from_secs(10), "the forgery is counted", || {
        metric_opt(&gw.metrics(), rejected) == Some(1.0)
    });

    let signed = b"{}";
    let mut req = client()
        .post(gw.url("/hooks/payments"))
        .body(signed.to_vec());
    for (k, v) in sign_with(
        &signer(GITHUB),
        "/hooks/payments",
        &[],
        signed,
        SystemTime::now(),
    ) {
        req = req.header(k, v);
    }
    assert_eq!(req.send().unwrap().status(), 200);
    assert_eq!(gw.metric("hookgate_buffered_body_bytes"), 0.0);
    assert!(
        !forged.is_finished(),
        "the 401 came before auth_failure_delay"
    );

    let (resp, waited) = forged.join().unwrap();
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    assert!(
        waited >= Duration::from_secs(3),
        "answered after {waited:?}"
    );
    assert_eq!(
        up.received().len(),
        1,
        "only the signed request was forwarded"
    );
}
