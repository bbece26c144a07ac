//! `hookgate queue stats|list|show|retry|purge -c FILE` and `check` on queue config.

use crate::harness::*;
use crate::queue_support::*;
use hookgate::queue::{LeaseResult, QueueStore};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn config(dir: &Path, route_extra: &str) -> PathBuf {
    let text = base_config(
        dir,
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        "",
        "",
    ) + "[queue]\npath = \"queue.redb\"\n\n"
        + &route(
            "r",
            "/hooks/r",
            "127.0.0.1:3000".parse().unwrap(),
            route_extra,
        );
    let p = dir.join("c.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn hookgate(args: &[&str], cfg: &Path) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .arg("-c")
        .arg(cfg)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const QUEUED: &str = "[route.verify]\nscheme = \"github\"\nsecrets = [\"topsecret\"]\n[route.delivery]\nmode = \"queue\"\nmax_attempts = 3\n";

/// One pending and one dead delivery of route `r`, written by a store that is then closed.
fn seed(dir: &Path) -> (String, String) {
    let store = open_embedded(&dir.join("queue.redb"), 1 << 30);
    runtime().block_on(async {
        let mut dead = delivery("r", b"{\"dead\":true}");
        dead.headers
            .insert("x-hub-signature-256", "sha256=0123abcd".parse().unwrap());
        dead.headers
            .insert("authorization", "Bearer hunter2".parse().unwrap());
        let dead_id = store.enqueue(dead).await.unwrap();
        let LeaseResult::Leased(l) = store.lease("r", SystemTime::now()).await.unwrap() else {
            panic!("due")
        };
        store
            .dead_letter(*l, "status 400", SystemTime::now())
            .await
            .unwrap();
        let pending_id = store
            .enqueue(delivery("r", b"{\"pending\":1}"))
            .await
            .unwrap();
        (dead_id.to_string(), pending_id.to_string())
    })
}

#[test]
fn operators_list_show_retry_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), QUEUED);
    let (dead, pending) = seed(dir.path());

    let (ok, out, err) = hookgate(&["queue", "stats"], &cfg);
    assert!(ok, "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("r "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        row.split_whitespace().take(3).collect::<Vec<_>>(),
        ["r", "1", "1"],
        "{out}"
    );

    let (ok, out, _) = hookgate(&["queue", "list", "--route", "r", "--state", "dead"], &cfg);
    assert!(ok);
    assert!(
        out.starts_with(&dead) && out.contains("status 400") && out.lines().count() == 1,
        "{out}"
    );
    let (_, out, _) = hookgate(&["queue", "list", "--route", "r"], &cfg);
    assert!(
        out.starts_with(&pending) && out.lines().count() == 1,
        "{out}"
    );

    let (ok, out, _) = hookgate(&["queue", "show", &dead], &cfg);
    assert!(ok);
    assert!(out.contains("x-hub-signature-256: <redacted>"), "{out}");
    assert!(out.contains("authorization: <redacted>"), "{out}");
    assert!(out.contains("content-type: application/json"), "{out}");
    assert!(out.contains("body:      13 bytes"), "{out}");
    for secret in ["0123abcd", "hunter2", "dead\":true"] {
        assert!(!out.contains(secret), "{secret} printed: {out}");
    }
    let (_, json, _) = hookgate(&["queue", "show", &dead, "--json"], &cfg);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["state"], "dead");
    assert_eq!(v["body_bytes"], 13);

    // Retry the dead letter: it is pending again.
    let (ok, out, _) = hookgate(&["queue", "retry", "--route", "r", &dead], &cfg);
    assert!(ok && out.starts_with("1 dead letter(s)"), "{out}");
    let (ok, _, err) = hookgate(&["queue", "retry", "--route", "r", &dead], &cfg);
    assert!(!ok && err.contains("no dead delivery"), "{err}");
    let (_, out, _) = hookgate(&["queue", "list", "--route", "r", "--json"], &cfg);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);

    // Purge: only dead letters, and only old enough ones.
    let store = open_embedded(&dir.path().join("queue.redb"), 1 << 30);
    runtime().block_on(async {
        for _ in 0..2 {
            let LeaseResult::Leased(l) = store.lease("r", SystemTime::now()).await.unwrap() else {
                panic!("due")
            };
            store
                .dead_letter(*l, "status 410", SystemTime::now())
                .await
                .unwrap();
        }
    });
    drop(store);
    let (ok, out, _) = hookgate(
        &[
            "queue",
            "purge",
            "--route",
            "r",
            "--state",
            "dead",
            "--older-than",
            "7d",
        ],
        &cfg,
    );
    assert!(ok && out.starts_with("0 dead letter(s)"), "{out}");
    let (ok, out, _) = hookgate(&["queue", "purge", "--route", "r", "--state", "dead"], &cfg);
    assert!(ok && out.starts_with("2 dead letter(s)"), "{out}");
    let (ok, _, err) = hookgate(
        &["queue", "purge", "--route", "r", "--state", "pending"],
        &cfg,
    );
    assert!(!ok && err.contains("invalid value 'pending'"), "{err}");
    let (ok, _, err) = hookgate(&["queue", "list", "--route", "nope"], &cfg);
    assert!(!ok && err.contains("no route named \"nope\""), "{err}");
}

#[test]
fn check_refuses_queueing_a_preset_that_needs_the_apps_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[route.verify]\nscheme = \"slack\"\nsecrets = [\"s\"]\n[route.delivery]\nmode = \"queue\"\n",
    );
    let (ok, _, err) = hookgate(&["check"], &cfg);
    assert!(!ok);
    assert!(
        err.contains("route \"r\".delivery.mode: scheme \"slack\" cannot be queued: Slack slash commands and interactivity are answered with the app's response (line"),
        "{err}"
    );
}

