//! The admin listener: `/metrics`, `/healthz`, `/readyz`, `/config`,
//! `POST /reload`, and the queue's operator actions under `/queue/`
//! (`GET stats|list|show`, `POST retry|purge`; see [`crate::queue::ops`]).
//!
//! Served by its own pingora service on its own address so it can be bound
//! to loopback or a private interface, away from the public webhook port.
//!
//! Access control, in order:
//! `/config`, `/reload` and `/queue/*` are the sensitive paths.
//!
//! 1. Browser-style requests to sensitive paths are refused (403
//!    `cross_origin`): a `Sec-Fetch-Site` other than `same-origin`/`none`, an
//!    `Origin` that is not this address, or a browser request whose `Host` is
//!    a DNS name (DNS rebinding: a page on `evil.example` resolved to
//!    127.0.0.1 is "same origin" to the browser).
//! 2. A `POST` with a body type a browser may send cross-origin without
//!    asking (`text/plain`, forms) is refused (415 `unsupported_content_type`).
//! 3. With `[admin] token`, the sensitive paths (and `/metrics` with
//!    `protect_metrics`) need `Authorization: Bearer <token>` (401
//!    `unauthorized`); the comparison is constant-time.
//!
//! `/healthz` and `/readyz` stay open: orchestrator probes call them, and
//! they reveal only whether hookgate serves.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::queue::ops::{self, Action};
use crate::queue::QueueStore;
use crate::reload::Reloader;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use http::{header, HeaderMap, Method, Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use prometheus::{IntCounterVec, Opts};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The admin HTTP app.
pub struct Admin {
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
    reloader: Arc<Reloader>,
    /// The public listeners this process was started with, by name.
    listeners: Vec<(String, SocketAddr)>,
    /// The durable-delivery store, when `[queue]` was set at start.
    queue: Option<Arc<dyn QueueStore>>,
    /// Refused admin requests by reason.
    refused: IntCounterVec,
}

/// Why an admin request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// No or wrong bearer token.
    Unauthorized,
    /// A browser request from another origin, or through DNS rebinding.
    CrossOrigin,
    /// A body type browsers send cross-origin without a preflight.
    UnsupportedContentType,
}

impl Refusal {
    const ALL: [Refusal; 3] = [
        Refusal::Unauthorized,
        Refusal::CrossOrigin,
        Refusal::UnsupportedContentType,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::CrossOrigin => "cross_origin",
            Refusal::UnsupportedContentType => "unsupported_content_type",
        }
    }

    fn status(self) -> u16 {
        match self {
            Refusal::Unauthorized => 401,
            Refusal::CrossOrigin => 403,
            Refusal::UnsupportedContentType => 415,
        }
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    let len = resp.body().len();
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}

fn text(status: u16, body: impl Into<String>) -> Response<Vec<u8>> {
    reply(status, "text/plain", body.into().into_bytes())
}

impl Admin {
    /// The admin app over the live config; `listeners` are the public
    /// listeners this process serves, which `/readyz` checks are listening;
    /// `queue` is the store `/queue/*` operates on.
    pub fn new(
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        reloader: Arc<Reloader>,
        listeners: Vec<(String, SocketAddr)>,
        queue: Option<Arc<dyn QueueStore>>,
    ) -> Result<Self, prometheus::Error> {
        let refused = IntCounterVec::new(
            Opts::new(
                "hookgate_admin_refused_total",
                "Admin requests refused, by reason (unauthorized, cross_origin, unsupported_content_type).",
            ),
            &["reason"],
        )?;
        metrics.registry().register(Box::new(refused.clone()))?;
        for r in Refusal::ALL {
            refused.with_label_values(&[r.label()]);
        }
        Ok(Admin {
            config,
            metrics,
            reloader,
            listeners,
            queue,
            refused,
        })
    }

    /// Ready when every route has an upstream address and every listener is
    /// listening (a listener whose bind failed leaves the rest running).
    fn readiness(&self) -> (bool, String) {
        let cfg = self.config.load();
        let mut problems = Vec::new();
        let empty: Vec<&str> = cfg
            .routes
            .iter()
            .filter(|r| r.upstream.count == 0)
            .map(|r| r.name.as_str())
            .collect();
        if !empty.is_empty() {
            problems.push(format!("routes without upstreams: {}", empty.join(", ")));
        }
        let addrs: Vec<SocketAddr> = self.listeners.iter().map(|(_, a)| *a).collect();
        match crate::sockets::not_listening(&addrs) {
            Ok(down) if down.is_empty() => {}
            Ok(down) => {
                let names: Vec<String> = self
                    .listeners
                    .iter()
                    .filter(|(_, a)| down.contains(a))
                    .map(|(n, a)| format!("{n} ({a})"))
                    .collect();
                problems.push(format!("listeners not listening: {}", names.join(", ")));
            }
            Err(e) => problems.push(format!("cannot check the listeners: {e}")),
        }
        if problems.is_empty() {
            (
                true,
                format!(
                    "ready: {} routes, {} listeners\n",
                    cfg.routes.len(),
                    self.listeners.len()
                ),
            )
        } else {
            (false, format!("not ready: {}\n", problems.join("; ")))
        }
    }

