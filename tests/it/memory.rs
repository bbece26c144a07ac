//! The global body-buffer budget: a sender who cannot authenticate cannot
//! make hookgate hold more than `[limits] max_buffered_bytes` of bodies.

use crate::harness::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MIB: usize = 1 << 20;

#[test]
fn a_full_budget_answers_503_overloaded_with_retry_after() {
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "max_buffered_bytes = \"1MiB\"",
        &route("x", "/hooks/x", up.addr, "max_body_bytes = \"1MiB\""),
    );
    // A sender that declares 1 MiB and trickles it (within the harness's 2 s
    // read_timeout): its lease fills the budget meanwhile.
    let mut holder = TcpStream::connect(gw.addr).unwrap();
    holder
        .write_all(
            format!("POST /hooks/x HTTP/1.1\r\nhost: h\r\ncontent-length: {MIB}\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let (mut s, stop) = (holder.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                s.write_all(b"x").unwrap();
                sent += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            sent
        })
    };
    eventually(Duration::from_secs(10), "the budget to fill", || {
        gw.metric("hookgate_buffered_body_bytes") == MIB as f64
    });

    for (framing, body) in [
        ("content-length: 10\r\n", &b"0123456789"[..]),
        (
            "transfer-encoding: chunked\r\n",
            &b"a\r\n0123456789\r\n0\r\n\r\n"[..],
        ),
    ] {
        let resp = raw_request(
            gw.addr,
            &format!("POST /hooks/x HTTP/1.1\r\nhost: h\r\n{framing}\r\n"),
            body,
        );
        let r = &parse_responses(resp.as_bytes())[0];
        assert_eq!(r.status, 503, "{framing}: {resp}");
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(String::from_utf8_lossy(&r.body).contains("\"error\":\"overloaded\""));
        let line = gw.wait_access_log(r.header("x-request-id").unwrap());
        assert!(
            line["detail"].as_str().unwrap().contains("budget"),
            "{line}"
        );
    }
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"overloaded\",route=\"x\"}"),
        2.0
    );

    // The holder finishes; its budget comes back and others get through.
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let sent = trickler.join().unwrap();
    holder.write_all(&payload(MIB - sent)).unwrap();
    let mut resp = [0u8; 12];
    holder
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    holder.read_exact(&mut resp).unwrap();
    assert_eq!(&resp, b"HTTP/1.1 200");
    eventually(Duration::from_secs(10), "the budget to empty", || {
        gw.metric("hookgate_buffered_body_bytes") == 0.0
    });
    let r = client()
        .post(gw.url("/hooks/x"))
        .body(payload(MIB))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.received().len(), 2);
}

/// Senders with a fake but well-formed signature, as threads. Each declares
/// `size` bytes and waits for `100 Continue` (as curl does for large bodies);
/// invited, it sends all but the last byte and reports in `settled`, then
/// sends the last byte once `go` is set. Returns the final status.
fn fake_signed_upload(
    addr: std::net::SocketAddr,
    size: usize,
    settled: &AtomicUsize,
    go: &AtomicBool,
) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let fake = format!("sha256={}", "0".repeat(64));
    s.write_all(
        format!(
            "POST /hooks/gh HTTP/1.1\r\nhost: h\r\nx-hub-signature-256: {fake}\r\n\
             expect: 100-continue\r\ncontent-length: {size}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    if &head == b"HTTP/1.1 100" {
        let mut rest = [0u8; 13];
        s.read_exact(&mut rest).unwrap(); // " Continue\r\n\r\n"
        s.write_all(&vec![b'x'; size - 1]).unwrap();
        settled.fetch_add(1, Ordering::SeqCst);
        eventually(Duration::from_secs(30), "go", || go.load(Ordering::SeqCst));
        let _ = s.write_all(b"x");
        s.read_exact(&mut head).unwrap();
    } else {
        settled.fetch_add(1, Ordering::SeqCst);
    }
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// Scaled down from the attack (50 × 49 MiB with 256 MiB of
/// budget): 20 concurrent 8 MiB bodies with fake signatures, each held one
/// byte short of complete, against a 16 MiB budget. Peak RSS grows by at
/// most the budget plus a fixed allowance for buffers and allocator slack,
/// instead of by the 160 MiB the senders offer.
#[test]
fn peak_memory_under_a_fake_signature_flood_stays_within_the_budget() {
    const BUDGET: u64 = 16 * MIB as u64;
    const SLACK: u64 = 8 * MIB as u64;
    const SENDERS: usize = 20;
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "max_buffered_bytes = \"16MiB\"",
        &route(
            "gh",
            "/hooks/gh",
            up.addr,
            "max_body_bytes = \"9MiB\"\n[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]",
        ),
    );
    // Warm up the request path once, then take the idle baseline.
    let (settled, go) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(true)),
    );
    assert_eq!(fake_signed_upload(gw.addr, 1000, &settled, &go), 401);
    let idle = vm_hwm(gw.pid());

    settled.store(0, Ordering::SeqCst);
    go.store(false, Ordering::SeqCst);
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (addr, settled, go) = (gw.addr, settled.clone(), go.clone());
            std::thread::spawn(move || fake_signed_upload(addr, 8 * MIB, &settled, &go))
        })
        .collect();
    eventually(
        Duration::from_secs(30),
        "every sender refused or holding a body",
        || settled.load(Ordering::SeqCst) == SENDERS,
    );
    go.store(true, Ordering::SeqCst);
    let statuses: Vec<u16> = senders.into_iter().map(|t| t.join().unwrap()).collect();
    let peak = vm_hwm(gw.pid());
    eprintln!(
        "VmHWM: {} KiB idle, {} KiB after {SENDERS} x 8 MiB fake-signature uploads (+{} KiB; budget 16 MiB); statuses {statuses:?}",
        idle >> 10,
        peak >> 10,
        (peak - idle) >> 10
    );
    assert!(
        peak - idle < BUDGET + SLACK,
        "peak RSS grew by {} MiB (idle {} MiB): more than the 16 MiB budget + {} MiB",
        (peak - idle) >> 20,
        idle >> 20,
        SLACK >> 20
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        2,
        "two 8 MiB bodies fit the budget: {statuses:?}"
    );
    assert!(up.received().is_empty());
    assert_eq!(gw.metric("hookgate_buffered_body_bytes"), 0.0);
}

