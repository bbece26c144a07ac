//! Durable delivery end to end: real hookgate processes in queue mode, an
//! upstream that is down and comes up, a real Redis with AOF, `kill -9`,
//! the CLI against a running instance.

use crate::harness::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const VERIFY: &str = "[route.verify]\nscheme = \"github\"\nsecrets = [\"durable-e2e-secret\"]\n";
/// Replay protection keyed on the signature: a retry of the same body is the same delivery.
const REPLAY: &str = "[route.replay]\nkey = \"signature\"\n";

/// A GitHub-verified queue-mode route at `/hooks/gh` to `upstream`, with
/// fast retries (`delivery` adds or overrides `[route.delivery]` keys).
fn queued_route(upstream: &str, delivery: &str) -> String {
    format!(
        "[[route]]\nname = \"gh\"\npath_prefix = \"/hooks/gh\"\nupstreams = [\"{upstream}\"]\nconnect_timeout = \"1s\"\nread_timeout = \"5s\"\n{VERIFY}{REPLAY}[route.delivery]\nmode = \"queue\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"1s\"\nmax_attempts = 1000\n{delivery}\n"
    )
}

const EMBEDDED: &str = "[queue]\npath = \"queue.redb\"\n";

/// A distinct body per `i`, of varying size, with every byte value.
fn body(i: usize) -> Vec<u8> {
    let mut b = format!("{{\"delivery\":{i},\"pad\":\"").into_bytes();
    b.extend((0..(200 + i * 7 % 1800)).map(|k| (k * 31 + i) as u8));
    b.extend_from_slice(b"\"}");
    b
}

/// What the sender got back.
struct Answer {
    status: u16,
    json: serde_json::Value,
    retry_after: Option<String>,
    request_id: String,
}

/// POST `body` to the gateway, signed as GitHub would sign it.
fn send(g: &Gateway, body: &[u8]) -> Answer {
    try_send(g, body).expect("an answer")
}

/// [`send`], or `None` when no answer came (the gateway died mid-request).
fn try_send(g: &Gateway, body: &[u8]) -> Option<Answer> {
    let v = signer(VERIFY);
    let mut req = client().post(g.url("/hooks/gh")).body(body.to_vec());
    for (k, val) in sign(&v, "/hooks/gh", "application/json", body, SystemTime::now()) {
        req = req.header(k, val);
    }
    let resp = req.send().ok()?;
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (retry_after, request_id) = (header("retry-after"), header("x-request-id").unwrap());
    let status = resp.status().as_u16();
    let json = serde_json::from_slice(&resp.bytes().ok()?).unwrap_or_default();
    Some(Answer {
        status,
        json,
        retry_after,
        request_id,
    })
}

/// Delivery id → (body, request id) of every acknowledged delivery.
type Acked = HashMap<String, (Vec<u8>, String)>;

/// Send distinct deliveries (`body(i)` for `i` below `limit`) from 8
/// threads at once, so they share group commits, recording each
/// acknowledged one in `acked` as it comes; stop at the first one not
/// acknowledged (the others finish the request they have in flight).
/// Returns the answers that were not `202` (`None`: no answer at all).
fn send_until_refused(g: &Gateway, limit: usize, acked: &Mutex<Acked>) -> Vec<Option<Answer>> {
    let stop = AtomicBool::new(false);
    let refused = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..8 {
            let (stop, refused) = (&stop, &refused);
            s.spawn(move || {
                for i in (t..limit).step_by(8) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let b = body(i);
                    match try_send(g, &b) {
                        Some(a) if a.status == 202 => {
                            let id = a.json["delivery_id"].as_str().unwrap().to_string();
                            acked.lock().unwrap().insert(id, (b, a.request_id));
                        }
                        other => {
                            stop.store(true, Ordering::SeqCst);
                            refused.lock().unwrap().push(other);
                            return;
                        }
                    }
                }
            });
        }
    });
    refused.into_inner().unwrap()
}

/// Send `count` distinct deliveries from 8 threads; every one must be
/// acknowledged as queued. Returns delivery id → (body, request id).
fn acknowledge(g: &Gateway, count: usize) -> HashMap<String, (Vec<u8>, String)> {
    let acked = Mutex::new(HashMap::new());
    std::thread::scope(|s| {
        for t in 0..8 {
            let acked = &acked;
            s.spawn(move || {
                for i in (t..count).step_by(8) {
                    let b = body(i);
                    let a = send(g, &b);
                    assert_eq!(a.status, 202, "{}", a.json);
                    assert_eq!(a.json["status"], "queued", "{}", a.json);
                    let id = a.json["delivery_id"].as_str().unwrap().to_string();
                    acked.lock().unwrap().insert(id, (b, a.request_id));
                }
            });
        }
    });
    let acked = acked.into_inner().unwrap();
    assert_eq!(acked.len(), count, "distinct delivery ids");
    acked
}

