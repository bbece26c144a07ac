//! Hot reload: atomic swap, bad files change nothing, no failed request under load.

use crate::harness::*;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rewrite(gw: &Gateway, from: &str, to: &str) {
    let text = std::fs::read_to_string(&gw.config).unwrap();
    assert!(text.contains(from), "{from} not in config");
    std::fs::write(&gw.config, text.replace(from, to)).unwrap();
}

fn post_reload(gw: &Gateway) -> (u16, String) {
    let r = client()
        .post(format!("http://{}/reload", gw.admin))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn reload_swaps_routes_and_counts() {
    let a = Upstream::start();
    let b = Upstream::start();
    let gw = Gateway::start(&route("r", "/r", a.addr, ""));
    assert_eq!(
        client()
            .post(gw.url("/r"))
            .body("1")
            .send()
            .unwrap()
            .status(),
        200
    );

    rewrite(&gw, &a.addr.to_string(), &b.addr.to_string());
    let mut text = std::fs::read_to_string(&gw.config).unwrap();
    text.push_str(
        "\n[[route]]\nname = \"new\"\npath_prefix = \"/new\"\nupstreams = [\"127.0.0.1:9\"]\nallow_unauthenticated = true\n",
    );
    std::fs::write(&gw.config, text).unwrap();
    let (status, body) = post_reload(&gw);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "reloaded: generation 2\n");

    assert_eq!(
        client()
            .post(gw.url("/r"))
            .body("2")
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(a.received().len(), 1);
    assert_eq!(b.received().len(), 1, "new requests use the new upstream");
    let m = gw.metrics();
    assert_eq!(metric_value(&m, "hookgate_config_generation"), 2.0);
    assert_eq!(
        metric_value(&m, "hookgate_config_reload_total{result=\"success\"}"),
        1.0
    );
    assert!(
        m.contains("hookgate_requests_total{outcome=\"forwarded\",route=\"new\"} 0"),
        "new route's series exist"
    );
}

#[test]
fn bad_reload_keeps_the_old_config_and_is_reported() {
    let a = Upstream::start();
    let gw = Gateway::start(&route("r", "/r", a.addr, ""));
    rewrite(
        &gw,
        "path_prefix = \"/r\"",
        "path_prefix = \"/r\"\nbogus = 1",
    );
    let (status, body) = post_reload(&gw);
    assert_eq!(status, 422);
    assert!(
        body.contains("route \"r\".bogus: unknown field `bogus`"),
        "{body}"
    );
    assert_eq!(
        client()
            .post(gw.url("/r"))
            .body("x")
            .send()
            .unwrap()
            .status(),
        200,
        "old config still serves"
    );

    // The CLI reports the same and exits non-zero.
    let out = Command::new(bin())
        .args(["reload", "-c"])
        .arg(&gw.config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `bogus`"));

    let m = gw.metrics();
    assert_eq!(
        metric_value(&m, "hookgate_config_reload_total{result=\"error\"}"),
        2.0
    );
    assert_eq!(metric_value(&m, "hookgate_config_generation"), 1.0);
    assert!(gw
        .logs()
        .contains("config reload failed; the running config is unchanged"));
}

#[test]
fn sighup_and_cli_reload() {
    let a = Upstream::start();
    let b = Upstream::start();
    let gw = Gateway::start(&route("r", "/r", a.addr, ""));
    rewrite(&gw, &a.addr.to_string(), &b.addr.to_string());
    gw.signal("HUP");
    eventually(Duration::from_secs(10), "SIGHUP to reload", || {
        gw.metric("hookgate_config_generation") >= 2.0
    });
    assert_eq!(
        client()
            .post(gw.url("/r"))
            .body("x")
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(b.received().len(), 1);

    let out = Command::new(bin())
        .args(["reload", "-c"])
        .arg(&gw.config)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reloaded: generation 3\n"
    );
}

#[test]
fn reload_under_load_fails_no_request() {
    let a = Upstream::start();
    let b = Upstream::start();
    let gw = Arc::new(Gateway::start(&route("r", "/r", a.addr, "")));
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (gw, stop, progress) = (gw.clone(), stop.clone(), progress.clone());
        std::thread::spawn(move || {
            let c = client();
            let mut sent = 0;
            let mut failures = Vec::new();
            // Bounded in count and time.
            let deadline = Instant::now() + Duration::from_secs(20);
            while !stop.load(Ordering::Relaxed) && sent < 2000 && Instant::now() < deadline {
                match c.post(gw.url("/r")).body(format!("{sent}")).send() {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.push(format!("status {}", r.status())),
                    Err(e) => failures.push(e.to_string()),
                }
                sent += 1;
                progress.store(sent, Ordering::Relaxed);
            }
            (sent, failures)
        })
    };
    for i in 0..10 {
        let (from, to) = if i % 2 == 0 {
            (a.addr, b.addr)
        } else {
            (b.addr, a.addr)
        };
        rewrite(&gw, &from.to_string(), &to.to_string());
        assert_eq!(post_reload(&gw).0, 200);
        // Let requests run on this generation before the next swap.
        let seen = progress.load(Ordering::Relaxed);
        eventually(Duration::from_secs(10), "requests between reloads", || {
            progress.load(Ordering::Relaxed) >= seen + 5
        });
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, failures) = sender.join().unwrap();
    assert!(sent > 10, "the load actually ran ({sent})");
    assert!(
        failures.is_empty(),
        "{} of {sent} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(a.received().len() + b.received().len(), sent);
    assert!(!b.received().is_empty());
}

/// pingora's upgrade: a new process started with `--upgrade` receives the
/// listening sockets from the old one on SIGQUIT; a client hammering the
/// port throughout sees no failure.
#[test]
fn zero_downtime_binary_upgrade() {
    let up = Upstream::start();
    let mut old = Gateway::start(&route("u", "/u", up.addr, ""));
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let url = old.url("/u");
    let sender = {
        let (stop, progress) = (stop.clone(), progress.clone());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut sent = 0;
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && sent < 3000 && Instant::now() < deadline {
                // A fresh client each time: the test is about accepting new connections.
                match client().post(&url).body("x").send() {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.push(format!("status {}", r.status())),
                    Err(e) => failures.push(e.to_string()),
                }
                sent += 1;
                progress.store(sent, Ordering::Relaxed);
            }
            (sent, failures)
        })
    };
    eventually(Duration::from_secs(10), "the client to be sending", || {
        progress.load(Ordering::Relaxed) >= 5
    });
    // Same config file (same upgrade_sock), new process, --upgrade.
    let (mut new, log) = old.upgrade();
    old.wait_exit(Duration::from_secs(20));
    eventually(Duration::from_secs(20), "the new process to serve", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.matches("hookgate::access").count() >= 3)
    });
    stop.store(true, Ordering::Relaxed);
    let (sent, failures) = sender.join().unwrap();
    let served_by_new = std::fs::read_to_string(&log)
        .unwrap()
        .matches("hookgate::access")
        .count();
    let _ = new.kill();
    let _ = new.wait();
    assert!(
        failures.is_empty(),
        "{} of {sent} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        served_by_new > 0,
        "the new process served after the handover"
    );
}
