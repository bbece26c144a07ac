//! Loading whole files: every section, every error with key and line.

use super::*;
use std::time::Duration;

const BASE: &str = r#"
[admin]
listen = "127.0.0.1:9901"

[[listener]]
name = "public"
listen = "127.0.0.1:8080"

[[route]]
name = "github"
path_prefix = "/hooks/github"
upstreams = ["127.0.0.1:3000", "http://127.0.0.1:3001"]
max_body_bytes = "5MiB"
allow_unauthenticated = true
"#;

fn errs(src: &str) -> Vec<String> {
    match parse(Path::new("conf/x.toml"), src) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn base_parses() {
    let cfg = parse(Path::new("x.toml"), BASE).unwrap();
    assert_eq!(cfg.routes.len(), 1);
    assert_eq!(cfg.routes[0].max_body_bytes, 5 << 20);
    assert_eq!(cfg.routes[0].upstream.count, 2);
    assert_eq!(cfg.limits.max_headers, 100);
}

#[test]
fn invalid_upstream_names_file_key_and_line() {
    let src = BASE.replace("\"127.0.0.1:3000\", ", "\"localhost\", ");
    let e = errs(&src);
    assert_eq!(
        e,
        vec!["conf/x.toml: route \"github\".upstreams: invalid address \"localhost\": expected host:port, e.g. \"127.0.0.1:3000\" (line 12)"]
    );
}

#[test]
fn unknown_key_is_an_error_with_line() {
    let src = BASE.replace("max_body_bytes", "upstream = 1\nmax_body_bytes");
    let e = errs(&src);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("conf/x.toml: route \"github\".upstream: unknown field `upstream`"),
        "{}",
        e[0]
    );
    assert!(e[0].ends_with("(line 13)"), "{}", e[0]);
}

#[test]
fn unauthenticated_route_is_an_error_unless_allowed() {
    let e = errs(&BASE.replace("allow_unauthenticated = true\n", ""));
    assert_eq!(e, vec!["conf/x.toml: route \"github\": no authentication: add a [route.verify] table or a required client_cert, or allow_unauthenticated = true to forward anything (line 10)"]);
}

#[test]
fn verify_errors_carry_route_key_and_line() {
    let src = BASE.replace(
        "allow_unauthenticated = true\n",
        "[route.verify]\nscheme = \"github\"\nsecrets = [\"env:HOOKGATE_UNSET_FOR_TEST\"]\n",
    );
    let e = errs(&src);
    assert_eq!(e, vec!["conf/x.toml: route \"github\".verify.secrets[0]: environment variable HOOKGATE_UNSET_FOR_TEST is not set (line 16)"]);
}

#[test]
fn all_errors_are_reported() {
    let src = BASE
        .replace("/hooks/github", "hooks")
        .replace("127.0.0.1:8080", "nowhere");
    let e = errs(&src);
    assert_eq!(e.len(), 2, "{e:?}");
}

#[test]
fn proxy_protocol_needs_trusted_proxies() {
    let src = BASE.replace(
        "listen = \"127.0.0.1:8080\"\n",
        "listen = \"127.0.0.1:8080\"\nproxy_protocol = true\n",
    );
    assert_eq!(
        errs(&src),
        vec!["conf/x.toml: listener \"public\".proxy_protocol: needs trusted_proxies: the load balancers allowed to send the header (anyone else could claim any address) (line 8)"]
    );
    let ok = parse(
        Path::new("x.toml"),
        &src.replace(
            "proxy_protocol = true\n",
            "proxy_protocol = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        ),
    )
    .unwrap();
    assert!(ok.listeners[0].proxy_protocol);
}

#[test]
fn empty_upstream_sni_is_refused() {
    let src = BASE
        .replace(
            "[\"127.0.0.1:3000\", \"http://127.0.0.1:3001\"]",
            "[\"https://10.0.0.5:8443\"]",
        )
        .replace(
            "allow_unauthenticated = true\n",
            "allow_unauthenticated = true\nupstream_tls = { sni = \"\" }\n",
        );
    let e = errs(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("route \"github\".upstream_tls")
            && e[0].contains("would switch off certificate verification"),
        "{}",
        e[0]
    );
    // Without sni the upstream's host (an IP here) is sent and checked.
    let ok = parse(
        Path::new("x.toml"),
        &src.replace("upstream_tls = { sni = \"\" }\n", ""),
    )
    .unwrap();
    let tls = ok.routes[0].upstream.tls.as_ref().unwrap();
    assert_eq!(tls.sni, "10.0.0.5");
}

#[test]
fn bad_size_is_reported() {
    let e = errs(&BASE.replace("5MiB", "5 parsecs"));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("conf/x.toml: route \"github\".max_body_bytes: invalid size")
            && e[0].ends_with("(line 13)"),
        "{}",
        e[0]
    );
}