/// Wait until every acknowledged delivery arrived; check each arrival is the
/// acknowledged request byte for byte; return how many arrived twice.
fn all_arrive(
    received: impl Fn() -> Vec<Recorded>,
    acked: &HashMap<String, (Vec<u8>, String)>,
    within: Duration,
) -> usize {
    eventually(within, "every acknowledged delivery upstream", || {
        let got: std::collections::HashSet<String> = received()
            .iter()
            .filter_map(|r| r.header("x-hookgate-delivery-id"))
            .collect();
        acked.keys().all(|id| got.contains(id))
    });
    let all = received();
    for r in &all {
        let id = r.header("x-hookgate-delivery-id").unwrap();
        let (b, request_id) = &acked[&id];
        assert_eq!(&r.body, b, "delivery {id} arrived byte-exact");
        assert_eq!(r.path, "/hooks/gh");
        assert_eq!(r.header("x-request-id").as_ref(), Some(request_id));
        assert_eq!(r.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));
        assert!(r.header("x-hub-signature-256").is_some());
        let attempt: u32 = r.header("x-hookgate-attempt").unwrap().parse().unwrap();
        assert!(attempt >= 1);
    }
    all.len() - acked.len()
}

#[test]
fn acknowledged_deliveries_survive_kill_9_and_arrive_byte_exact() {
    // The upstream is down: nothing listens on its port yet.
    let port = free_port();
    let routes = queued_route(&format!("127.0.0.1:{port}"), "") + EMBEDDED;
    let mut g = Gateway::start(&routes);
    let acked = acknowledge(&g, 500);
    g.kill9();
    g.restart(&[]);
    let up = Upstream::on(port, Behaviour::default());
    let twice = all_arrive(|| up.received(), &acked, Duration::from_secs(120));
    println!(
        "kill -9 crash test: 500 acknowledged, {} arrived ({} distinct), {twice} twice",
        up.received().len(),
        acked.len()
    );
    eventually(Duration::from_secs(20), "an empty queue", || {
        g.metrics()
            .contains("hookgate_queue_depth{route=\"gh\",state=\"pending\"} 0")
    });
}

#[test]
fn kill_9_during_group_commits_loses_nothing_acknowledged() {
    // Unlike the test above, the process dies while 8 senders are still
    // sending: some group commits are in flight, some answers unsent.
    let port = free_port();
    let mut g = Gateway::start(&(queued_route(&format!("127.0.0.1:{port}"), "") + EMBEDDED));
    let pid = g.child.as_ref().unwrap().id().to_string();
    let acked = Mutex::new(HashMap::new());
    let ended = std::thread::scope(|s| {
        s.spawn(|| {
            eventually(Duration::from_secs(60), "300 acknowledged", || {
                acked.lock().unwrap().len() >= 300
            });
            let killed = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status()
                .unwrap();
            assert!(killed.success());
        });
        send_until_refused(&g, 100_000, &acked)
    });
    assert!(
        ended.iter().all(Option::is_none),
        "the senders stopped only because the gateway died"
    );
    let acked = acked.into_inner().unwrap();
    g.kill9();
    g.restart(&[]);
    let up = Upstream::on(port, Behaviour::default());
    let (twice, unacked) = all_acknowledged_arrive(&up, &acked);
    println!(
        "kill -9 under load: {} acknowledged, all arrived, {twice} twice; {unacked} stored but unacknowledged",
        acked.len(),
    );
    assert_eq!(twice, 0);
}

/// [`all_arrive`] when the sender may have lost answers: deliveries stored
/// but not acknowledged may arrive too, and then byte-exact, as sent.
/// Returns how many acknowledged ones arrived twice, and how many
/// unacknowledged ones arrived.
fn all_acknowledged_arrive(up: &Upstream, acked: &Acked) -> (usize, usize) {
    let ours = |r: &Recorded| acked.contains_key(&r.header("x-hookgate-delivery-id").unwrap());
    let twice = all_arrive(
        || up.received().into_iter().filter(ours).collect(),
        acked,
        Duration::from_secs(120),
    );
    let unacked: Vec<Recorded> = up.received().into_iter().filter(|r| !ours(r)).collect();
    for r in &unacked {
        let text = String::from_utf8_lossy(&r.body);
        let i: usize = text["{\"delivery\":".len()..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            r.body,
            body(i),
            "an unacknowledged delivery arrived byte-exact"
        );
    }
    (twice, unacked.len())
}

