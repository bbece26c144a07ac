//! `hookgate check`: a readable summary of what a config will do.

use crate::config::Config;
use std::fmt::Write;

/// Summarise listeners and routes, one line each, for ops to eyeball.
pub fn summary(cfg: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config {} is valid", cfg.source.display());
    let _ = writeln!(
        out,
        "admin: http://{}  (/metrics /healthz /readyz /config, POST /reload, /queue/*){}",
        cfg.admin.listen,
        match (&cfg.admin.token, cfg.admin.protect_metrics) {
            (None, _) => "",
            (Some(_), false) => ", token required for /config, /reload and /queue/*",
            (Some(_), true) => ", token required for /config, /reload, /queue/* and /metrics",
        }
    );
    if let Some(q) = &cfg.queue {
        let _ = writeln!(out, "queue store: {}", q.describe());
    }
    let _ = writeln!(
        out,
        "replay store: {}",
        match &cfg.replay.store {
            crate::replay::config::StoreKind::Memory {
                max_keys,
                persist_path,
            } => format!(
                "memory (max {max_keys} keys{})",
                persist_path
                    .as_ref()
                    .map(|p| format!(", persisted to {}", p.display()))
                    .unwrap_or_default()
            ),
            crate::replay::config::StoreKind::Redis { url, .. } =>
                format!("redis {}", redact_url(url)),
        }
    );
    for l in &cfg.listeners {
        let (proto, note) = match l.tls.as_ref().map(|t| t.paths.client_auth()) {
            None => ("http", ""),
            Some(crate::tls::ClientAuth::Off) => ("https", ""),
            Some(crate::tls::ClientAuth::Optional) => ("https", " (client certificates optional)"),
            Some(crate::tls::ClientAuth::Required) => ("https", " (client certificates required)"),
        };
        let _ = writeln!(out, "listener {}: {proto}://{}{note}", l.name, l.addr);
        if l.proxy_protocol {
            let _ = writeln!(
                out,
                "  PROXY protocol header required, from configured proxies"
            );
        } else if !l.trusted_proxies.0.is_empty() {
            let _ = writeln!(out, "  X-Forwarded-For trusted from configured proxies");
        }
    }
    for w in warnings(cfg) {
        let _ = writeln!(out, "warning: {w}");
    }
    for r in &cfg.routes {
        let host = r
            .host
            .as_deref()
            .map(|h| format!(" host={h}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "route {}: {}{} -> {} (max body {}, connect {:?}, read {:?})",
            r.name,
            r.path_prefix,
            host,
            r.upstream.display.join(", "),
            crate::config::units::ByteSize(r.max_body_bytes),
            r.upstream.connect_timeout,
            r.upstream.read_timeout,
        );
        let auth = match &r.verifier {
            Some(v) => format!(
                "verify {} ({} secret{}, {})",
                v.scheme_name(),
                v.key_count(),
                if v.key_count() == 1 { "" } else { "s" },
                v.tolerance().map_or(
                    "no timestamp: relies on replay store".to_string(),
                    |t| format!("tolerance {}", humantime::format_duration(t))
                )
            ),
            None if r.requires_client_cert() => "client certificate".to_string(),
            None => "NO AUTHENTICATION".to_string(),
        };
        let replay = match &r.replay {
            Some(p) => format!(
                "replay key {}, kept {}, duplicates {}",
                match &p.key {
                    crate::replay::KeySource::Header(h) => format!(
                        "header {}{}",
                        names(h),
                        match &r.verifier {
                            Some(v) if !h.iter().all(|n| v.signs_header(n.as_str())) =>
                                " (not covered by the signature)",
                            _ => "",
                        }
                    ),
                    crate::replay::KeySource::SignatureDigest => "signature digest".to_string(),
                },
                humantime::format_duration(p.retain),
                match p.on_duplicate {
                    crate::replay::OnDuplicate::Ack => "acknowledged",
                    crate::replay::OnDuplicate::Reject => "rejected",
                }
            ),
            None => "no replay protection".to_string(),
        };
        let _ = writeln!(out, "  checks: {auth}; {replay}");
        let _ = writeln!(out, "  delivery: {}", delivery(cfg, r));
        if let Some(h) = r.verifier.as_ref().and_then(|v| v.handshake()) {
            let _ = writeln!(out, "  handshake: {}", h.describe());
        }
    }
    out
}

/// How a route delivers: directly, or queued with its store, budget and
/// retry policy.
fn delivery(cfg: &Config, r: &crate::config::Route) -> String {
    match (r.delivery.queued(), &cfg.queue) {
        (None, _) => "direct (the sender waits for the upstream's answer)".to_string(),
        (Some(p), Some(q)) => format!("{}; store {}", p.describe(), q.describe()),
        // Validation refuses queue mode without [queue].
        (Some(p), None) => p.describe(),
    }
}

/// Settings that work but that an operator should look at twice.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut w = Vec::new();
    if cfg.admin.token.is_none() && !cfg.admin.listen.ip().is_loopback() {
        w.push(format!(
            "[admin] listens on {} without a token: anyone who reaches it can read /config, POST /reload and operate the queue (/queue/*); set [admin] token = \"env:NAME\" or listen on 127.0.0.1",
            cfg.admin.listen
        ));
    }
    if let Some(crate::queue::QueueSettings {
        store:
            crate::queue::StoreSettings::Redis {
                allow_volatile: true,
                ..
            },
        ..
    }) = &cfg.queue
    {
        w.push("[queue] allow_volatile = true: hookgate runs on a Redis without appendonly, and a Redis restart loses deliveries it already acknowledged".to_string());
    }
    if cfg.replay.fail_open {
        w.push("replay.fail_open = true: while the replay store is unreachable, replayed deliveries are forwarded".to_string());
    }
    for l in &cfg.listeners {
        if l.ip.allow.is_everything() {
            w.push(format!(
                "listener {:?} allow_ips admits every address (0.0.0.0/0 or ::/0)",
                l.name
            ));
        }
    }
    w.extend(open_neighbours(cfg));
    for r in &cfg.routes {
        let cert_auth = r.requires_client_cert();
        if r.ip.allow.is_everything() {
            w.push(format!(
                "route {:?} allow_ips admits every address (0.0.0.0/0 or ::/0)",
                r.name
            ));
        }
        if cert_auth
            && !cfg.listeners.iter().any(|l| {
                l.tls
                    .as_ref()
                    .is_some_and(|t| t.paths.client_auth() != crate::tls::ClientAuth::Off)
            })
        {
            w.push(format!("route {:?} requires a client certificate but no listener asks for one (client_auth)", r.name));
        }
        match &r.verifier {
            None if cert_auth => {}
            None => w.push(format!("route {:?} forwards requests without any authentication (allow_unauthenticated = true)", r.name)),
            Some(v) => {
                if !v.covers_body() && !cfg.listeners.iter().all(|l| l.tls.is_some()) {
                    w.push(format!(
                        "route {:?}: {} authenticates the sender but does not sign the body; serve it over TLS only",
                        r.name,
                        v.scheme_name()
                    ));
                }
                if let Some(crate::replay::RouteReplay { key: crate::replay::KeySource::Header(h), .. }) = &r.replay {
                    if !h.iter().all(|n| v.signs_header(n.as_str())) {
                        w.push(format!(
                            "route {:?}: replay key header {} is not covered by the signature: a replayer who changes it gets the delivery forwarded again",
                            r.name,
                            names(h)
                        ));
                    }
                }
                if r.replay.is_none() && v.tolerance().is_none() {
                    w.push(format!(
                        "route {:?}: no replay protection and no timestamp: {} (set [route.replay] key = \"header:NAME\" if the provider sends a delivery id)",
                        r.name,
                        v.provider().map_or("generic signs nothing unique per delivery", |p| p.replay.why())
                    ));
                }
                if v.secrets_inline() {
                    w.push(format!("route {:?} has a secret written inline in the file: prefer env:NAME or file:/path", r.name));
                }
                if v.tolerance().is_some_and(|t| t > std::time::Duration::from_secs(3600)) {
                    w.push(format!("route {:?} accepts timestamps more than 1 hour off: captured requests stay replayable that long", r.name));
                }
            }
        }
    }
    w
}