/// The one error for `src`, asserted to name `key` at `line`; returns its message.
fn one_error(src: &str, key: &str, line: usize) -> String {
    let e = match parse_with(Path::new("conf/x.toml"), src, Resolve::NumericOnly) {
        Ok(_) => panic!("accepted:\n{src}"),
        Err(e) => e.0,
    };
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].key.as_str(), e[0].line),
        (key, Some(line)),
        "{}",
        e[0]
    );
    e[0].message.clone()
}

/// Line of the last occurrence of `needle`.
fn line_of(src: &str, needle: &str) -> usize {
    src[..src.rfind(needle).unwrap()].matches('\n').count() + 1
}

fn with_limits(lines: &str) -> String {
    format!("{BASE}\n[limits]\n{lines}\n")
}

#[test]
fn absurd_durations_are_refused_with_key_line_and_range() {
    for (key, table, range) in [
        (
            "limits.request_timeout",
            "[limits]\nrequest_timeout",
            "100ms to 1h",
        ),
        (
            "limits.header_timeout",
            "[limits]\nheader_timeout",
            "100ms to 10m",
        ),
        (
            "replay.reservation_ttl",
            "[replay]\nreservation_ttl",
            "1s to 1d",
        ),
        (
            "server.shutdown_timeout",
            "[server]\nshutdown_timeout",
            "1s to 1h",
        ),
    ] {
        let src = format!("{BASE}\n{table} = \"300000000000y\"\n");
        let msg = one_error(&src, key, line_of(&src, "300000000000y"));
        assert!(
            msg.ends_with(&format!("is out of range: use {range}")),
            "{key}: {msg}"
        );
    }
    let src = BASE.replace(
        "allow_unauthenticated = true\n",
        "[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]\ntolerance = \"300000000000y\"\n[route.replay]\nttl = \"300000000000y\"\n",
    );
    let e: Vec<String> = errs(&src);
    assert_eq!(e.len(), 1, "tolerance fails first: {e:?}");
    assert!(
        e[0].contains("route \"github\".verify.tolerance: ")
            && e[0].contains("use 1s to 7d")
            && e[0].ends_with(&format!("(line {})", line_of(&src, "tolerance"))),
        "{}",
        e[0]
    );
    let src = src.replace("tolerance = \"300000000000y\"\n", "");
    let msg = one_error(&src, "route \"github\".replay.ttl", line_of(&src, "ttl ="));
    assert!(msg.ends_with("use 1s to 365d"), "{msg}");
}

#[test]
fn zero_replay_ttl_is_refused() {
    let src = format!("{BASE}[route.replay]\nkey = \"header:x-id\"\nttl = \"0s\"\n");
    let msg = one_error(&src, "route \"github\".replay.ttl", line_of(&src, "ttl ="));
    assert_eq!(msg, "0s is out of range: use 1s to 365d");
}

#[test]
fn sizes_and_counts_are_bounded() {
    let src = with_limits("max_header_bytes = \"2MiB\"");
    assert_eq!(
        one_error(
            &src,
            "limits.max_header_bytes",
            line_of(&src, "max_header_bytes")
        ),
        "2MiB is out of range: use 1KiB to 1MiB"
    );
    let src = with_limits("max_headers = 0");
    assert_eq!(
        one_error(&src, "limits.max_headers", line_of(&src, "max_headers")),
        "0 is out of range: use 1 to 10000"
    );
    let src = with_limits("max_buffered_bytes = \"2MiB\"");
    let msg = one_error(
        &src,
        "route \"github\".max_body_bytes",
        line_of(&src, "max_body_bytes"),
    );
    assert!(
        msg.contains("more than [limits] max_buffered_bytes (2MiB)"),
        "{msg}"
    );
    let src = BASE.replace("5MiB", "0");
    assert!(
        one_error(&src, "route \"github\".max_body_bytes", 13).starts_with("0B is out of range")
    );
}