    /// Apply the access rules for `path`; `Err` is the refusal to answer with.
    fn authorize(&self, path: &str, method: &Method, h: &HeaderMap) -> Result<(), Refusal> {
        let cfg = self.config.load();
        let sensitive = matches!(path, "/config" | "/reload") || path.starts_with("/queue/");
        if sensitive && browser_cross_origin(h) {
            return Err(Refusal::CrossOrigin);
        }
        if sensitive && method == Method::POST && simple_content_type(h) {
            return Err(Refusal::UnsupportedContentType);
        }
        let needs_token = sensitive || (path == "/metrics" && cfg.admin.protect_metrics);
        match &cfg.admin.token {
            Some(token) if needs_token && !bearer_matches(h, token.expose()) => {
                Err(Refusal::Unauthorized)
            }
            _ => Ok(()),
        }
    }

    fn refuse(&self, r: Refusal, path: &str, session: &ServerSession) -> Response<Vec<u8>> {
        self.refused.with_label_values(&[r.label()]).inc();
        let peer = session
            .client_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::warn!(target: "hookgate::admin", reason = r.label(), path, peer, "admin request refused");
        let body = format!("{{\"error\":\"{}\"}}\n", r.label());
        let mut resp = reply(r.status(), "application/json", body.into_bytes());
        if r == Refusal::Unauthorized {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }

    async fn reload(&self) -> Response<Vec<u8>> {
        let r = self.reloader.clone();
        // Loading resolves upstream names and reads files: off the async workers.
        match tokio::task::spawn_blocking(move || r.reload()).await {
            Ok(Ok(generation)) => text(200, format!("reloaded: generation {generation}\n")),
            Ok(Err(e)) => text(
                422,
                format!("reload failed, running config unchanged:\n{e}\n"),
            ),
            Err(_) => text(500, "reload task failed\n"),
        }
    }

    /// `/queue/<action>?...`: the CLI's queue commands, on this instance's
    /// store (whose embedded file only this process can open).
    async fn queue(&self, name: &str, query: &str, method: &Method) -> Response<Vec<u8>> {
        let Some(store) = &self.queue else {
            return text(404, format!("{}\n", ops::OpsError::NoQueue));
        };
        let (action, format) = match Action::from_target(name, query) {
            Ok(a) => a,
            Err(e) => return text(e.status(), format!("{e}\n")),
        };
        let wanted = if action.writes() {
            Method::POST
        } else {
            Method::GET
        };
        if *method != wanted {
            return text(405, format!("use {wanted} /queue/{name}\n"));
        }
        let cfg = self.config.load_full();
        match ops::execute(store.as_ref(), &cfg, &action, format).await {
            Ok(body) if format == ops::Format::Json => {
                reply(200, "application/json", body.into_bytes())
            }
            Ok(body) => text(200, body),
            Err(e) => text(e.status(), format!("{e}\n")),
        }
    }

    fn config_json(&self) -> Response<Vec<u8>> {
        let cfg = self.config.load();
        let body = serde_json::json!({
            "file": cfg.source.display().to_string(),
            "generation": self.metrics.config_generation.get(),
            "config": redacted(&cfg.source_text),
            "effective": crate::check::summary(&cfg).lines().collect::<Vec<_>>(),
        });
        reply(200, "application/json", format!("{body:#}\n").into_bytes())
    }
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_string();
        let method = session.req_header().method.clone();
        if let Err(r) = self.authorize(&path, &method, &session.req_header().headers) {
            return self.refuse(r, &path, session);
        }
        match path.as_str() {
            "/reload" if method == Method::POST => self.reload().await,
            "/reload" => text(405, "use POST /reload\n"),
            "/metrics" => reply(200, "text/plain; version=0.0.4", self.metrics.render()),
            "/healthz" => text(200, "ok\n"),
            "/config" => self.config_json(),
            "/readyz" => {
                let (ok, msg) = self.readiness();
                text(if ok { 200 } else { 503 }, msg)
            }
            p if p.starts_with("/queue/") => {
                let query = session.req_header().uri.query().unwrap_or("").to_string();
                self.queue(&p["/queue/".len()..], &query, &method).await
            }
            _ => text(
                404,
                "not found: try /metrics /healthz /readyz /config, POST /reload, /queue/stats\n",
            ),
        }
    }
}

