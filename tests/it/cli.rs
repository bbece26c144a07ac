//! The command line: `check`, `--version`, and refusing bad config.

use crate::harness::*;
use std::process::Command;

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("c.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Admin and listener on ports nothing binds: `check` never opens them.
fn unbound(dir: &std::path::Path) -> String {
    base_config(
        dir,
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        "",
        "",
    )
}

fn good(dir: &std::path::Path) -> String {
    unbound(dir)
        + &route(
            "github",
            "/hooks/github",
            "127.0.0.1:3000".parse().unwrap(),
            "max_body_bytes = \"5MiB\"",
        )
}

#[test]
fn check_prints_a_summary_of_routes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), &good(dir.path()));
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("is valid"), "{text}");
    assert!(
        text.contains("route github: /hooks/github -> 127.0.0.1:3000 (max body 5MiB"),
        "{text}"
    );
    assert!(
        text.contains("listener public: http://127.0.0.1:1"),
        "{text}"
    );
    assert!(
        text.contains("warning: route \"github\" forwards requests without any authentication"),
        "{text}"
    );
}

#[test]
fn check_warns_about_inline_secrets_and_wide_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let text = unbound(dir.path()) + &route(
        "slack",
        "/slack",
        "127.0.0.1:3000".parse().unwrap(),
        "[route.verify]\nscheme = \"slack\"\nsecrets = [\"plain-text-secret\"]\ntolerance = \"2h\"\n[route.replay]\nkey = \"header:X-Slack-Retry-Num\"\nttl = \"5h\"",
    );
    let (code, text, _) = check(&write(dir.path(), &text));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("warning: route \"slack\" has a secret written inline"),
        "{text}"
    );
    assert!(
        text.contains("warning: route \"slack\" accepts timestamps more than 1 hour off"),
        "{text}"
    );
    assert!(
        text.contains("checks: verify slack (1 secret, tolerance 2h)"),
        "{text}"
    );
    assert!(
        text.contains("replay key header x-slack-retry-num is not covered by the signature"),
        "{text}"
    );
    assert!(
        !text.contains("plain-text-secret"),
        "check never prints a secret"
    );
}

/// An open catch-all next to a signed route on the same upstream takes
/// `/hooks/payments.json` and `/hooks/paymentsX` (not the signed route's
/// paths, segment by segment), which nginx's `location /hooks/payments` or
/// Rails serve from the payments handler: `check` says so, naming both.
#[test]
fn check_warns_when_an_open_route_takes_paths_next_to_a_signed_one() {
    let dir = tempfile::tempdir().unwrap();
    let up: std::net::SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let other: std::net::SocketAddr = "127.0.0.1:3001".parse().unwrap();
    let text = unbound(dir.path())
        + &route(
            "payments",
            "/hooks/payments",
            up,
            "[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]",
        )
        + &route("elsewhere", "/hooks/other", other, "")
        + &route("catch-all", "/", up, "");
    let (code, text, _) = check(&write(dir.path(), &text));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("warning: route \"catch-all\" (unauthenticated) takes paths next to route \"payments\" on the same upstream, such as /hooks/payments.json"),
        "{text}"
    );
    // An open route on another upstream, or one that covers no signed prefix, is no such risk.
    assert!(
        !text.contains("route \"elsewhere\" (unauthenticated) takes"),
        "{text}"
    );
}

#[test]
fn check_reports_file_key_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = good(dir.path()).replace("\"127.0.0.1:3000\"", "\"localhost\"");
    let line = text
        .lines()
        .position(|l| l.contains("\"localhost\""))
        .unwrap()
        + 1;
    let p = write(dir.path(), &text);
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim(),
        format!(
            "{}: route \"github\".upstreams: invalid address \"localhost\": expected host:port, e.g. \"127.0.0.1:3000\" (line {line})",
            p.display()
        )
    );
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = good(dir.path()).replace("max_body_bytes", "upstream = \"x\"\nmax_body_bytes");
    let line = text
        .lines()
        .position(|l| l.starts_with("upstream = "))
        .unwrap()
        + 1;
    let p = write(dir.path(), &text);
    let out = Command::new(bin())
        .args(["run", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(78),
        "run refuses bad config with EX_CONFIG"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("route \"github\".upstream: unknown field `upstream`"),
        "{err}"
    );
    assert!(err.trim_end().ends_with(&format!("(line {line})")), "{err}");
}