#[test]
fn a_redis_restart_under_load_loses_nothing_acknowledged() {
    let mut redis = RedisServer::start_persistent();
    let port = free_port();
    let store = format!(
        "[queue]\nstore = \"redis\"\nredis_url = \"{}\"\nclaim_idle = \"1s\"\n",
        redis.url()
    );
    // The app is up: workers are delivering (leases in flight) when Redis dies.
    let up = Upstream::on(port, Behaviour::default());
    let g = Gateway::start(&(queued_route(&format!("127.0.0.1:{port}"), "") + &store));
    let acked = Mutex::new(HashMap::new());
    let ended = std::thread::scope(|s| {
        s.spawn(|| {
            eventually(Duration::from_secs(60), "150 acknowledged", || {
                acked.lock().unwrap().len() >= 150
            });
            redis.kill();
        });
        send_until_refused(&g, 100_000, &acked)
    });
    for a in &ended {
        let a = a.as_ref().expect("an answer within the store deadline");
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (503, Some("queue_unavailable")),
            "{}",
            a.json
        );
    }
    // Redis comes back with its AOF: hookgate reconnects by itself.
    redis.restart();
    let mut acked = acked.into_inner().unwrap();
    let again = eventually_answer(|| send(&g, &body(1_000_000)), 202);
    let id = again.json["delivery_id"].as_str().unwrap().to_string();
    acked.insert(id, (body(1_000_000), again.request_id));
    let (twice, unacked) = all_acknowledged_arrive(&up, &acked);
    // Twice is possible here: an attempt that ended while Redis was down
    // could not be recorded, so it is delivered again.
    println!(
        "Redis restart under load: {} acknowledged, all arrived, {twice} twice; {unacked} stored but unacknowledged",
        acked.len()
    );
}

#[test]
fn a_second_instance_delivers_what_a_killed_one_acknowledged() {
    let redis = RedisServer::start_persistent();
    let port = free_port();
    let store = format!(
        "[queue]\nstore = \"redis\"\nredis_url = \"{}\"\nclaim_idle = \"1s\"\n",
        redis.url()
    );
    let routes = queued_route(&format!("127.0.0.1:{port}"), "") + &store;
    let mut a = Gateway::start(&routes);
    let acked = acknowledge(&a, 200);
    // A's workers keep leasing (and failing) while the upstream is down.
    a.kill9();
    let b = Gateway::start(&routes);
    let up = Upstream::on(port, Behaviour::default());
    let twice = all_arrive(|| up.received(), &acked, Duration::from_secs(120));
    println!(
        "two instances on one Redis: A acknowledged 200, B delivered {} ({twice} twice)",
        up.received().len()
    );
    assert!(b
        .logs()
        .contains("\"message\":\"queue store ready, workers started\""));
}

#[test]
fn both_modes_forward_the_same_headers() {
    let up = Upstream::start();
    let direct = format!(
        "[[route]]\nname = \"direct\"\npath_prefix = \"/hooks/direct\"\nupstreams = [\"{}\"]\n{VERIFY}",
        up.addr
    );
    let g = Gateway::start(&(queued_route(&up.addr.to_string(), "") + EMBEDDED + &direct));
    let b = body(1);
    let v = signer(VERIFY);
    let signed = sign_with(
        &v,
        "/hooks/x",
        &[
            ("content-type", "application/json"),
            ("x-github-event", "push"),
            ("x-hookgate-delivery-id", "forged"),
            ("x-hookgate-attempt", "99"),
        ],
        &b,
        SystemTime::now(),
    );
    for path in ["/hooks/direct", "/hooks/gh"] {
        let mut req = client().post(g.url(path)).body(b.clone());
        for (k, val) in &signed {
            req = req.header(k, val);
        }
        let status = req.send().unwrap().status().as_u16();
        assert!(status == 200 || status == 202, "{path}: {status}");
    }
    eventually(Duration::from_secs(20), "both requests upstream", || {
        up.received().len() == 2
    });
    let shape = |r: &Recorded| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(k, _)| k != "x-request-id" && !k.starts_with("x-hookgate-"))
            .cloned()
            .collect();
        h.sort();
        h
    };
    let got = up.received();
    let (d, q) = match got[0].header("x-hookgate-delivery-id") {
        None => (&got[0], &got[1]),
        Some(_) => (&got[1], &got[0]),
    };
    assert_eq!(shape(d), shape(q), "identical headers upstream");
    assert_eq!(d.body, q.body);
    // hookgate owns its x-hookgate-* headers: a sender cannot forge them.
    assert_eq!(q.header("x-hookgate-attempt").as_deref(), Some("1"));
    let id = q.header("x-hookgate-delivery-id").unwrap();
    assert!(id != "forged" && uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(d.header("x-hookgate-delivery-id"), None);
    assert_eq!(d.header("x-hookgate-attempt"), None);
    assert_eq!(q.header("x-github-event").as_deref(), Some("push"));
}