#[test]
fn reservation_ttl_must_outlive_the_forward() {
    let src = BASE.replace(
        "allow_unauthenticated = true\n",
        "read_timeout = \"90s\"\n[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]\n",
    ) + "\n[replay]\nreservation_ttl = \"60s\"\n";
    let msg = one_error(
        &src,
        "replay.reservation_ttl",
        line_of(&src, "reservation_ttl"),
    );
    assert!(
        msg.starts_with(
            "1m is shorter than route \"github\"'s connect_timeout + read_timeout (95s)"
        ) && msg.contains("forwarded as well"),
        "{msg}"
    );
    // The default (60s) is checked too, at the route's timeout.
    let src = src.replace("[replay]\nreservation_ttl = \"60s\"\n", "");
    let msg = one_error(
        &src,
        "route \"github\".read_timeout",
        line_of(&src, "read_timeout"),
    );
    assert!(
        msg.contains("longer than [replay] reservation_ttl (default 1m)"),
        "{msg}"
    );
    // Routes without replay protection are not concerned.
    assert!(parse(
        Path::new("x.toml"),
        &BASE.replace("max_body", "read_timeout = \"90s\"\nmax_body")
    )
    .is_ok());
}

#[test]
fn colliding_listeners_and_the_admin_address_are_refused() {
    let second =
        |listen: &str| format!("{BASE}\n[[listener]]\nname = \"second\"\nlisten = \"{listen}\"\n");
    for listen in ["127.0.0.1:8080", "0.0.0.0:8080", "[::]:8080"] {
        let src = second(listen);
        let msg = one_error(&src, "listener \"second\".listen", line_of(&src, listen));
        assert!(
            msg.contains("collides with listener \"public\" (127.0.0.1:8080)"),
            "{msg}"
        );
    }
    assert!(parse(Path::new("x.toml"), &second("127.0.0.1:8081")).is_ok());
    let src = second("127.0.0.1:9901");
    let msg = one_error(
        &src,
        "listener \"second\".listen",
        line_of(&src, "127.0.0.1:9901\"\n"),
    );
    assert!(
        msg.contains("collides with [admin] listen (127.0.0.1:9901)"),
        "{msg}"
    );
    let src = BASE.replace("127.0.0.1:8080", "0.0.0.0:9901");
    assert!(one_error(&src, "listener \"public\".listen", 7).contains("[admin] listen"));
}

#[test]
fn closed_sets_are_enums_and_type_errors_name_the_key() {
    let src = format!("{BASE}\n[replay]\nstore = \"postgres\"\n");
    let msg = one_error(&src, "replay.store", line_of(&src, "postgres"));
    assert!(
        msg.contains("unknown variant `postgres`, expected `memory` or `redis`"),
        "{msg}"
    );
    let src = format!("{BASE}[route.replay]\non_duplicate = \"ignore\"\n");
    one_error(
        &src,
        "route \"github\".replay.on_duplicate",
        line_of(&src, "ignore"),
    );
    let src = format!("{BASE}[route.replay]\nkey = \"cookie:x\"\n");
    let msg = one_error(&src, "route \"github\".replay.key", line_of(&src, "cookie"));
    assert!(
        msg.contains("use \"header:NAME\", \"signature\" or \"none\""),
        "{msg}"
    );
    let src = BASE.replace(
        "listen = \"127.0.0.1:8080\"\n",
        "listen = \"127.0.0.1:8080\"\ntls = { cert = \"c.pem\", key = \"k.pem\", client_auth = \"maybe\" }\n",
    );
    one_error(
        &src,
        "listener \"public\".tls.client_auth",
        line_of(&src, "maybe"),
    );
    let src = with_limits("max_headers = \"many\"");
    one_error(&src, "limits.max_headers", line_of(&src, "many"));
}

#[test]
fn replay_store_errors_have_lines() {
    let src = format!("{BASE}\n[replay]\nredis_url = \"redis://127.0.0.1:6379\"\n");
    assert_eq!(
        one_error(&src, "replay.redis_url", line_of(&src, "redis_url")),
        "set store = \"redis\" to use Redis"
    );
    let src = format!("{BASE}\n[replay]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nmax_keys = 5\n");
    one_error(&src, "replay.store", line_of(&src, "max_keys"));
    let src = format!("{BASE}\n[replay]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\ncommand_timeout = \"2m\"\n");
    one_error(
        &src,
        "replay.command_timeout",
        line_of(&src, "command_timeout"),
    );
}