/// The same flood with chunked bodies, which hookgate cannot size in
/// advance: their buffers grow by doubling, and glibc's adaptive mmap
/// threshold kept the freed ones resident, so peak RSS reached 1.7 times the
/// budget (455 MB for 256 MiB under 50 x 49 MiB). Scaled down: 24 senders x
/// 16 MiB against a 64 MiB budget, each sent whole.
#[test]
fn peak_memory_under_a_chunked_fake_signature_flood_stays_within_the_budget() {
    const BUDGET: u64 = 64 * MIB as u64;
    const SLACK: u64 = 16 * MIB as u64;
    const SENDERS: usize = 24;
    let up = Upstream::start();
    let gw = Gateway::with_limits(
        "max_buffered_bytes = \"64MiB\"",
        &route(
            "gh",
            "/hooks/gh",
            up.addr,
            "max_body_bytes = \"17MiB\"\n[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]",
        ),
    );
    fake_signed_chunked_upload(gw.addr, 1000);
    let idle = vm_hwm(gw.pid());
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let addr = gw.addr;
            std::thread::spawn(move || fake_signed_chunked_upload(addr, 16 * MIB))
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    // Every request settles with an outcome (a loaded machine may also see
    // body timeouts); none may be forwarded.
    let settled = || -> f64 {
        gw.metrics()
            .lines()
            .filter(|l| l.starts_with("hookgate_requests_total{") && l.contains("route=\"gh\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    eventually(Duration::from_secs(60), "every sender answered", || {
        settled() == (SENDERS + 1) as f64
    });
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"forwarded\",route=\"gh\"}"),
        0.0
    );
    let peak = vm_hwm(gw.pid());
    eprintln!(
        "VmHWM: {} KiB idle, {} KiB after {SENDERS} x 16 MiB chunked fake-signature uploads (+{} KiB; budget 64 MiB)",
        idle >> 10,
        peak >> 10,
        (peak - idle) >> 10
    );
    assert!(
        peak - idle < BUDGET + SLACK,
        "peak RSS grew by {} MiB (idle {} MiB): more than the 64 MiB budget + {} MiB",
        (peak - idle) >> 20,
        idle >> 20,
        SLACK >> 20
    );
    assert!(up.received().is_empty());
    assert_eq!(gw.metric("hookgate_buffered_body_bytes"), 0.0);
}

/// A chunked body of `size` bytes (1 MiB chunks) with a fake signature, sent
/// as fast as hookgate reads it; hookgate may answer and close before the
/// end (503 overloaded), so write errors end the upload quietly.
fn fake_signed_chunked_upload(addr: std::net::SocketAddr, size: usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let fake = format!("sha256={}", "0".repeat(64));
    let head = format!(
        "POST /hooks/gh HTTP/1.1\r\nhost: h\r\nx-hub-signature-256: {fake}\r\n\
         transfer-encoding: chunked\r\n\r\n"
    );
    let chunk = vec![b'x'; MIB.min(size)];
    let mut sent = s.write_all(head.as_bytes());
    let mut left = size;
    while sent.is_ok() && left > 0 {
        let n = chunk.len().min(left);
        sent = s
            .write_all(format!("{n:x}\r\n").as_bytes())
            .and_then(|_| s.write_all(&chunk[..n]))
            .and_then(|_| s.write_all(b"\r\n"));
        left -= n;
    }
    if sent.and_then(|_| s.write_all(b"0\r\n\r\n")).is_ok() {
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
    }
}