/// `hookgate queue ...` against the gateway's config; (success, stdout, stderr).
fn cli(g: &Gateway, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("queue").args(args).arg("-c").arg(&g.config);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dead_letters_are_listed_shown_and_retried_with_the_cli_of_a_running_instance() {
    // "reject" deliveries get 400 (dead at once), others 503 (dead after
    // max_attempts), until the app is fixed.
    let fixed = Arc::new(AtomicBool::new(false));
    let up = {
        let fixed = fixed.clone();
        RawUpstream::start(move |_, r| {
            let reject = String::from_utf8_lossy(&r.body).contains("reject");
            let status = match (fixed.load(Ordering::SeqCst), reject) {
                (true, _) => 200,
                (false, true) => 400,
                (false, false) => 503,
            };
            Reply::Bytes(http_response(status, ""))
        })
    };
    let token = "0123456789abcdef-durable";
    let env = [("HG_ADMIN_TOKEN", token)];
    let routes = queued_route(&up.addr.to_string(), "max_attempts = 3\n")
        .replace("max_attempts = 1000\n", "")
        + EMBEDDED;
    let g = Gateway::with_admin("token = \"env:HG_ADMIN_TOKEN\"", &routes, &env, &[]);
    let rejected = send(&g, b"{\"reject\":true}");
    let failing = send(&g, b"{\"fails\":true}");
    let ids: Vec<String> = [&rejected, &failing]
        .iter()
        .map(|a| a.json["delivery_id"].as_str().unwrap().to_string())
        .collect();
    eventually(Duration::from_secs(30), "two dead letters", || {
        let (ok, out, _) = cli(&g, &["list", "--route", "gh", "--state", "dead"], &env);
        ok && out.lines().count() == 2
    });
    let (_, out, _) = cli(&g, &["list", "--route", "gh", "--state", "dead"], &env);
    let line = |id: &str| out.lines().find(|l| l.starts_with(id)).unwrap().to_string();
    assert!(
        line(&ids[0]).contains("attempts 1") && line(&ids[0]).contains("(status 400)"),
        "{out}"
    );
    assert!(
        line(&ids[1]).contains("attempts 3")
            && line(&ids[1]).contains("max_attempts (3) reached; last: status 503"),
        "{out}"
    );
    assert_eq!(up.received().len(), 4, "1 + 3 attempts");
    assert!(g.metric("hookgate_dead_letters_total{route=\"gh\"}") >= 2.0);

    // `show`: headers with the signature redacted, the body's size only.
    let (ok, out, err) = cli(&g, &["show", &ids[0]], &env);
    assert!(ok, "{err}");
    let signature = up.received()[0].header("x-hub-signature-256").unwrap();
    assert!(
        !out.contains(&signature) && out.contains("x-hub-signature-256: <redacted>"),
        "{out}"
    );
    assert!(
        out.contains("body:      15 bytes") && !out.contains("reject"),
        "{out}"
    );

    // A wrong token is refused and says why; the token is never printed.
    let (ok, _, err) = cli(
        &g,
        &["stats"],
        &[("HG_ADMIN_TOKEN", "wrong-token-wrong-token")],
    );
    assert!(
        !ok && err.contains("admin API refused the request"),
        "{err}"
    );
    assert!(
        !err.contains(token) && !err.contains("wrong-token-wrong-token"),
        "{err}"
    );

    fixed.store(true, Ordering::SeqCst);
    let (ok, out, err) = cli(&g, &["retry", "--route", "gh", &ids[0]], &env);
    assert!(ok && out.starts_with("1 dead letter(s)"), "{out}{err}");
    let (ok, out, _) = cli(&g, &["retry", "--route", "gh", "--all-dead"], &env);
    assert!(ok && out.starts_with("1 dead letter(s)"), "{out}");
    eventually(
        Duration::from_secs(20),
        "both delivered after the retry",
        || up.received().len() == 6,
    );
    for r in &up.received()[4..] {
        assert_eq!(
            r.header("x-hookgate-attempt").as_deref(),
            Some("1"),
            "a fresh budget"
        );
        assert!(
            ids.contains(&r.header("x-hookgate-delivery-id").unwrap()),
            "same id"
        );
    }
    eventually(Duration::from_secs(10), "no dead letters left", || {
        let (ok, out, _) = cli(&g, &["stats", "--json"], &env);
        let s: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        ok && s["routes"][0]["dead"] == 0 && s["routes"][0]["pending"] == 0
    });
}

#[test]
fn a_full_queue_answers_503_and_loses_nothing_it_acknowledged() {
    let port = free_port();
    let routes = queued_route(&format!("127.0.0.1:{port}"), "")
        + "[queue]\npath = \"queue.redb\"\nmax_bytes = \"1MiB\"\n";
    let g = Gateway::start(&routes);
    let big = |i: usize| {
        let mut b = body(i);
        b.resize(64 << 10, b'x');
        b
    };
    let mut acked = HashMap::new();
    let refused = (0..40)
        .find_map(|i| {
            let a = send(&g, &big(i));
            match a.status {
                202 => {
                    let id = a.json["delivery_id"].as_str().unwrap().to_string();
                    acked.insert(id, (big(i), a.request_id));
                    None
                }
                _ => Some((i, a)),
            }
        })
        .expect("the budget runs out");
    let (i, a) = refused;
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (503, Some("queue_full"))
    );
    assert_eq!(a.retry_after.as_deref(), Some("30"));
    assert!(
        acked.len() >= 10,
        "1 MiB holds at least ten 64 KiB deliveries"
    );
    let log = g.wait_access_log(&a.request_id);
    assert_eq!(log["reason"], "queue_full");
    assert_eq!(
        g.metric("hookgate_requests_total{outcome=\"queue_full\",route=\"gh\"}"),
        1.0
    );
    let up = Upstream::on(port, Behaviour::default());
    let twice = all_arrive(|| up.received(), &acked, Duration::from_secs(60));
    assert_eq!(twice, 0);
    // The refused delivery was never acknowledged: its replay key was
    // released, so the sender's retry is queued now that there is room.
    let retry = send(&g, &big(i));
    assert_eq!(retry.status, 202, "{}", retry.json);
    eventually(Duration::from_secs(20), "the retried delivery", || {
        up.received().iter().any(|r| r.body == big(i))
    });
}