/// Unauthenticated routes that take the paths next to an authenticated
/// route's prefix on the same upstream.
///
/// hookgate matches prefixes segment by segment, so `/hooks/payments.json`
/// or `/hooks/paymentsX` is not the signed `/hooks/payments` and goes to an
/// open catch-all; an upstream that matches by plain prefix (nginx's
/// `location /hooks/payments`) or strips extensions (Rails) serves it from
/// the payments handler, unsigned. hookgate cannot know how the upstream
/// routes, so `check` says where this can happen.
fn open_neighbours(cfg: &Config) -> Vec<String> {
    let authenticated = |r: &crate::config::Route| r.verifier.is_some() || r.requires_client_cert();
    let mut w = Vec::new();
    for open in cfg.routes.iter().filter(|r| !authenticated(r)) {
        for signed in cfg.routes.iter().filter(|r| authenticated(r)) {
            let covers = open.host.is_none() || open.host == signed.host;
            let shared = open
                .upstream
                .display
                .iter()
                .any(|a| signed.upstream.display.contains(a));
            if covers
                && shared
                && crate::config::runtime::path_matches(&open.path_prefix, &signed.path_prefix)
            {
                w.push(format!(
                    "route {:?} (unauthenticated) takes paths next to route {:?} on the same upstream, such as {p}.json or {p}x: make the upstream route {p} exactly (nginx: location = {p}, or a prefix ending in /) so it never serves them from {:?}'s handler",
                    open.name, signed.name, signed.name, p = signed.path_prefix.trim_end_matches('/'),
                ));
            }
        }
    }
    w
}

/// `a|b` for a list of header alternatives.
fn names(h: &[http::HeaderName]) -> String {
    h.iter().map(|n| n.as_str()).collect::<Vec<_>>().join("|")
}

/// A Redis URL without its password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://<redacted>@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Ask a Redis replay store whether it persists its keys (`appendonly yes`).
/// Without persistence a Redis restart forgets every delivery it remembered,
/// reopening the replay window: captured requests could be replayed. `None`
/// when the store is not Redis or Redis says yes; otherwise the warning.
pub fn redis_persistence(cfg: &Config) -> Option<String> {
    let crate::replay::StoreKind::Redis {
        url,
        connect_timeout,
        command_timeout,
        ..
    } = &cfg.replay.store
    else {
        return None;
    };
    let shown = redact_url(url);
    match appendonly(url, *connect_timeout, *command_timeout) {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "Redis at {shown} runs with appendonly no: a Redis restart forgets every delivery and reopens the replay window; set appendonly yes"
        )),
        Err(e) => Some(format!(
            "cannot ask Redis at {shown} whether it persists (CONFIG GET appendonly): {e}; make sure it runs with appendonly yes"
        )),
    }
}

/// `CONFIG GET appendonly` over a short-lived connection, bounded by the store's timeouts.
fn appendonly(
    url: &str,
    connect: std::time::Duration,
    command: std::time::Duration,
) -> Result<bool, redis::RedisError> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection_with_timeout(connect)?;
    con.set_read_timeout(Some(command))?;
    con.set_write_timeout(Some(command))?;
    let reply: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut con)?;
    Ok(reply.get(1).is_some_and(|v| v == "yes"))
}
