//! The admin surface: bearer token, browser cross-origin refusals, the CLI
//! sending the token, and `check` warning about an exposed admin listener.

use crate::harness::*;
use std::process::Command;

const TOKEN: &str = "7f3c9a1e5b2d48c6a0e1f2d3c4b5a697";
const ENV: (&str, &str) = ("HOOKGATE_TEST_ADMIN_TOKEN", TOKEN);

fn admin_request(
    gw: &Gateway,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut req = client().request(
        method.parse().unwrap(),
        format!("http://{}{path}", gw.admin),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().unwrap();
    let (status, h) = (r.status().as_u16(), r.headers().clone());
    (status, r.text().unwrap(), h)
}

fn refused(gw: &Gateway, reason: &str) -> f64 {
    gw.metric(&format!(
        "hookgate_admin_refused_total{{reason=\"{reason}\"}}"
    ))
}

#[test]
fn token_guards_config_and_reload_but_not_health() {
    let up = Upstream::start();
    let gw = Gateway::with_admin(
        "token = \"env:HOOKGATE_TEST_ADMIN_TOKEN\"",
        &route("r", "/r", up.addr, ""),
        &[ENV],
        &[],
    );
    let bearer = format!("Bearer {TOKEN}");
    for (method, path) in [("GET", "/config"), ("POST", "/reload")] {
        let (status, body, h) = admin_request(&gw, method, path, &[]);
        assert_eq!(
            (status, body.as_str()),
            (401, "{\"error\":\"unauthorized\"}\n"),
            "{path}"
        );
        assert_eq!(h["www-authenticate"], "Bearer");
        let wrong = format!("Bearer {}", TOKEN.replace('7', "8"));
        assert_eq!(
            admin_request(&gw, method, path, &[("authorization", &wrong)]).0,
            401
        );
    }
    assert_eq!(refused(&gw, "unauthorized"), 4.0);
    assert_eq!(
        gw.metric("hookgate_config_generation"),
        1.0,
        "no reload happened"
    );
    assert!(gw.logs().contains("admin request refused"), "{}", gw.logs());

    let (status, body, _) = admin_request(&gw, "GET", "/config", &[("authorization", &bearer)]);
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(TOKEN), "the token never appears in /config");
    let (status, body, _) = admin_request(&gw, "POST", "/reload", &[("authorization", &bearer)]);
    assert_eq!((status, body.as_str()), (200, "reloaded: generation 2\n"));
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(
            admin_request(&gw, "GET", path, &[]).0,
            200,
            "{path} stays open"
        );
    }

    // `hookgate reload` reads the token the same way the server does.
    let cli = |token: &str| {
        Command::new(bin())
            .args(["reload", "-c"])
            .arg(&gw.config)
            .env(ENV.0, token)
            .output()
            .unwrap()
    };
    let out = cli(TOKEN);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reloaded: generation 3\n"
    );
    let out = cli("not-the-running-instance-token");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused the reload"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn protect_metrics_puts_metrics_behind_the_token() {
    let up = Upstream::start();
    let gw = Gateway::with_admin(
        "token = \"file:admin-token\"\nprotect_metrics = true",
        &route("r", "/r", up.addr, ""),
        &[],
        &[("admin-token", &format!("{TOKEN}\n"))],
    );
    assert_eq!(admin_request(&gw, "GET", "/metrics", &[]).0, 401);
    let (status, body, _) = admin_request(
        &gw,
        "GET",
        "/metrics",
        &[("authorization", &format!("Bearer {TOKEN}"))],
    );
    assert_eq!(status, 200);
    assert_eq!(
        metric_value(
            &body,
            "hookgate_admin_refused_total{reason=\"unauthorized\"}"
        ),
        1.0
    );
    assert_eq!(admin_request(&gw, "GET", "/healthz", &[]).0, 200);
    assert_eq!(admin_request(&gw, "GET", "/readyz", &[]).0, 200);
}

/// What a web page can make a browser send to http://127.0.0.1:<admin>:
/// a form or `fetch` POST with a "simple" content type, with its own Origin,
/// or through DNS rebinding. None of it reloads or reads the config.
#[test]
fn browser_style_cross_origin_requests_are_refused() {
    let up = Upstream::start();
    let gw = Gateway::start(&route("r", "/r", up.addr, ""));
    let here = format!("http://{}", gw.admin);
    let rebound = format!("evil.example:{}", gw.admin.port());
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: [Case; 6] = [
        ("POST", "/reload", vec![("content-type", "text/plain")], 415),
        (
            "POST",
            "/reload",
            vec![("content-type", "application/x-www-form-urlencoded")],
            415,
        ),
        (
            "POST",
            "/reload",
            vec![("origin", "http://evil.example")],
            403,
        ),
        (
            "POST",
            "/reload",
            vec![("sec-fetch-site", "cross-site")],
            403,
        ),
        (
            "GET",
            "/config",
            vec![("origin", "http://evil.example")],
            403,
        ),
        (
            "POST",
            "/reload",
            vec![
                ("host", &rebound),
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "same-origin"),
            ],
            403,
        ),
    ];
    for (method, path, headers, want) in &cases {
        let (status, body, _) = admin_request(&gw, method, path, headers);
        assert_eq!(status, *want, "{method} {path} {headers:?}: {body}");
    }
    assert_eq!(
        gw.metric("hookgate_config_generation"),
        1.0,
        "nothing reloaded"
    );
    assert_eq!(refused(&gw, "unsupported_content_type"), 2.0);
    assert_eq!(refused(&gw, "cross_origin"), 4.0);
    // Same-origin use and non-browser clients still work.
    let (status, _, _) = admin_request(&gw, "POST", "/reload", &[("origin", &here)]);
    assert_eq!(status, 200);
    let (status, _, _) = admin_request(
        &gw,
        "POST",
        "/reload",
        &[("content-type", "application/json")],
    );
    assert_eq!(status, 200);
    assert_eq!(gw.metric("hookgate_config_generation"), 3.0);
}

#[test]
fn check_warns_about_an_admin_listener_beyond_loopback_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_config(
        dir.path(),
        "127.0.0.1:1".parse().unwrap(),
        "0.0.0.0:2".parse().unwrap(),
        "",
        "",
    ) + &route("r", "/r", "127.0.0.1:3000".parse().unwrap(), "");
    let check = |text: &str| {
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        let out = Command::new(bin())
            .args(["check", "-c"])
            .arg(&p)
            .env(ENV.0, ENV.1)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let warning = "warning: [admin] listens on 0.0.0.0:2 without a token";
    assert!(check(&base).contains(warning), "{}", check(&base));
    let with_token = base.replace(
        "listen = \"0.0.0.0:2\"\n",
        "listen = \"0.0.0.0:2\"\ntoken = \"env:HOOKGATE_TEST_ADMIN_TOKEN\"\n",
    );
    let out = check(&with_token);
    assert!(!out.contains(warning), "{out}");
    assert!(
        out.contains("token required for /config, /reload and /queue/*"),
        "{out}"
    );
    let loopback = base.replace("0.0.0.0:2", "127.0.0.1:2");
    assert!(!check(&loopback).contains("without a token"));
}
