//! What hookgate writes to stdout: the format people and pipelines read, and
//! a log reader that stops reading never holding up requests.

use crate::harness::*;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn with_log(format: &str, up: SocketAddr) -> String {
    route("open", "/open", up, "") + &format!("[log]\nformat = \"{format}\"\n")
}

#[test]
fn format_text_writes_readable_lines_and_json_one_object_per_line() {
    let up = Upstream::start();
    let text = Gateway::start(&with_log("text", up.addr));
    let json = Gateway::start(&with_log("json", up.addr));
    for gw in [&text, &json] {
        let resp = client().post(gw.url("/open")).body("x").send().unwrap();
        assert_eq!(resp.status(), 200);
    }
    // stdout is a file here, so `auto` would have chosen JSON: `text` is honoured.
    eventually(Duration::from_secs(10), "text access line", || {
        text.logs()
            .lines()
            .any(|l| l.contains("hookgate::access") && l.contains("route=open"))
    });
    let logs = text.logs();
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_err()),
        "{logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "no colour when not a terminal: {logs}"
    );
    // The default filter leaves pingora's start-up chatter out.
    assert!(!logs.contains("pingora"), "{logs}");

    eventually(Duration::from_secs(10), "json access line", || {
        json.logs().contains("\"target\":\"hookgate::access\"")
    });
    let logs = json.logs();
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        assert!(!line.contains(".cargo/registry"), "no source paths: {line}");
    }
}

#[test]
fn a_log_reader_that_stops_reading_never_holds_up_requests() {
    // stdout is a pipe nobody reads: it fills after a few hundred lines.
    let up = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.path().join("hookgate.toml");
    let text = base_config(dir.path(), addr, admin, "", "") + &route("open", "/open", up.addr, "");
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(bin())
        .args(["run", "-c"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(20), "hookgate serving", || {
        get(&format!("http://{admin}/healthz")).is_some_and(|(s, _)| s == 200)
    });
    // ~400 bytes of access log each: far more than a pipe holds.
    let requests = 600;
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..requests {
        let status = c
            .post(format!("http://{addr}/open"))
            .body("x")
            .send()
            .map(|r| r.status().as_u16());
        assert_eq!(
            status.ok(),
            Some(200),
            "request {i} held up by a full stdout"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    let metrics = get(&format!("http://{admin}/metrics")).unwrap().1;
    assert_eq!(
        metric_value(&metrics, "hookgate_log_lines_dropped_total"),
        0.0,
        "the buffer holds what the pipe could not"
    );
    // Once the reader reads again, every line arrives.
    let mut stdout = child.stdout.take().unwrap();
    let read = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = read.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let access_lines = || {
        read.lock()
            .unwrap()
            .matches("\"target\":\"hookgate::access\"")
            .count()
    };
    eventually(Duration::from_secs(20), "every access line", || {
        access_lines() >= requests
    });
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap();
    assert_eq!(access_lines(), requests);
}