#[test]
fn an_unreachable_redis_store_answers_503_and_releases_the_replay_key() {
    let mut redis = RedisServer::start_persistent();
    let up = Upstream::start();
    let store = format!(
        "[queue]\nstore = \"redis\"\nredis_url = \"{}\"\n",
        redis.url()
    );
    let g = Gateway::start(&(queued_route(&up.addr.to_string(), "") + &store));
    let first = send(&g, &body(1));
    assert_eq!(first.status, 202);
    redis.kill();
    let started = Instant::now();
    let a = send(&g, &body(2));
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (503, Some("queue_unavailable"))
    );
    assert_eq!(a.retry_after.as_deref(), Some("5"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "within the store deadline"
    );
    assert_eq!(
        g.wait_access_log(&a.request_id)["reason"],
        "queue_unavailable"
    );
    redis.restart();
    // Not acknowledged, so not a duplicate: the same delivery is queued now.
    let again = eventually_answer(|| send(&g, &body(2)), 202);
    assert_eq!(again.json["status"], "queued");
    // The first one was acknowledged: its retry is a duplicate.
    let dup = send(&g, &body(1));
    assert_eq!(
        (dup.status, dup.json["status"].as_str()),
        (200, Some("duplicate"))
    );
    eventually(Duration::from_secs(30), "both delivered", || {
        let bodies: Vec<Vec<u8>> = up.received().into_iter().map(|r| r.body).collect();
        bodies.contains(&body(1)) && bodies.contains(&body(2))
    });
}

/// Send until the answer has `status` (the store reconnecting), bounded.
fn eventually_answer(mut f: impl FnMut() -> Answer, status: u16) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = f();
        if a.status == status {
            return a;
        }
        assert!(Instant::now() < deadline, "still {}: {}", a.status, a.json);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Per delivery id: (attempt number, when it arrived).
type AttemptTimes = HashMap<String, Vec<(u32, Instant)>>;