#[test]
fn route_replay_defaults_follow_the_scheme() {
    use crate::replay::{KeySource, OnDuplicate};
    let verified = |scheme: &str, secret: &str, replay: &str| {
        let src = BASE.replace(
            "allow_unauthenticated = true\n",
            &format!("[route.verify]\nscheme = \"{scheme}\"\nsecrets = [\"{secret}\"]\n{replay}"),
        );
        parse(Path::new("x.toml"), &src).unwrap().routes[0]
            .replay
            .clone()
    };
    // A signed delivery id is the key; retention covers the timestamp window.
    let p = verified(
        "standard-webhooks",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "",
    )
    .unwrap();
    assert_eq!(
        p.key,
        KeySource::Header(vec![http::HeaderName::from_static("webhook-id")])
    );
    assert_eq!(p.retain, Duration::from_secs(660));
    // Signed bytes unique per delivery, no delivery id: the signature
    // digest; no timestamp: 72h.
    let p = verified("coinbase", "s", "").unwrap();
    assert_eq!(
        (p.key, p.retain, p.on_duplicate),
        (
            KeySource::SignatureDigest,
            Duration::from_secs(72 * 3600),
            OnDuplicate::Ack
        )
    );
    // A delivery id the signature does not cover, when that is all there is.
    assert_eq!(
        verified("github", "s", "").unwrap().key,
        KeySource::Header(vec![http::HeaderName::from_static("x-github-delivery")])
    );
    assert_eq!(
        verified("github", "s", "[route.replay]\nkey = \"none\"\n"),
        None
    );
    // Unauthenticated routes have nothing to key on unless told.
    assert_eq!(
        parse(Path::new("x.toml"), BASE).unwrap().routes[0].replay,
        None
    );
    let src = BASE.replace(
        "allow_unauthenticated = true\n",
        "[route.verify]\nscheme = \"stripe\"\nsecrets = [\"s\"]\n[route.replay]\nttl = \"10s\"\n",
    );
    let msg = one_error(&src, "route \"github\".replay.ttl", line_of(&src, "ttl ="));
    assert!(
        msg.starts_with("must cover twice the timestamp tolerance plus skew (11m)"),
        "{msg}"
    );
}

/// D1: a shared token or Basic credential is the same on every delivery, so
/// it is never the replay key: not by default, and `key = "signature"` is
/// refused with its key and line.
#[test]
fn token_and_basic_schemes_never_key_on_the_credential() {
    use crate::replay::KeySource;
    for (scheme, secret) in [
        ("gitlab", "t"),
        ("okta", "t"),
        ("basic-auth", "u:p"),
        ("postmark", "u:p"),
    ] {
        let verify = format!("[route.verify]\nscheme = \"{scheme}\"\nsecrets = [\"{secret}\"]\n");
        let src = BASE.replace("allow_unauthenticated = true\n", &verify);
        let replay = parse(Path::new("x.toml"), &src).unwrap().routes[0]
            .replay
            .clone();
        assert!(
            replay.is_none_or(|p| p.key != KeySource::SignatureDigest),
            "{scheme}"
        );
        let src = format!("{src}[route.replay]\nkey = \"signature\"\n");
        let msg = one_error(
            &src,
            "route \"github\".replay.key",
            line_of(&src, "key = \"signature\""),
        );
        assert!(
            msg.contains("every delivery after the first"),
            "{scheme}: {msg}"
        );
    }
}

/// The `[route.verify]` keys handshakes and fetched certificates need are
/// checked at load like every other key: the error names the key and its
/// line, or the `scheme` line when a required one is missing.
#[test]
fn handshake_and_certificate_keys_are_refused_with_key_and_line() {
    let verify = |table: &str| BASE.replace("allow_unauthenticated = true\n", table);
    for (table, key, at) in [
        (
            "[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]\ntopic_arns = [\"arn:aws:sns:x\"]\n",
            "topic_arns",
            "topic_arns",
        ),
        (
            "[route.verify]\nscheme = \"amazon-sns\"\n",
            "topic_arns",
            "amazon-sns",
        ),
        (
            "[route.verify]\nscheme = \"paypal\"\n",
            "webhook_id",
            "paypal",
        ),
        (
            "[route.verify]\nscheme = \"github\"\nsecrets = [\"s\"]\njwks_file = \"keys.json\"\n",
            "jwks_file",
            "jwks_file",
        ),
        (
            "[route.verify]\nscheme = \"meta\"\nsecrets = [\"s\"]\n",
            "verify_token",
            "meta",
        ),
    ] {
        let src = verify(table);
        let msg = one_error(
            &src,
            &format!("route \"github\".verify.{key}"),
            line_of(&src, at),
        );
        assert!(!msg.is_empty(), "{table}");
    }
    // A value of the wrong type names its key, never its value.
    let src = verify("[route.verify]\nscheme = \"asana\"\nstate_dir = 7\n");
    one_error(
        &src,
        "route \"github\".verify.state_dir",
        line_of(&src, "state_dir"),
    );
}

