//! Operator actions on the queue, shared by the CLI and the admin API:
//! each is a plain function over a store and the loaded config, returning
//! data plus text and JSON renderings.

use super::{
    headers, DeliveryId, DeliveryState, QueueError, QueueStore, QueuedDelivery, RetryTarget,
    StateFilter, Stats, Summary,
};
use crate::config::Config;
use http::HeaderName;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// Most deliveries one `list` returns.
pub const MAX_LIST: usize = 10_000;

/// Why an operator action failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The store refused or was unreachable.
    #[error(transparent)]
    Store(#[from] QueueError),
    /// No route of that name in the config.
    #[error("no route named {0:?} in the config")]
    UnknownRoute(String),
    /// No delivery with that id (or not a dead letter of that route).
    #[error("no {what} delivery {id}")]
    NotFound {
        /// The id asked for.
        id: DeliveryId,
        /// `dead` or empty.
        what: &'static str,
    },
    /// The config has no `[queue]` table.
    #[error("the config has no [queue] table: no route queues deliveries")]
    NoQueue,
}

fn known_route(cfg: &Config, route: &str) -> Result<(), OpsError> {
    if cfg.routes.iter().any(|r| r.name == route) {
        Ok(())
    } else {
        Err(OpsError::UnknownRoute(route.to_string()))
    }
}

/// The config's queue-mode route names.
pub fn queue_routes(cfg: &Config) -> Vec<String> {
    cfg.routes
        .iter()
        .filter(|r| r.delivery.queued().is_some())
        .map(|r| r.name.clone())
        .collect()
}

/// Depth of every queue-mode route (and any route still holding deliveries).
pub async fn stats(store: &dyn QueueStore, cfg: &Config) -> Result<Stats, OpsError> {
    Ok(store.stats(&queue_routes(cfg), SystemTime::now()).await?)
}

/// A route's deliveries in a state, oldest first.
pub async fn list(
    store: &dyn QueueStore,
    cfg: &Config,
    route: &str,
    state: StateFilter,
    limit: usize,
) -> Result<Vec<Summary>, OpsError> {
    known_route(cfg, route)?;
    Ok(store.list(route, state, limit.min(MAX_LIST)).await?)
}

/// One delivery.
pub async fn show(store: &dyn QueueStore, id: DeliveryId) -> Result<QueuedDelivery, OpsError> {
    store
        .show(id)
        .await?
        .ok_or(OpsError::NotFound { id, what: "" })
}

/// Move dead letters back to pending; returns how many moved.
pub async fn retry(
    store: &dyn QueueStore,
    cfg: &Config,
    route: &str,
    target: RetryTarget,
) -> Result<u64, OpsError> {
    known_route(cfg, route)?;
    let moved = store.retry_dead(route, target, SystemTime::now()).await?;
    match target {
        RetryTarget::One(id) if moved == 0 => Err(OpsError::NotFound { id, what: "dead" }),
        _ => Ok(moved),
    }
}

/// Delete dead letters given up more than `older_than` ago (all when `None`).
pub async fn purge(
    store: &dyn QueueStore,
    cfg: &Config,
    route: &str,
    older_than: Option<Duration>,
) -> Result<u64, OpsError> {
    known_route(cfg, route)?;
    let before = older_than.map(|d| {
        SystemTime::now()
            .checked_sub(d)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    });
    Ok(store.purge_dead(route, before).await?)
}

/// Headers of `route` whose values `show` must hide: its signature and
/// timestamp headers, learnt by asking its verifier to sign an empty body
/// (schemes that cannot sign, public-key ones, rely on the name fragments
/// of [`headers::is_secret`]).
pub fn secret_headers(cfg: &Config, route: &str) -> Vec<HeaderName> {
    let Some(v) = cfg
        .routes
        .iter()
        .find(|r| r.name == route)
        .and_then(|r| r.verifier.as_ref())
    else {
        return Vec::new();
    };
    let parts = crate::verify::RequestParts {
        method: "POST",
        path_and_query: "/",
        headers: &http::HeaderMap::new(),
    };
    v.sign(&parts, b"", SystemTime::now())
        .map(|hs| {
            hs.into_iter()
                .filter_map(|(n, _)| HeaderName::from_bytes(n.as_bytes()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn state_text(s: &DeliveryState) -> String {
    match s {
        DeliveryState::Pending { due } => format!("pending (next attempt {})", time(*due)),
        DeliveryState::Dead { reason, at } => format!("dead since {} ({reason})", time(*at)),
    }
}

fn age(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// `queue stats` as text.
pub fn stats_text(s: &Stats) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "store: {} of {} bytes used ({:.1}%)",
        s.bytes,
        s.max_bytes,
        s.bytes as f64 * 100.0 / s.max_bytes.max(1) as f64
    );
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>16}",
        "ROUTE", "PENDING", "DEAD", "OLDEST PENDING"
    );
    for (route, r) in &s.routes {
        let _ = writeln!(
            out,
            "{route:<24} {:>10} {:>10} {:>16}",
            r.pending,
            r.dead,
            age(r.oldest_pending)
        );
    }
    out
}

/// `queue stats` as JSON.
pub fn stats_json(s: &Stats) -> Value {
    json!({
        "bytes": s.bytes,
        "max_bytes": s.max_bytes,
        "routes": s.routes.iter().map(|(name, r)| json!({
            "route": name,
            "pending": r.pending,
            "dead": r.dead,
            "oldest_pending_seconds": r.oldest_pending.as_secs_f64(),
        })).collect::<Vec<_>>(),
    })
}

/// `queue list` as text: one line per delivery.
pub fn list_text(items: &[Summary]) -> String {
    let mut out = String::new();
    for s in items {
        let _ = write!(
            out,
            "{}  {}  attempts {}  {} bytes  {}",
            s.id,
            time(s.received),
            s.attempts,
            s.body_len,
            state_text(&s.state)
        );
        if let Some(e) = &s.last_error {
            let _ = write!(out, "  last error: {e}");
        }
        out.push('\n');
    }
    out
}

fn state_json(s: &DeliveryState) -> Value {
    match s {
        DeliveryState::Pending { due } => json!({"state": "pending", "due": time(*due)}),
        DeliveryState::Dead { reason, at } => {
            json!({"state": "dead", "reason": reason, "dead_at": time(*at)})
        }
    }
}

/// `queue list` as JSON.
pub fn list_json(items: &[Summary]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|s| {
                let mut v = json!({
                    "delivery_id": s.id.to_string(),
                    "route": s.route,
                    "received": time(s.received),
                    "attempts": s.attempts,
                    "body_bytes": s.body_len,
                    "last_error": s.last_error,
                });
                if let (Value::Object(m), Value::Object(st)) = (&mut v, state_json(&s.state)) {
                    m.extend(st);
                }
                v
            })
            .collect(),
    )
}