#[test]
fn retry_after_is_honoured_and_backoff_grows_with_jitter() {
    // Attempt 1: 503 with Retry-After: 2; attempts 2-5: 503; attempt 6: 200.
    let times: Arc<Mutex<AttemptTimes>> = Default::default();
    let up = {
        let times = times.clone();
        RawUpstream::start(move |_, r| {
            let attempt: u32 = r.header("x-hookgate-attempt").unwrap().parse().unwrap();
            let id = r.header("x-hookgate-delivery-id").unwrap();
            times
                .lock()
                .unwrap()
                .entry(id)
                .or_default()
                .push((attempt, Instant::now()));
            Reply::Bytes(match attempt {
                1 => b"HTTP/1.1 503 X\r\nretry-after: 2\r\ncontent-length: 0\r\n\r\n".to_vec(),
                2..=5 => http_response(503, ""),
                _ => http_response(200, ""),
            })
        })
    };
    let routes = queued_route(&up.addr.to_string(), "concurrency = 10\n")
        .replace("backoff_max = \"1s\"", "backoff_max = \"10s\"")
        + EMBEDDED;
    let g = Gateway::start(&routes);
    for i in 0..10 {
        assert_eq!(send(&g, &body(i)).status, 202);
    }
    eventually(Duration::from_secs(90), "60 attempts", || {
        up.received().len() == 60
    });
    // gaps[k]: the delay after attempt k+1. After attempt 1 the upstream's
    // Retry-After (2 s) is the floor; after attempt k ≥ 2 the delay is
    // uniform in 0 ..= 100 ms × 2^(k-1).
    let mut gaps: Vec<Vec<Duration>> = vec![Vec::new(); 5];
    for (id, attempts) in times.lock().unwrap().iter() {
        let numbers: Vec<u32> = attempts.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            numbers,
            [1, 2, 3, 4, 5, 6],
            "{id}: attempts numbered in order"
        );
        for k in 0..5 {
            gaps[k].push(attempts[k + 1].1 - attempts[k].1);
        }
    }
    for g in &gaps[0] {
        assert!(
            *g >= Duration::from_millis(1950),
            "Retry-After honoured: {g:?}"
        );
    }
    let slack = Duration::from_secs(2);
    for (k, g) in gaps.iter().enumerate().skip(1) {
        let cap = Duration::from_millis(100 << k);
        for d in g {
            assert!(
                *d <= cap + slack,
                "after attempt {}: {d:?} beyond {cap:?}",
                k + 1
            );
        }
    }
    let mean = |v: &Vec<Duration>| v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "mean delay after attempts 2..5: {:?}",
        gaps[1..].iter().map(mean).collect::<Vec<_>>()
    );
    // 10 samples each of U(0, 200 ms) and U(0, 1.6 s): the means come out
    // in the wrong order by chance with probability ~1e-9.
    assert!(mean(&gaps[4]) > mean(&gaps[1]), "backoff grows");
    let (lo, hi) = (gaps[4].iter().min().unwrap(), gaps[4].iter().max().unwrap());
    assert!(
        *hi - *lo > Duration::from_millis(50),
        "jittered: {lo:?} .. {hi:?}"
    );
}

#[test]
fn sigterm_lets_an_attempt_in_progress_finish() {
    let up =
        RawUpstream::start(|_, _| Reply::Later(Duration::from_secs(2), http_response(200, "")));
    let mut g = Gateway::start(&(queued_route(&up.addr.to_string(), "") + EMBEDDED));
    assert_eq!(send(&g, &body(1)).status, 202);
    eventually(Duration::from_secs(10), "the attempt under way", || {
        up.received().len() == 1
    });
    g.signal("TERM");
    assert_eq!(g.wait_exit(Duration::from_secs(15)), Some(0));
    // The attempt finished before the exit and was recorded: a restarted
    // instance finds nothing to deliver again.
    let (ok, out, err) = cli(&g, &["stats", "--json"], &[]);
    assert!(ok, "the stopped instance's file opens directly: {err}");
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (s["routes"][0]["pending"].as_u64(), s["bytes"].as_u64()),
        (Some(0), Some(0)),
        "{out}"
    );
    assert_eq!(up.received().len(), 1);
}