#[test]
fn tls_files_are_opened_at_load_and_errors_point_at_their_key() {
    let dir = tempfile::tempdir().unwrap();
    crate::certs::generate_dev(dir.path()).unwrap();
    let tls = |cert: &str, extra: &str| {
        BASE.replace(
            "listen = \"127.0.0.1:8080\"\n",
            &format!("listen = \"127.0.0.1:8080\"\ntls = {{ cert = \"{cert}\", key = \"server.key\"{extra} }}\n"),
        )
    };
    let file = dir.path().join("hookgate.toml");
    let load = |src: &str| parse_with(&file, src, Resolve::NumericOnly);
    let cfg = load(&tls(
        "server.pem",
        ", client_ca = \"ca.pem\", client_auth = \"required\", crls = [\"crl.pem\"]",
    ))
    .unwrap();
    let t = cfg.listeners[0].tls.as_ref().unwrap();
    assert_eq!(t.paths.client_auth(), crate::tls::ClientAuth::Required);
    assert!(t.not_after > std::time::SystemTime::now());

    let e = refused(load(&tls("missing.pem", "")));
    assert_eq!(
        (e[0].key.as_str(), e[0].line),
        ("listener \"public\".tls.cert", Some(8))
    );
    assert!(
        e[0].message
            .starts_with(&format!("{}: ", dir.path().join("missing.pem").display())),
        "{}",
        e[0]
    );
    // A directory where the CA should be: the directory is named, under client_ca.
    let e = refused(load(&tls(
        "server.pem",
        ", client_ca = \".\", client_auth = \"optional\"",
    )));
    assert_eq!(e[0].key, "listener \"public\".tls.client_ca");
    assert!(e[0].message.ends_with("not a regular file"), "{}", e[0]);
    // A key that belongs to another certificate.
    let e = refused(load(&tls("sender-a.pem", "")));
    assert_eq!(e[0].key, "listener \"public\".tls.key");
    assert!(
        e[0].message.contains("does not match the certificate"),
        "{}",
        e[0]
    );
    let e = refused(load(&tls("server.pem", ", client_auth = \"optional\"")));
    assert_eq!(e[0].key, "listener \"public\".tls.client_ca");
    std::fs::write(
        dir.path().join("bad-crl.pem"),
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    let e = refused(load(&tls("server.pem", ", client_ca = \"ca.pem\", client_auth = \"optional\", crls = [\"crl.pem\", \"bad-crl.pem\"]")));
    assert_eq!(e[0].key, "listener \"public\".tls.crls[1]", "{}", e[0]);
}

#[test]
fn admin_token_comes_from_env_or_file_and_is_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hookgate.toml");
    let admin = |extra: &str| {
        BASE.replace(
            "listen = \"127.0.0.1:9901\"\n",
            &format!("listen = \"127.0.0.1:9901\"\n{extra}\n"),
        )
    };
    std::fs::write(
        dir.path().join("token"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .unwrap();
    let cfg = parse(
        &file,
        &admin("token = \"file:token\"\nprotect_metrics = true"),
    )
    .unwrap();
    assert_eq!(
        cfg.admin.token.unwrap().expose(),
        b"0123456789abcdef0123456789abcdef"
    );
    assert!(cfg.admin.protect_metrics);
    let src = admin("token = \"hunter2hunter2hunter2\"");
    let msg = one_error(&src, "admin.token", 4);
    assert!(
        msg.starts_with("use \"env:NAME\" or \"file:path\""),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "the token is never echoed");
    std::fs::write(dir.path().join("short"), "abc").unwrap();
    let e = refused(parse(&file, &admin("token = \"file:short\"")));
    assert!(e[0].message.contains("at least 16 bytes"), "{}", e[0]);
    let msg = one_error(&admin("protect_metrics = true"), "admin.protect_metrics", 4);
    assert!(msg.starts_with("needs [admin] token"), "{msg}");
}

/// Requests are routed on their normalised path and host, so a route must
/// be written in that form: a prefix normalisation would change could never
/// match and is refused; a host is normalised the same way as `Host`.
#[test]
fn routes_are_written_in_the_form_requests_are_matched_in() {
    let line = line_of(BASE, "path_prefix");
    for (prefix, says) in [
        ("/hooks//github", "write \"/hooks/github\""),
        ("/hooks/./x/../github", "write \"/hooks/github\""),
        ("/hooks/%7egithub", "write \"/hooks/~github\""),
        ("/hooks/caf\u{e9}", "write \"/hooks/caf%C3%A9\""),
        ("/hooks/%3bx", "write \"/hooks/%3Bx\""),
        ("/hooks/a%2Fb", "encoded slash"),
        ("/hooks/a\\b", "backslash"),
        ("/hooks/..;/x", "dot segment with parameters"),
        ("/..", "above the root"),
        ("hooks", "must start with '/'"),
    ] {
        let src = BASE.replace("\"/hooks/github\"", &format!("{prefix:?}"));
        let msg = one_error(&src, "route \"github\".path_prefix", line);
        assert!(msg.contains(says), "{prefix}: {msg}");
    }
    for ok in [
        "/",
        "/hooks/",
        "/hooks/~github",
        "/hooks/a%3Bb",
        "/hooks/caf%C3%A9",
    ] {
        let src = BASE.replace("\"/hooks/github\"", &format!("{ok:?}"));
        assert!(parse(Path::new("x.toml"), &src).is_ok(), "{ok}");
    }

    let with_host = |h: &str| BASE.replace("path_prefix", &format!("host = {h:?}\npath_prefix"));
    let cfg = parse(Path::new("x.toml"), &with_host("Hooks.Example.COM.")).unwrap();
    assert_eq!(cfg.routes[0].host.as_deref(), Some("hooks.example.com"));
    assert!(cfg
        .route_for(Some("hooks.example.com"), "/hooks/github")
        .is_some());
    for bad in ["a.example:443", "a/b", "", "a..example", "[::1]:80"] {
        let src = with_host(bad);
        let msg = one_error(&src, "route \"github\".host", line_of(&src, "host ="));
        assert!(msg.contains("bare host name without port"), "{bad}: {msg}");
    }
}

#[test]
fn host_names_are_not_resolved_offline() {
    let src = BASE.replace("\"127.0.0.1:3000\", ", "\"upstream.example:3000\", ");
    let msg = one_error(&src, "route \"github\".upstreams", 12);
    assert!(msg.contains("host names are not resolved here"), "{msg}");
}

/// conf/hookgate.toml documents every range the code enforces.
#[test]
fn shipped_config_documents_every_range() {
    use super::defaults::*;
    let doc = include_str!("../../conf/hookgate.toml");
    let ranges = [
        ("threads", THREADS.describe()),
        ("shutdown_timeout", SHUTDOWN_TIMEOUT.describe()),
        ("max_body_bytes", MAX_BODY.describe()),
        ("max_header_bytes", MAX_HEADER_BYTES.describe()),
        ("max_headers", MAX_HEADERS.describe()),
        ("header_timeout", HEADER_TIMEOUT.describe()),
        ("request_timeout", REQUEST_TIMEOUT.describe()),
        ("read_timeout", READ_TIMEOUT.describe()),
        ("max_buffered_bytes", MAX_BUFFERED_BYTES.describe()),
        ("auth_failure_delay", AUTH_FAILURE_DELAY.describe()),
        ("max_connections", MAX_CONNECTIONS.describe()),
        ("connect_timeout", CONNECT_TIMEOUT.describe()),
        ("read_timeout", UPSTREAM_READ_TIMEOUT.describe()),
        ("upstream_idle_timeout", UPSTREAM_IDLE_TIMEOUT.describe()),
        ("tolerance", TOLERANCE.describe()),
        ("max_keys", MAX_KEYS.describe()),
        ("reservation_ttl", RESERVATION_TTL.describe()),
        ("connect_timeout", REDIS_TIMEOUT.describe()),
        ("command_timeout", REDIS_TIMEOUT.describe()),
        ("ttl", REPLAY_TTL.describe()),
        ("max_bytes", QUEUE_MAX_BYTES.describe()),
        ("claim_idle", CLAIM_IDLE.describe()),
        ("backoff_initial", BACKOFF.describe()),
        ("backoff_max", BACKOFF.describe()),
        ("max_attempts", MAX_ATTEMPTS.describe()),
        ("max_age", MAX_AGE.describe()),
        ("concurrency", CONCURRENCY.describe()),
    ];
    let lines: Vec<&str> = doc.lines().collect();
    // A key's documentation: its line and the comment lines continuing it.
    let entry = |i: usize| {
        let more = lines[i + 1..]
            .iter()
            .take_while(|l| l.starts_with("  ") && l.trim_start().starts_with('#'));
        std::iter::once(lines[i])
            .chain(more.copied())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (key, range) in ranges {
        let documented = (0..lines.len()).any(|i| {
            let t = lines[i].trim_start_matches(['#', ' ']);
            t.starts_with(&format!("{key} =")) && entry(i).contains(&format!("range {range}"))
        });
        assert!(
            documented,
            "conf/hookgate.toml: {key} should say `range {range}`"
        );
    }
}

/// BASE with the route in queue mode (`delivery` lines) and a `[queue]` table (`queue` lines).
fn queued(delivery: &str, queue: Option<&str>) -> String {
    let mut src = format!("{BASE}[route.delivery]\nmode = \"queue\"\n{delivery}\n");
    if let Some(q) = queue {
        src.push_str(&format!("[queue]\n{q}\n"));
    }
    src
}

#[test]
fn queue_mode_defaults_and_store_settings() {
    use crate::queue::{Delivery, DeliveryPolicy, StoreSettings};
    let cfg = parse(
        Path::new("/etc/hookgate/x.toml"),
        &queued("", Some("path = \"q.redb\"")),
    )
    .unwrap();
    assert_eq!(
        cfg.routes[0].delivery,
        Delivery::Queue(DeliveryPolicy::default())
    );
    let p = cfg.routes[0].delivery.queued().unwrap();
    assert_eq!(
        (
            p.ack_status.as_u16(),
            p.backoff_initial,
            p.backoff_max,
            p.max_attempts,
            p.max_age,
            p.concurrency
        ),
        (
            202,
            Duration::from_secs(1),
            Duration::from_secs(600),
            20,
            Duration::from_secs(72 * 3600),
            8
        )
    );
    let q = cfg.queue.unwrap();
    assert_eq!(
        q.store,
        StoreSettings::Embedded {
            path: "/etc/hookgate/q.redb".into()
        }
    );
    assert_eq!(
        (q.max_bytes, q.claim_idle),
        (1 << 30, Duration::from_secs(60))
    );

    let cfg = parse(
        Path::new("x.toml"),
        &queued(
            "ack_status = 200\nbackoff_initial = \"250ms\"\nmax_attempts = 3\nconcurrency = 2",
            Some("store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\nclaim_idle = \"30s\"\nallow_volatile = true"),
        ),
    )
    .unwrap();
    let p = cfg.routes[0].delivery.queued().unwrap();
    assert_eq!(
        (p.ack_status.as_u16(), p.max_attempts, p.concurrency),
        (200, 3, 2)
    );
    assert_eq!(p.backoff_initial, Duration::from_millis(250));
    let q = cfg.queue.unwrap();
    assert_eq!(q.claim_idle, Duration::from_secs(30));
    assert!(matches!(
        q.store,
        StoreSettings::Redis {
            allow_volatile: true,
            ..
        }
    ));
    // Without queue-mode routes the table is optional.
    assert!(parse(Path::new("x.toml"), BASE).unwrap().queue.is_none());
}

#[test]
fn queue_settings_are_refused_with_key_line_and_range() {
    let src = queued("", None);
    let m = one_error(
        &src,
        "route \"github\".delivery.mode",
        line_of(&src, "mode ="),
    );
    assert!(m.contains("needs a [queue] table"), "{m}");
    for (delivery, queue, key, needle, message) in [
        (
            "",
            "max_bytes = \"2GiB\"",
            "queue.path",
            "[queue]",
            "required with store = \"embedded\"",
        ),
        (
            "",
            "path = \"q\"\nmax_bytes = \"1KiB\"",
            "queue.max_bytes",
            "max_bytes",
            "1KiB is out of range: use 1MiB to 1024GiB",
        ),
        (
            "",
            "path = \"q\"\nallow_volatile = true",
            "queue.allow_volatile",
            "allow_volatile",
            "only for store = \"redis\"",
        ),
        (
            "",
            "store = \"redis\"",
            "queue.redis_url",
            "store =",
            "required with store = \"redis\"",
        ),
        (
            "",
            "store = \"redis\"\nredis_url = \"nope://x\"",
            "queue.redis_url",
            "redis_url",
            "invalid Redis URL",
        ),
        (
            "",
            "store = \"redis\"\nredis_url = \"redis://h\"\nclaim_idle = \"2h\"",
            "queue.claim_idle",
            "claim_idle",
            "2h is out of range: use 1s to 1h",
        ),
        (
            "backoff_max = \"300000000000y\"",
            "path = \"q\"",
            "route \"github\".delivery.backoff_max",
            "backoff_max",
            "is out of range: use 10ms to 1d",
        ),
        (
            "max_attempts = 0",
            "path = \"q\"",
            "route \"github\".delivery.max_attempts",
            "max_attempts",
            "0 is out of range: use 1 to 1000",
        ),
        (
            "concurrency = 100000",
            "path = \"q\"",
            "route \"github\".delivery.concurrency",
            "concurrency",
            "100000 is out of range: use 1 to 256",
        ),
        (
            "max_age = \"0s\"",
            "path = \"q\"",
            "route \"github\".delivery.max_age",
            "max_age",
            "0s is out of range: use 1s to 30d",
        ),
        (
            "backoff_initial = \"1ms\"",
            "path = \"q\"",
            "route \"github\".delivery.backoff_initial",
            "backoff_initial",
            "1ms is out of range",
        ),
        (
            "ack_status = 302",
            "path = \"q\"",
            "route \"github\".delivery.ack_status",
            "ack_status",
            "302 is not a 2xx status",
        ),
        (
            "backoff_initial = \"2m\"\nbackoff_max = \"1m\"",
            "path = \"q\"",
            "route \"github\".delivery.backoff_max",
            "backoff_max",
            "1m is shorter than backoff_initial (2m)",
        ),
    ] {
        let src = queued(delivery, Some(queue));
        let m = one_error(&src, key, line_of(&src, needle));
        assert!(m.contains(message), "{key}: {m}");
    }
    // Queue-only knobs on a direct route, and a mode that does not exist.
    let src = format!("{BASE}[route.delivery]\nmax_attempts = 3\n");
    let m = one_error(
        &src,
        "route \"github\".delivery.max_attempts",
        line_of(&src, "max_attempts"),
    );
    assert_eq!(m, "only for mode = \"queue\"");
    let e = errs(&format!("{BASE}[route.delivery]\nmode = \"later\"\n"));
    assert!(
        e[0].contains("delivery.mode") && e[0].contains("expected `direct` or `queue`"),
        "{e:?}"
    );
}

#[test]
fn presets_that_need_the_apps_answer_cannot_be_queued() {
    for (scheme, secret, extra) in [
        (
            "discord",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "",
        ),
        ("slack", "s3cr3t-s3cr3t-s3cr3t", ""),
        (
            "twilio",
            "s3cr3t-s3cr3t-s3cr3t",
            "public_url = \"https://hooks.example.com\"\n",
        ),
        ("microsoft-teams", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", ""),
    ] {
        let verify =
            format!("[route.verify]\nscheme = \"{scheme}\"\nsecrets = [\"{secret}\"]\n{extra}");
        let src = queued("", Some("path = \"q\""))
            .replace("allow_unauthenticated = true\n", "")
            .replace("[route.delivery]", &format!("{verify}[route.delivery]"));
        let m = one_error(
            &src,
            "route \"github\".delivery.mode",
            line_of(&src, "mode ="),
        );
        assert!(
            m.starts_with(&format!("scheme {scheme:?} cannot be queued: ")),
            "{m}"
        );
        // Direct mode stays available to them.
        let direct = src
            .replace("mode = \"queue\"", "mode = \"direct\"")
            .replace("[queue]\npath = \"q\"\n", "");
        assert!(errs(&direct).is_empty(), "{scheme}: {:?}", errs(&direct));
    }
    // The rule lives on the preset rows.
    let refused: Vec<&str> = crate::verify::providers::PROVIDERS
        .iter()
        .filter(|p| p.queueing != crate::verify::spec::Queueing::Allowed)
        .map(|p| p.name)
        .collect();
    assert_eq!(refused, ["slack", "twilio", "discord", "microsoft-teams"]);
}

#[test]
fn queue_mode_reservations_must_outlive_the_store_deadline() {
    let src = queued("", Some("path = \"q\"")) + "[replay]\nreservation_ttl = \"2s\"\n";
    let src = src.replace(
        "allow_unauthenticated = true\n",
        "allow_unauthenticated = true\n[route.replay]\nkey = \"header:x-id\"\n",
    );
    let m = one_error(
        &src,
        "replay.reservation_ttl",
        line_of(&src, "reservation_ttl"),
    );
    assert!(
        m.contains("shorter than the queue store's deadline (5s)"),
        "{m}"
    );
}

fn refused(r: Result<Config, ConfigErrors>) -> Vec<ConfigError> {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.0,
    }
}

#[test]
fn log_format_is_auto_unless_set_and_a_wrong_word_names_key_and_line() {
    use crate::logging::LogFormat;
    let cfg = parse(Path::new("x.toml"), BASE).unwrap();
    assert_eq!(cfg.log.format, LogFormat::Auto);
    for (word, want) in [
        ("auto", LogFormat::Auto),
        ("json", LogFormat::Json),
        ("text", LogFormat::Text),
    ] {
        let src = format!("{BASE}\n[log]\nformat = \"{word}\"\n");
        let cfg = parse(Path::new("x.toml"), &src).unwrap();
        assert_eq!(cfg.log.format, want);
    }
    let src = format!("{BASE}\n[log]\nformat = \"yaml\"\n");
    let msg = one_error(&src, "log.format", line_of(&src, "yaml"));
    assert!(
        msg.contains("unknown variant `yaml`, expected one of `auto`, `json`, `text`"),
        "{msg}"
    );
    let src = format!("{BASE}\n[log]\nlevel = \"debug\"\n");
    one_error(&src, "log.level", line_of(&src, "level"));
}