#[test]
fn check_refuses_out_of_range_and_missing_queue_settings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[route.delivery]\nmode = \"queue\"\nbackoff_max = \"300000000000y\"\n",
    );
    let (ok, _, err) = hookgate(&["check"], &cfg);
    assert!(!ok);
    assert!(
        err.contains("route \"r\".delivery.backoff_max: 109575000000000d is out of range: use 10ms to 1d (line"),
        "{err}"
    );

    let no_table = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[queue]\npath = \"queue.redb\"\n", "")
        .replace("backoff_max = \"300000000000y\"\n", "");
    std::fs::write(&cfg, no_table).unwrap();
    let (ok, _, err) = hookgate(&["check"], &cfg);
    assert!(!ok);
    assert!(
        err.contains("route \"r\".delivery.mode: \"queue\" needs a [queue] table"),
        "{err}"
    );
}

#[test]
fn check_shows_how_each_route_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), QUEUED);
    let text = std::fs::read_to_string(&cfg).unwrap()
        + &route("d", "/hooks/d", "127.0.0.1:3000".parse().unwrap(), "");
    std::fs::write(&cfg, text).unwrap();
    let (ok, out, err) = hookgate(&["check"], &cfg);
    assert!(ok, "{err}");
    let store = format!(
        "embedded {} (max_bytes 1GiB)",
        dir.path().join("queue.redb").display()
    );
    assert!(out.contains(&format!("queue store: {store}\n")), "{out}");
    assert!(
        out.contains(&format!("  delivery: queue: ack 202, backoff 1s .. 10m with full jitter, dead after 3 attempts or 3d, concurrency 8; store {store}\n")),
        "{out}"
    );
    assert!(
        out.contains("  delivery: direct (the sender waits for the upstream's answer)\n"),
        "{out}"
    );
}

#[test]
fn check_warns_about_a_volatile_redis_queue() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), QUEUED);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[queue]\npath = \"queue.redb\"\n",
        "[queue]\nstore = \"redis\"\nredis_url = \"redis://:pw-in-url@127.0.0.1:6379/0\"\nallow_volatile = true\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let (ok, out, err) = hookgate(&["check"], &cfg);
    assert!(ok, "{err}");
    assert!(out.contains("warning: [queue] allow_volatile = true: hookgate runs on a Redis without appendonly, and a Redis restart loses deliveries it already acknowledged"), "{out}");
    assert!(out.contains("queue store: redis redis://<redacted>@127.0.0.1:6379/0 (max_bytes 1GiB, claim_idle 1m, allow_volatile)"), "{out}");
    assert!(!out.contains("pw-in-url"), "{out}");
}

#[test]
fn the_admin_api_guards_the_queue_like_config_and_reload() {
    let up = Upstream::start();
    let token = "0123456789abcdef-queue-admin";
    let routes = route(
        "r",
        "/hooks/r",
        up.addr,
        "[route.delivery]\nmode = \"queue\"\n[queue]\npath = \"queue.redb\"\n",
    );
    let g = Gateway::with_admin(
        "token = \"env:HG_QUEUE_TOKEN\"",
        &routes,
        &[("HG_QUEUE_TOKEN", token)],
        &[],
    );
    let admin = |method: &str, target: &str, headers: &[(&str, &str)]| {
        let url = format!("http://{}{target}", g.admin);
        let mut req = client().request(method.parse().unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    assert_eq!(admin("GET", "/queue/stats", &[]).0, 401);
    let (status, body) = admin("GET", "/queue/stats", &auth);
    assert_eq!(status, 200, "{body}");
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["routes"][0]["route"], "r");
    let (status, body) = admin("GET", "/queue/stats?format=text", &auth);
    assert!(status == 200 && body.starts_with("store: "), "{body}");
    let cross = [
        ("authorization", bearer.as_str()),
        ("origin", "http://evil.example"),
    ];
    assert_eq!(admin("GET", "/queue/stats", &cross).0, 403);
    let form = [
        ("authorization", bearer.as_str()),
        ("content-type", "text/plain"),
    ];
    assert_eq!(
        admin("POST", "/queue/retry?route=r&all_dead=true", &form).0,
        415
    );
    assert_eq!(
        admin("GET", "/queue/retry?route=r&all_dead=true", &auth).0,
        405
    );
    let (status, body) = admin("POST", "/queue/retry?route=r&all_dead=true", &auth);
    assert_eq!((status, body.trim()), (200, "{\n  \"retried\": 0\n}"));
    let (status, body) = admin("GET", "/queue/list?route=nope", &auth);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no route named \"nope\""), "{body}");
    assert_eq!(admin("GET", "/queue/list?route=r&limit=x", &auth).0, 400);
    let missing = format!("/queue/show?id={}", hookgate::queue::DeliveryId::new());
    assert_eq!(admin("GET", &missing, &auth).0, 404);
    assert!(g.metric("hookgate_admin_refused_total{reason=\"unauthorized\"}") >= 1.0);
}

#[test]
fn the_admin_api_without_a_queue_says_so() {
    let up = Upstream::start();
    let g = Gateway::start(&route("r", "/hooks/r", up.addr, ""));
    let (status, body) = get(&format!("http://{}/queue/stats", g.admin)).unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("no [queue] table"), "{body}");
}