#[test]
fn a_reload_starts_queueing_and_one_without_a_store_is_refused() {
    let up = Upstream::start();
    let direct = queued_route(&up.addr.to_string(), "").replace(
        "[route.delivery]\nmode = \"queue\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"1s\"\nmax_attempts = 1000\n",
        "",
    );
    // Started with a [queue] store: switching the route to queue mode works.
    let g = Gateway::start(&(direct.clone() + EMBEDDED));
    assert_eq!(send(&g, &body(1)).status, 200);
    let text = std::fs::read_to_string(&g.config).unwrap();
    let queued = text.replace(&direct, &queued_route(&up.addr.to_string(), ""));
    std::fs::write(&g.config, &queued).unwrap();
    let out = std::process::Command::new(bin())
        .args(["reload", "-c"])
        .arg(&g.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = send(&g, &body(2));
    assert_eq!((a.status, a.json["status"].as_str()), (202, Some("queued")));
    eventually(Duration::from_secs(20), "the queued delivery", || {
        up.received().iter().any(|r| r.body == body(2))
    });

    // Started without one: the reload is refused, the running config stays.
    let g = Gateway::start(&direct);
    let text = std::fs::read_to_string(&g.config).unwrap();
    std::fs::write(
        &g.config,
        text.replace(&direct, &queued_route(&up.addr.to_string(), "")) + EMBEDDED,
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["reload", "-c"])
        .arg(&g.config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("route \"gh\".delivery.mode: queue mode needs the [queue] store, which is opened at start: restart hookgate"),
        "{err}"
    );
    assert_eq!(send(&g, &body(3)).status, 200, "still direct");
}

#[test]
fn a_store_that_cannot_keep_deliveries_refuses_to_start() {
    let redis = RedisServer::start();
    let up = Upstream::start();
    // A running instance holds its embedded file.
    let running = Gateway::start(&(queued_route(&up.addr.to_string(), "") + EMBEDDED));
    let held = running.dir.path().join("queue.redb");
    for (store, says) in [
        (
            format!("[queue]\npath = \"{}\"\n", held.display()),
            "is open in another process (a running hookgate?)",
        ),
        (
            format!(
                "[queue]\nstore = \"redis\"\nredis_url = \"{}\"\n",
                redis.url()
            ),
            "does not persist (appendonly is not \"yes\")",
        ),
        (
            "[queue]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:1/0\"\n".to_string(),
            "queue store unavailable",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let admin: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = base_config(dir.path(), addr, admin, "", "")
            + &queued_route(&up.addr.to_string(), "")
            + &store;
        let config = dir.path().join("hookgate.toml");
        std::fs::write(&config, text).unwrap();
        let check = std::process::Command::new(bin())
            .args(["check", "-c"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(check.status.success(), "check only validates the file");
        refuses_to_start(&config, says);
    }
}

#[test]
fn an_upgrade_hands_the_queue_file_over_to_the_new_process() {
    let port = free_port();
    let mut old = Gateway::start(&(queued_route(&format!("127.0.0.1:{port}"), "") + EMBEDDED));
    let mut acked = acknowledge(&old, 20);
    let (mut new, log) = old.upgrade();
    assert_eq!(old.wait_exit(Duration::from_secs(20)), Some(0));
    // The new process holds the sockets and, once the old one let go, the file.
    let later = body(99);
    let a = eventually_answer(|| send(&old, &later), 202);
    acked.insert(
        a.json["delivery_id"].as_str().unwrap().to_string(),
        (later, a.request_id),
    );
    let up = Upstream::on(port, Behaviour::default());
    let twice = all_arrive(|| up.received(), &acked, Duration::from_secs(60));
    assert_eq!(twice, 0);
    let new_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        new_log.contains("waiting for the old process to release the queue file"),
        "{new_log}"
    );
    let _ = new.kill();
    let _ = new.wait();
}

/// Stage by stage, in process: the replay store (Redis) dies between the
/// reservation and the commit; the delivery was stored, so it is
/// acknowledged all the same, and the failed commit is counted.
#[test]
fn a_replay_commit_that_fails_after_queueing_still_acknowledges() {
    use hookgate::proxy::replay_guard::{self, Decision};
    let mut redis = RedisServer::start_persistent();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[admin]\nlisten = \"127.0.0.1:1\"\n[[listener]]\nname = \"p\"\nlisten = \"127.0.0.1:2\"\n\
         [replay]\nstore = \"redis\"\nredis_url = \"{}\"\n{}{EMBEDDED}",
        redis.url(),
        queued_route("127.0.0.1:3", "")
    );
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &text).unwrap();
    let cfg = hookgate::config::load(&path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let metrics = Arc::new(hookgate::metrics::Metrics::new().unwrap());
        let hookgate::replay::StoreKind::Redis {
            url,
            prefix,
            connect_timeout,
            command_timeout,
        } = &cfg.replay.store
        else {
            panic!("redis")
        };
        let replay: Arc<dyn hookgate::replay::ReplayStore> = Arc::new(
            hookgate::replay::redis::RedisStore::new(
                url,
                prefix,
                *connect_timeout,
                *command_timeout,
            )
            .unwrap(),
        );
        let store = hookgate::queue::open(cfg.queue.as_ref().unwrap())
            .await
            .unwrap();
        let route = cfg.routes[0].clone();
        let key = Some("sig:abc".to_string());
        let Decision::Forward(guard) = replay_guard::reserve(&replay, &metrics, &cfg, &route, key)
            .await
            .unwrap()
        else {
            panic!("reserved")
        };
        redis.kill();
        let req = pingora::http::RequestHeader::build("POST", b"/hooks/gh", None).unwrap();
        let id = hookgate::proxy::enqueue::enqueue(
            Some(&store),
            &route,
            &req,
            bytes::Bytes::from_static(b"{}"),
            guard,
        )
        .await
        .expect("stored, so acknowledged");
        assert!(store.show(id).await.unwrap().is_some());
        let errors = metrics
            .replay_store_errors
            .with_label_values(&["unavailable"])
            .get();
        assert_eq!(errors, 1, "the failed commit is counted");
    });
}

