//! Starts that must fail loudly or report honestly: a second gateway on ports
//! in use, a listener that is not listening, a Redis without persistence.

use crate::harness::*;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run `hookgate run -c config` and wait (bounded) for it to exit.
fn run_expecting_exit(
    config: &std::path::Path,
    within: Duration,
) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(["run", "-c"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a second hookgate was still running after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (code, err, started.elapsed())
}

#[test]
fn a_second_gateway_on_ports_in_use_exits_at_once_naming_the_listener() {
    let up = Upstream::start();
    let first = Gateway::start(&route("r", "/r", up.addr, ""));
    let text = std::fs::read_to_string(&first.config).unwrap();

    // Its own admin port, the first one's public port.
    let dir = tempfile::tempdir().unwrap();
    let second = dir.path().join("second.toml");
    let admin2 = format!("127.0.0.1:{}", free_port());
    std::fs::write(&second, text.replace(&first.admin.to_string(), &admin2)).unwrap();
    let (code, err, took) = run_expecting_exit(&second, Duration::from_secs(20));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "listener \"public\" cannot listen on {}: address in use",
            first.addr
        )),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} (pingora alone retries for 30 s)"
    );

    // The very same config: the admin address is the first one taken.
    let (code, err, _) = run_expecting_exit(&first.config, Duration::from_secs(10));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("[admin] listen cannot listen on"), "{err}");
    assert!(err.contains("address in use"), "{err}");

    // The first gateway is untouched.
    let r = client().post(first.url("/r")).body("x").send().unwrap();
    assert_eq!(r.status(), 200);
}

/// A listener that pingora could not bind leaves the rest of the process
/// running: `/readyz` must say so. Reproduced with an upgrade (sockets are
/// inherited, so no bind check runs) to a config whose new listener's port
/// another program holds.
#[test]
fn readyz_is_503_while_a_listener_is_not_listening() {
    let up = Upstream::start();
    let mut old = Gateway::start(&route("r", "/r", up.addr, ""));
    let (status, body) = get(&format!("http://{}/readyz", old.admin)).unwrap();
    assert_eq!(
        (status, body.as_str()),
        (200, "ready: 1 routes, 1 listeners\n")
    );

    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken: SocketAddr = squatter.local_addr().unwrap();
    let mut text = std::fs::read_to_string(&old.config).unwrap();
    text.push_str(&format!(
        "\n[[listener]]\nname = \"extra\"\nlisten = \"{taken}\"\n"
    ));
    std::fs::write(&old.config, text).unwrap();
    let mut new = Command::new(bin())
        .args(["run", "--upgrade", "-c"])
        .arg(&old.config)
        .stdout(std::fs::File::create(old.dir.path().join("new.log")).unwrap())
        .stderr(std::fs::File::create(old.dir.path().join("new.err")).unwrap())
        .spawn()
        .unwrap();
    let sock = old.dir.path().join("upgrade.sock");
    eventually(
        Duration::from_secs(20),
        "the new process's upgrade socket",
        || sock.exists(),
    );
    old.signal("QUIT");
    old.wait_exit(Duration::from_secs(20));
    let readyz = format!("http://{}/readyz", old.admin);
    let mut last = None;
    eventually(
        Duration::from_secs(15),
        "readyz to report the dead listener",
        || {
            last = get(&readyz);
            last.as_ref().is_some_and(|(s, _)| *s == 503)
        },
    );
    let (_, body) = last.unwrap();
    assert_eq!(
        body,
        format!("not ready: listeners not listening: extra ({taken})\n"),
    );
    let _ = new.kill();
    let _ = new.wait();
    drop(squatter);
}

#[test]
fn start_up_warns_when_the_redis_store_does_not_persist() {
    let up = Upstream::start();
    let redis = RedisServer::start();
    let store = format!(
        "[replay]\nstore = \"redis\"\nredis_url = \"{}\"\n\n",
        redis.url()
    );
    let gw = Gateway::start(&(store + &route("r", "/r", up.addr, "")));
    let warning = format!("Redis at {} runs with appendonly no", redis.url());
    assert!(gw.logs().contains(&warning), "{}", gw.logs());

    let persistent = RedisServer::start_persistent();
    let store = format!(
        "[replay]\nstore = \"redis\"\nredis_url = \"{}\"\n\n",
        persistent.url()
    );
    let gw = Gateway::start(&(store + &route("r", "/r", up.addr, "")));
    assert!(gw.logs().contains("replay store ready"), "{}", gw.logs());
    assert!(!gw.logs().contains("appendonly"), "{}", gw.logs());
}
