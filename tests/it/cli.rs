//! The command line: `check`, `--version`, and refusing bad config.

use crate::harness::*;
use std::process::Command;

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("c.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn good(dir: &std::path::Path) -> String {
    base_config(
        dir,
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        "",
        "",
    ) + &route(
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
    let text = base_config(
        dir.path(),
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        "",
        "",
    ) + &route(
        "slack",
        "/slack",
        "127.0.0.1:3000".parse().unwrap(),
        "[route.verify]\nscheme = \"slack\"\nsecrets = [\"plain-text-secret\"]\ntolerance = \"2h\"\n[route.replay]\nkey = \"header:X-Slack-Retry-Num\"\nttl = \"5h\"",
    );
    let p = write(dir.path(), &text);
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
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

/// The shipped demo config stays valid (the per-preset example: `providers::all_presets_example_passes_check`).
#[test]
fn shipped_configs_pass_check() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(bin())
        .args(["check", "-c"])
        .arg(repo.join("conf/hookgate.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