#[test]
fn a_route_switched_back_to_direct_still_delivers_what_it_queued() {
    let port = free_port();
    let queued = queued_route(&format!("127.0.0.1:{port}"), "");
    let g = Gateway::start(&(queued.clone() + EMBEDDED));
    let acked = acknowledge(&g, 5);
    let direct = queued.replace(
        "[route.delivery]\nmode = \"queue\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"1s\"\nmax_attempts = 1000\n",
        "",
    );
    let text = std::fs::read_to_string(&g.config).unwrap();
    std::fs::write(&g.config, text.replace(&queued, &direct)).unwrap();
    let out = std::process::Command::new(bin())
        .args(["reload", "-c"])
        .arg(&g.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only once the queue-mode workers are gone does the upstream come up.
    eventually(
        Duration::from_secs(10),
        "the workers to follow the reload",
        || g.logs().contains("queue routes changed: workers restarted"),
    );
    let up = Upstream::on(port, Behaviour::default());
    assert_eq!(send(&g, &body(100)).status, 200, "direct now");
    let twice = all_arrive(
        || {
            up.received()
                .into_iter()
                .filter(|r| r.header("x-hookgate-delivery-id").is_some())
                .collect()
        },
        &acked,
        Duration::from_secs(30),
    );
    assert_eq!(twice, 0);
}

/// Start hookgate on `config` and expect it to refuse: exit 1, within a
/// bounded time, with `says` in its reason on stderr.
fn refuses_to_start(config: &std::path::Path, says: &str) {
    let mut run = std::process::Command::new(bin())
        .args(["run", "-c"])
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            let _ = run.wait();
            panic!("hookgate started instead of refusing with {says:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("hookgate: cannot start: ") && err.contains(says),
        "{err}"
    );
}

#[test]
fn a_damaged_queue_file_refuses_to_start_and_loses_nothing() {
    let port = free_port();
    let mut g = Gateway::start(&(queued_route(&format!("127.0.0.1:{port}"), "") + EMBEDDED));
    let acked = acknowledge(&g, 20);
    g.kill9();
    let file = g.dir.path().join("queue.redb");
    let kept = std::fs::read(&file).unwrap();
    // An empty file would be taken for a new queue: every delivery silently gone.
    std::fs::write(&file, b"").unwrap();
    refuses_to_start(&g.config, "the file exists but is empty (truncated?)");
    // A truncated file makes redb assert while opening it.
    std::fs::write(&file, &kept[..kept.len() / 2]).unwrap();
    refuses_to_start(&g.config, "the file is damaged (truncated or corrupted)");
    // The operator restores it: everything acknowledged is delivered.
    std::fs::write(&file, &kept).unwrap();
    g.restart(&[]);
    let up = Upstream::on(port, Behaviour::default());
    all_arrive(|| up.received(), &acked, Duration::from_secs(60));
}

#[test]
fn the_queue_recovers_by_itself_once_the_disk_has_room_again() {
    let port = free_port();
    let mut g = Gateway::start(&(queued_route(&format!("127.0.0.1:{port}"), "") + EMBEDDED));
    // The same instance, but its files may not grow past 3 MiB: writing the
    // queue file fails as on a full disk (EFBIG; SIGXFSZ ignored, as a
    // database server would).
    let limit = "trap '' XFSZ; exec prlimit --fsize=3145728: -- \"$@\"";
    g.restart_under(&["sh", "-c", limit, "sh"], &[]);
    // Concurrent senders: the write that fails is a group commit of several,
    // and none of them may be acknowledged (all_arrive below checks that
    // every 202 is delivered).
    let acked = Mutex::new(HashMap::new());
    let refused = send_until_refused(&g, 20_000, &acked);
    assert!(!refused.is_empty(), "the file size limit is reached");
    for a in &refused {
        let a = a.as_ref().expect("an answer");
        assert_eq!(
            (a.status, a.json["error"].as_str(), a.retry_after.as_deref()),
            (503, Some("queue_unavailable"), Some("5")),
            "{}",
            a.json
        );
    }
    let mut acked = acked.into_inner().unwrap();
    assert!(!acked.is_empty());
    // The workers cannot lease either (the upstream is down, so they keep
    // trying): counted for the store-errors alert.
    eventually(Duration::from_secs(20), "a counted store error", || {
        metric_value(&g.metrics(), "hookgate_queue_store_errors_total") > 0.0
    });
    // Room again: lift the limit of the running process.
    let pid = g.child.as_ref().unwrap().id().to_string();
    let lifted = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--fsize=unlimited:"])
        .status()
        .unwrap();
    assert!(lifted.success());
    // Without a restart, it queues again and delivers what it acknowledged.
    let i = 100_000;
    let again = eventually_answer(|| send(&g, &body(i)), 202);
    let id = again.json["delivery_id"].as_str().unwrap().to_string();
    acked.insert(id, (body(i), again.request_id));
    let up = Upstream::on(port, Behaviour::default());
    all_arrive(|| up.received(), &acked, Duration::from_secs(60));
    let logs = g.logs();
    assert!(
        logs.contains("\"message\":\"queue file I/O error (disk full?): new deliveries are refused with 503 until it is reopened\""),
        "the I/O error is logged"
    );
    assert!(
        logs.contains(
            "\"message\":\"queue file reopened after an I/O error; deliveries are accepted again\""
        ),
        "the recovery is logged"
    );
}
