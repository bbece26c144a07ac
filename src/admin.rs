//! The admin listener: `/metrics`, `/healthz`, `/readyz`.
//!
//! Served by its own pingora service on its own address so it can be bound
//! to loopback or a private interface, away from the public webhook port.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::reload::Reloader;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use std::sync::Arc;

/// The admin HTTP app.
pub struct Admin {
    /// Live config (readiness looks at it).
    pub config: Arc<ArcSwap<Config>>,
    /// Metrics to render.
    pub metrics: Arc<Metrics>,
    /// Reload trigger for `POST /reload`.
    pub reloader: Arc<Reloader>,
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut resp = Response::new(body);
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let len = resp.body().len();
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}

impl Admin {
    /// Ready when a config is loaded and every route has at least one upstream address.
    fn readiness(&self) -> (bool, String) {
        let cfg = self.config.load();
        let empty: Vec<&str> = cfg
            .routes
            .iter()
            .filter(|r| r.upstream.count == 0)
            .map(|r| r.name.as_str())
            .collect();
        if empty.is_empty() {
            (true, format!("ready: {} routes\n", cfg.routes.len()))
        } else {
            (
                false,
                format!(
                    "not ready: routes without upstreams: {}\n",
                    empty.join(", ")
                ),
            )
        }
    }
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_string();
        let method = session.req_header().method.clone();
        match path.as_str() {
            "/reload" if method == http::Method::POST => {
                let r = self.reloader.clone();
                match tokio::task::spawn_blocking(move || r.reload()).await {
                    Ok(Ok(generation)) => reply(
                        200,
                        "text/plain",
                        format!("reloaded: generation {generation}\n").into_bytes(),
                    ),
                    Ok(Err(e)) => reply(
                        422,
                        "text/plain",
                        format!("reload failed, running config unchanged:\n{e}\n").into_bytes(),
                    ),
                    Err(_) => reply(500, "text/plain", b"reload task failed\n".to_vec()),
                }
            }
            "/reload" => reply(405, "text/plain", b"use POST /reload\n".to_vec()),
            "/metrics" => reply(200, "text/plain; version=0.0.4", self.metrics.render()),
            "/healthz" => reply(200, "text/plain", b"ok\n".to_vec()),
            "/config" => {
                let cfg = self.config.load();
                let body = serde_json::json!({
                    "file": cfg.source.display().to_string(),
                    "generation": self.metrics.config_generation.get(),
                    "config": redacted(&cfg.source_text),
                    "effective": crate::check::summary(&cfg).lines().collect::<Vec<_>>(),
                });
                reply(200, "application/json", format!("{body:#}\n").into_bytes())
            }
            "/readyz" => {
                let (ok, msg) = self.readiness();
                reply(if ok { 200 } else { 503 }, "text/plain", msg.into_bytes())
            }
            _ => reply(
                404,
                "text/plain",
                b"not found: try /metrics /healthz /readyz /config, POST /reload\n".to_vec(),
            ),
        }
    }
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