/// Does `Authorization: Bearer <token>` carry `want`? Compared as SHA-256
/// digests in constant time, so neither the content nor the length leaks.
fn bearer_matches(h: &HeaderMap, want: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let given = h
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case(b"bearer "))
                .map(|_| &v[7..])
        })
        .unwrap_or_default();
    let ok: bool = Sha256::digest(given).ct_eq(&Sha256::digest(want)).into();
    ok && !given.is_empty()
}

/// Is this a browser request that must not reach `/config` or `/reload`?
fn browser_cross_origin(h: &HeaderMap) -> bool {
    let value = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = value("sec-fetch-site");
    if fetch_site.is_some_and(|s| !matches!(s, "same-origin" | "none")) {
        return true;
    }
    let origin = value("origin");
    if origin.is_none() && fetch_site.is_none() {
        return false; // not a browser: curl, hookgate reload, Prometheus
    }
    let host = value("host").unwrap_or_default();
    if let Some(o) = origin {
        if !o.eq_ignore_ascii_case(&format!("http://{host}")) {
            return true;
        }
    }
    // A browser that believes it talks to a DNS name: DNS rebinding.
    !host_is_literal_or_localhost(host)
}

fn host_is_literal_or_localhost(host: &str) -> bool {
    let name = match host.parse::<SocketAddr>() {
        Ok(_) => return true,
        Err(_) => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok()
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
}

/// Content types a browser sends cross-origin without a CORS preflight.
fn simple_content_type(h: &HeaderMap) -> bool {
    let Some(ct) = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
    ) || essence.is_empty()
}

/// The config file as JSON with every secret value replaced. `env:`/`file:`
/// references name where a secret lives, not the secret, so they stay; inline
/// literals and credentials in URLs do not.
pub fn redacted(text: &str) -> serde_json::Value {
    fn scrub(v: &mut toml::Value, in_secrets: bool) {
        match v {
            toml::Value::String(s)
                if in_secrets && !(s.starts_with("env:") || s.starts_with("file:")) =>
            {
                *s = "<redacted>".to_string();
            }
            toml::Value::String(s) if s.contains("://") && s.contains('@') => {
                *s = crate::check::redact_url(s);
            }
            toml::Value::Array(a) => a.iter_mut().for_each(|x| scrub(x, in_secrets)),
            toml::Value::Table(t) => {
                for (k, x) in t.iter_mut() {
                    let secret_field = k == "secrets"
                        || k == "token"
                        || (in_secrets
                            && !matches!(k.as_str(), "id" | "valid_from" | "valid_until"));
                    scrub(x, secret_field);
                }
            }
            _ => {}
        }
    }
    match toml::from_str::<toml::Value>(text) {
        Ok(mut v) => {
            scrub(&mut v, false);
            serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
        }
        Err(_) => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn bearer_token_must_match_exactly() {
        let t = b"0123456789abcdef0123";
        assert!(bearer_matches(
            &headers(&[("authorization", "Bearer 0123456789abcdef0123")]),
            t
        ));
        assert!(bearer_matches(
            &headers(&[("authorization", "bearer 0123456789abcdef0123")]),
            t
        ));
        for bad in [
            "Bearer 0123456789abcdef012",
            "Bearer ",
            "Basic 0123456789abcdef0123",
            "0123456789abcdef0123",
        ] {
            assert!(
                !bearer_matches(&headers(&[("authorization", bad)]), t),
                "{bad}"
            );
        }
        assert!(!bearer_matches(&HeaderMap::new(), t));
    }

    #[test]
    fn browser_requests_from_elsewhere_are_recognised() {
        let host = ("host", "127.0.0.1:9901");
        assert!(!browser_cross_origin(&headers(&[host])), "curl");
        assert!(!browser_cross_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:9901")
        ])));
        assert!(browser_cross_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(browser_cross_origin(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(browser_cross_origin(&headers(&[host, ("origin", "null")])));
        // DNS rebinding: same origin to the browser, but a DNS name.
        assert!(browser_cross_origin(&headers(&[
            ("host", "evil.example:9901"),
            ("origin", "http://evil.example:9901"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!browser_cross_origin(&headers(&[
            ("host", "localhost:9901"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!browser_cross_origin(&headers(&[
            ("host", "[::1]:9901"),
            ("origin", "http://[::1]:9901"),
        ])));
    }

    #[test]
    fn simple_content_types() {
        for ct in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "Multipart/Form-Data; boundary=x",
        ] {
            assert!(
                simple_content_type(&headers(&[("content-type", ct)])),
                "{ct}"
            );
        }
        assert!(!simple_content_type(&headers(&[(
            "content-type",
            "application/json"
        )])));
        assert!(!simple_content_type(&HeaderMap::new()));
    }
}