#[test]
fn version_flag() {
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("hookgate {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The shipped demo config stays valid, with the certificates `make run`
/// generates next to it (check opens them). The per-preset example is
/// `providers::all_presets_example_passes_check`.
#[test]
fn shipped_configs_pass_check() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = tempfile::tempdir().unwrap();
    std::fs::create_dir(demo.path().join("conf")).unwrap();
    for f in ["hookgate.toml", "demo-secret.txt"] {
        std::fs::copy(repo.join("conf").join(f), demo.path().join("conf").join(f)).unwrap();
    }
    hookgate::certs::generate_dev(&demo.path().join("certs")).unwrap();
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(demo.path().join("conf/hookgate.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `check` with `env` set; (exit code, stdout, stderr).
fn check(p: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(p)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// Values that used to pass `check` and then panic every request (or `check`
/// itself, exit 101) are refused at load with key, line and range.
#[test]
fn absurd_durations_are_refused_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let verified = "[route.verify]\nscheme = \"stripe\"\nsecrets = [\"s\"]\n";
    for (key, text) in [
        (
            "limits.request_timeout",
            good(dir.path()).replace(
                "request_timeout = \"5s\"",
                "request_timeout = \"300000000000y\"",
            ),
        ),
        (
            "replay.reservation_ttl",
            good(dir.path()) + "\n[replay]\nreservation_ttl = \"300000000000y\"\n",
        ),
        (
            "route \"github\".verify.tolerance",
            good(dir.path()).replace("allow_unauthenticated = true\n", "")
                + verified
                + "tolerance = \"300000000000y\"\n",
        ),
        (
            "route \"github\".replay.ttl",
            good(dir.path()).replace("allow_unauthenticated = true\n", "")
                + verified
                + "[route.replay]\nttl = \"300000000000y\"\n",
        ),
    ] {
        let p = write(dir.path(), &text);
        let (code, _, err) = check(&p);
        assert_eq!(code, Some(1), "{key}: {err}");
        let line = line_of(&text, "300000000000y");
        assert!(
            err.starts_with(&format!("{}: {key}: ", p.display()))
                && err.contains("is out of range: use ")
                && err.trim_end().ends_with(&format!("(line {line})")),
            "{key}: {err}"
        );
    }
}

#[test]
fn check_opens_every_tls_file_and_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    hookgate::certs::generate_dev(dir.path()).unwrap();
    let listener = |cert: &str, ca: &str| {
        format!("[[listener]]\nname = \"tls\"\nlisten = \"127.0.0.1:3\"\ntls = {{ cert = \"{cert}\", key = \"server.key\", client_ca = \"{ca}\", client_auth = \"optional\" }}\n\n")
    };
    let ok = good(dir.path()) + &listener("server.pem", "ca.pem");
    let (code, out, err) = check(&write(dir.path(), &ok));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("listener tls: https://127.0.0.1:3 (client certificates optional)"),
        "{out}"
    );
    for (text, key, file) in [
        (
            good(dir.path()) + &listener("nowhere.pem", "ca.pem"),
            "cert",
            "nowhere.pem",
        ),
        (
            good(dir.path()) + &listener("server.pem", "no-ca.pem"),
            "client_ca",
            "no-ca.pem",
        ),
    ] {
        let p = write(dir.path(), &text);
        let (code, _, err) = check(&p);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "{}: listener \"tls\".tls.{key}: {}: No such file or directory (os error 2) (line {})",
                p.display(),
                dir.path().join(file).display(),
                line_of(&text, "tls = {")
            )
        );
    }
}

#[test]
fn listeners_on_the_admin_address_or_on_each_other_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, collides) in [
        ("127.0.0.1:2", "[admin] listen (127.0.0.1:2)"),
        ("0.0.0.0:1", "listener \"public\" (127.0.0.1:1)"),
        ("[::]:1", "listener \"public\" (127.0.0.1:1)"),
    ] {
        let text =
            good(dir.path()) + &format!("[[listener]]\nname = \"second\"\nlisten = \"{extra}\"\n");
        let p = write(dir.path(), &text);
        let (code, _, err) = check(&p);
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "listener \"second\".listen: {} collides with {collides}",
                extra.parse::<std::net::SocketAddr>().unwrap()
            )),
            "{err}"
        );
    }
}

#[test]
fn check_warns_when_the_redis_store_does_not_persist() {
    let dir = tempfile::tempdir().unwrap();
    let with = |url: &str| {
        let text =
            good(dir.path()) + &format!("\n[replay]\nstore = \"redis\"\nredis_url = \"{url}\"\n");
        check(&write(dir.path(), &text))
    };
    let volatile = RedisServer::start();
    let (code, out, _) = with(&volatile.url());
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            "warning: Redis at {} runs with appendonly no",
            volatile.url()
        )),
        "{out}"
    );
    let durable = RedisServer::start_persistent();
    let (_, out, _) = with(&durable.url());
    assert!(!out.contains("appendonly"), "{out}");
    // Unreachable: check says it could not tell (start-up asks again).
    let (code, out, _) = with(&format!("redis://127.0.0.1:{}/0", free_port()));
    assert_eq!(code, Some(0));
    assert!(out.contains("cannot ask Redis at"), "{out}");
}
