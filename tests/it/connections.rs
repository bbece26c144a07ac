//! Connection-level bounds: the per-listener connection cap and the TLS
//! handshake deadline.

use crate::harness::*;
use hookgate::certs::{Ca, Leaf};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Whether the server closes `s` within `within` (reads EOF or a reset).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn connections_past_max_connections_are_closed_at_once_and_counted() {
    let up = Upstream::start();
    let gw = Gateway::start(&listener_keys(
        "max_connections = 3",
        &route("x", "/hooks/x", up.addr, ""),
    ));
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(gw.addr).unwrap())
        .collect();
    eventually(Duration::from_secs(10), "3 open connections", || {
        gw.metric("hookgate_downstream_connections{listener=\"public\"}") == 3.0
    });
    let mut refused = TcpStream::connect(gw.addr).unwrap();
    assert!(
        closed_within(&mut refused, Duration::from_secs(5)),
        "the fourth connection is closed at once, not at header_timeout"
    );
    assert_eq!(
        gw.metric("hookgate_downstream_closed_total{reason=\"max_connections\"}"),
        1.0
    );
    drop(held);
    eventually(Duration::from_secs(10), "the slots to free up", || {
        gw.metric("hookgate_downstream_connections{listener=\"public\"}") == 0.0
    });
    let r = client().post(gw.url("/hooks/x")).body("ok").send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.received().len(), 1);
}

/// A TLS listener on a second port, with a certificate for 127.0.0.1.
fn tls_listener(port: u16, dir: &std::path::Path) -> (String, String) {
    let ca = Ca::new("connections test CA").unwrap();
    let ips = [std::net::IpAddr::from([127, 0, 0, 1])];
    let leaf = ca
        .issue(&Leaf {
            cn: "localhost",
            dns: &["localhost"],
            ips: &ips,
            serial: 7,
            ..Default::default()
        })
        .unwrap();
    std::fs::write(dir.join("server.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &leaf.key_pem).unwrap();
    let table = format!(
        "[[listener]]\nname = \"tls\"\nlisten = \"127.0.0.1:{port}\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n",
        dir.join("server.pem").display(),
        dir.join("server.key").display()
    );
    (table, ca.cert_pem())
}

/// pingora held an unfinished handshake for 60 s whatever `header_timeout`
/// said, logged it as ERROR and counted nothing.
#[test]
fn tls_handshakes_are_bounded_by_header_timeout_and_counted() {
    let up = Upstream::start();
    let certs = tempfile::tempdir().unwrap();
    let port = free_port();
    let (listener, ca_pem) = tls_listener(port, certs.path());
    let gw = Gateway::with_limits(
        "header_timeout = \"1s\"",
        &(listener + &route("x", "/hooks/x", up.addr, "")),
    );
    let tls_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    let mut silent = TcpStream::connect(tls_addr).unwrap();
    let mut partial = TcpStream::connect(tls_addr).unwrap();
    // The first bytes of a ClientHello, then nothing.
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(8)));
    assert!(closed_within(&mut partial, Duration::from_secs(8)));
    assert!(started.elapsed() < Duration::from_secs(8));
    // The handshake owns the socket, so the close can reach the client just
    // before the count is made: poll the count rather than read it once.
    eventually(
        Duration::from_secs(10),
        "2 handshake timeouts counted",
        || gw.metric("hookgate_downstream_closed_total{reason=\"tls_handshake_timeout\"}") == 2.0,
    );

    let mut plain = TcpStream::connect(tls_addr).unwrap();
    plain
        .write_all(b"POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    assert!(closed_within(&mut plain, Duration::from_secs(8)));
    eventually(
        Duration::from_secs(10),
        "1 failed handshake counted",
        || gw.metric("hookgate_downstream_closed_total{reason=\"tls_handshake_failed\"}") == 1.0,
    );
    assert!(
        !gw.logs().contains("\"level\":\"ERROR\""),
        "a handshake a client abandons is not an operator's error: {}",
        gw.logs()
    );

    // A real client still gets through, with the handshake run by hookgate.
    let https = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = https
        .post(format!("https://127.0.0.1:{port}/hooks/x"))
        .body("over tls")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let rec = up.received().pop().unwrap();
    assert_eq!(rec.header("x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(rec.body, b"over tls");
}

/// A client that sends its whole upload before reading (most HTTP
/// libraries, which give up on a failed write) must get to read hookgate's
/// refusal: closing a socket with unread bytes resets the connection, the
/// client's next write fails, and it reports a broken connection instead of
/// the answer. Both early refusals: a declared body over `max_body_bytes`
/// (413, before any body byte) and a header over `max_header_bytes` (431,
/// mid-header).
#[test]
fn a_client_still_sending_reads_the_refusal_not_a_reset() {
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "max_header_bytes = \"8KiB\"",
        &route(
            "small",
            "/hooks/small",
            up.addr,
            "max_body_bytes = \"1KiB\"",
        ),
    );
    let pad = format!("x-pad: {}\r\n", "p".repeat(1000));
    let uploads = [
        (
            "413",
            "POST /hooks/small HTTP/1.1\r\nhost: h\r\ncontent-length: 8388608\r\n\r\n".to_string(),
            vec![b'x'; 8 << 20],
        ),
        (
            "431",
            "POST /hooks/small HTTP/1.1\r\nhost: h\r\n".to_string(),
            pad.repeat(4096).into_bytes(),
        ),
    ];
    for (status, head, rest) in uploads {
        let mut s = TcpStream::connect(gw.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let sent = s
            .write_all(head.as_bytes())
            .and_then(|_| rest.chunks(64 * 1024).try_for_each(|c| s.write_all(c)));
        let mut answer = Vec::new();
        let read = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            sent.is_ok(),
            "the upload broke off ({sent:?}) before {status} could be read"
        );
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status}")),
            "expected {status}, read {read:?}: {text}"
        );
    }
    assert!(up.received().is_empty());
}