/// The headers `show` prints: credentials and signatures redacted.
fn shown_headers(d: &QueuedDelivery, secret: &[HeaderName]) -> Vec<(String, String)> {
    d.headers
        .iter()
        .map(|(n, v)| {
            let value = if headers::is_secret(n, secret) {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (n.as_str().to_string(), value)
        })
        .collect()
}

/// `queue show` as text: metadata, headers (secrets redacted), body size. Never the body.
pub fn show_text(d: &QueuedDelivery, secret: &[HeaderName]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "delivery:  {}", d.id);
    let _ = writeln!(out, "route:     {}", d.route);
    let _ = writeln!(out, "received:  {}", time(d.received));
    let _ = writeln!(out, "state:     {}", state_text(&d.state));
    let _ = writeln!(out, "attempts:  {}", d.attempts);
    if let Some(e) = &d.last_error {
        let _ = writeln!(out, "last error: {e}");
    }
    let _ = writeln!(out, "request:   {} {}", d.method, d.path);
    let _ = writeln!(out, "headers:");
    for (n, v) in shown_headers(d, secret) {
        let _ = writeln!(out, "  {n}: {v}");
    }
    let _ = writeln!(out, "body:      {} bytes", d.body.len());
    out
}

/// `queue show` as JSON (same redaction, no body).
pub fn show_json(d: &QueuedDelivery, secret: &[HeaderName]) -> Value {
    let mut v = json!({
        "delivery_id": d.id.to_string(),
        "route": d.route,
        "received": time(d.received),
        "attempts": d.attempts,
        "last_error": d.last_error,
        "method": d.method,
        "path": d.path,
        "headers": shown_headers(d, secret).into_iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        "body_bytes": d.body.len(),
    });
    if let (Value::Object(m), Value::Object(st)) = (&mut v, state_json(&d.state)) {
        m.extend(st);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderValue;

    fn delivery() -> QueuedDelivery {
        let mut h = http::HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "authorization",
            HeaderValue::from_static("Basic dXNlcjpwYXNz"),
        );
        h.insert(
            "x-hub-signature-256",
            HeaderValue::from_static("sha256=abc"),
        );
        h.insert("x-custom-mac", HeaderValue::from_static("topsecret"));
        QueuedDelivery {
            id: DeliveryId::new(),
            route: "github".into(),
            received: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            since: SystemTime::UNIX_EPOCH,
            attempts: 3,
            state: DeliveryState::Dead {
                reason: "status 400".into(),
                at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100),
            },
            last_error: None,
            method: "POST".into(),
            path: "/hooks/github".into(),
            headers: h,
            body: Bytes::from_static(b"{\"secret_in_body\":1}"),
        }
    }

    #[test]
    fn show_redacts_credentials_and_never_prints_the_body() {
        let d = delivery();
        let own = [HeaderName::from_static("x-custom-mac")];
        for out in [show_text(&d, &own), show_json(&d, &own).to_string()] {
            assert!(!out.contains("dXNlcjpwYXNz"), "{out}");
            assert!(!out.contains("sha256=abc"), "{out}");
            assert!(!out.contains("topsecret"), "{out}");
            assert!(!out.contains("secret_in_body"), "{out}");
            assert!(out.contains("application/json"), "{out}");
            assert!(out.contains("<redacted>"), "{out}");
        }
        let text = show_text(&d, &own);
        assert!(text.contains("body:      20 bytes"), "{text}");
        assert!(
            text.contains("dead since 2023-11-14T22:15:00Z (status 400)"),
            "{text}"
        );
    }
}
