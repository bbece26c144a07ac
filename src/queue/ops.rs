//! Operator actions on the queue, shared by the CLI and the admin API.
//!
//! An [`Action`] is what the operator asked (`stats`, `list`, `show`,
//! `retry`, `purge`); it travels as an admin-API request
//! ([`Action::target`], [`Action::from_target`]), and [`execute`] runs it
//! against a store with the loaded config and renders the answer as text
//! or JSON, so the CLI prints the same thing whether it opened the store
//! itself or asked a running instance. Each step is also a plain function
//! returning data.

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
/// Deliveries `list` returns when no limit is given.
pub const DEFAULT_LIST: usize = 100;

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
    /// A request the admin API does not understand.
    #[error("{0}")]
    BadRequest(String),
}

impl OpsError {
    /// The admin API's status for this error.
    pub fn status(&self) -> u16 {
        match self {
            OpsError::Store(QueueError::Full { .. } | QueueError::Unavailable(_)) => 503,
            OpsError::Store(_) => 500,
            OpsError::UnknownRoute(_) | OpsError::NotFound { .. } | OpsError::NoQueue => 404,
            OpsError::BadRequest(_) => 400,
        }
    }
}

/// One operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Depth per route and bytes used.
    Stats,
    /// A route's deliveries in a state, oldest first.
    List {
        /// Route name.
        route: String,
        /// Pending or dead.
        state: StateFilter,
        /// Most deliveries returned.
        limit: usize,
    },
    /// One delivery's metadata and headers (secrets redacted), never its body.
    Show {
        /// The delivery.
        id: DeliveryId,
    },
    /// Move dead letters back to pending.
    Retry {
        /// Route name.
        route: String,
        /// One dead letter or all of the route's.
        target: RetryTarget,
    },
    /// Delete a route's dead letters.
    Purge {
        /// Route name.
        route: String,
        /// Only those dead longer than this.
        older_than: Option<Duration>,
    },
}

/// Text for people, JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// What the CLI prints by default.
    Text,
    /// `--json`, and the admin API's default.
    Json,
}

impl Action {
    /// Does it change the store (POST on the admin API)?
    pub fn writes(&self) -> bool {
        matches!(self, Action::Retry { .. } | Action::Purge { .. })
    }

    /// The admin-API path and query for this action, e.g.
    /// `/queue/list?route=github&state=dead&limit=100&format=text`. Route
    /// names, ids and durations need no escaping (config names are
    /// `[A-Za-z0-9._-]`).
    pub fn target(&self, format: Format) -> String {
        let mut q: Vec<(&str, String)> = Vec::new();
        let name = match self {
            Action::Stats => "stats",
            Action::List {
                route,
                state,
                limit,
            } => {
                q.push(("route", route.clone()));
                q.push(("state", state.as_str().into()));
                q.push(("limit", limit.to_string()));
                "list"
            }
            Action::Show { id } => {
                q.push(("id", id.to_string()));
                "show"
            }
            Action::Retry { route, target } => {
                q.push(("route", route.clone()));
                match target {
                    RetryTarget::One(id) => q.push(("id", id.to_string())),
                    RetryTarget::AllDead => q.push(("all_dead", "true".into())),
                }
                "retry"
            }
            Action::Purge { route, older_than } => {
                q.push(("route", route.clone()));
                q.push(("state", "dead".into()));
                if let Some(d) = older_than {
                    q.push(("older_than", format!("{}s", d.as_secs())));
                }
                "purge"
            }
        };
        if format == Format::Text {
            q.push(("format", "text".into()));
        }
        let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("/queue/{name}?{}", query.join("&"))
    }

    /// Parse an admin-API request (`name` is the path after `/queue/`,
    /// `query` as sent). Unknown, repeated or malformed parameters are refused.
    pub fn from_target(name: &str, query: &str) -> Result<(Action, Format), OpsError> {
        let mut p = Params::parse(query)?;
        let format = match p.take("format") {
            None | Some("json") => Format::Json,
            Some("text") => Format::Text,
            Some(f) => return Err(bad(format!("format {f:?}: use json or text"))),
        };
        let action = match name {
            "stats" => Action::Stats,
            "list" => Action::List {
                route: p.route()?,
                state: match p.take("state") {
                    None | Some("pending") => StateFilter::Pending,
                    Some("dead") => StateFilter::Dead,
                    Some(s) => return Err(bad(format!("state {s:?}: use pending or dead"))),
                },
                limit: match p.take("limit") {
                    None => DEFAULT_LIST,
                    Some(l) => l
                        .parse()
                        .map_err(|_| bad(format!("limit {l:?} is not a number")))?,
                },
            },
            "show" => Action::Show { id: p.id()? },
            "retry" => {
                let route = p.route()?;
                let target = match p.take("all_dead") {
                    Some("true") => RetryTarget::AllDead,
                    None => RetryTarget::One(p.id()?),
                    Some(v) => return Err(bad(format!("all_dead {v:?}: use all_dead=true"))),
                };
                Action::Retry { route, target }
            }
            "purge" => {
                let route = p.route()?;
                if p.take("state") != Some("dead") {
                    return Err(bad(
                        "state=dead is required: pending deliveries are never thrown away".into(),
                    ));
                }
                let older_than = p
                    .take("older_than")
                    .map(|d| crate::config::units::parse_duration(d).map_err(bad))
                    .transpose()?;
                Action::Purge { route, older_than }
            }
            other => {
                return Err(bad(format!(
                    "no queue action {other:?}: use stats, list, show, retry or purge"
                )))
            }
        };
        p.finish()?;
        Ok((action, format))
    }
}

fn bad(m: String) -> OpsError {
    OpsError::BadRequest(m)
}

/// Query parameters, each taken at most once.
struct Params<'a>(std::collections::BTreeMap<&'a str, &'a str>);

impl<'a> Params<'a> {
    fn parse(query: &'a str) -> Result<Self, OpsError> {
        let mut map = std::collections::BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if map.insert(k, v).is_some() {
                return Err(bad(format!("parameter {k:?} given twice")));
            }
        }
        Ok(Params(map))
    }

    fn take(&mut self, k: &str) -> Option<&'a str> {
        self.0.remove(k)
    }

    fn route(&mut self) -> Result<String, OpsError> {
        self.take("route")
            .map(str::to_string)
            .ok_or_else(|| bad("route=NAME is required".into()))
    }

    fn id(&mut self) -> Result<DeliveryId, OpsError> {
        let v = self
            .take("id")
            .ok_or_else(|| bad("id=DELIVERY_ID is required".into()))?;
        DeliveryId::parse(v).ok_or_else(|| bad(format!("{v:?} is not a delivery id")))
    }

    fn finish(self) -> Result<(), OpsError> {
        match self.0.keys().next() {
            Some(k) => Err(bad(format!("unknown parameter {k:?}"))),
            None => Ok(()),
        }
    }
}

/// Run `action` and render its answer.
pub async fn execute(
    store: &dyn QueueStore,
    cfg: &Config,
    action: &Action,
    format: Format,
) -> Result<String, OpsError> {
    let render = |value: Value, text: String| match format {
        Format::Json => format!("{value:#}\n"),
        Format::Text => text,
    };
    Ok(match action {
        Action::Stats => {
            let s = stats(store, cfg).await?;
            render(stats_json(&s), stats_text(&s))
        }
        Action::List {
            route,
            state,
            limit,
        } => {
            let items = list(store, cfg, route, *state, *limit).await?;
            render(list_json(&items), list_text(&items))
        }
        Action::Show { id } => {
            let d = show(store, *id).await?;
            let secret = secret_headers(cfg, &d.route);
            render(show_json(&d, &secret), show_text(&d, &secret))
        }
        Action::Retry { route, target } => {
            let n = retry(store, cfg, route, *target).await?;
            render(
                json!({ "retried": n }),
                format!("{n} dead letter(s) of route {route:?} queued for delivery again\n"),
            )
        }
        Action::Purge { route, older_than } => {
            let n = purge(store, cfg, route, *older_than).await?;
            render(
                json!({ "purged": n }),
                format!("{n} dead letter(s) of route {route:?} deleted\n"),
            )
        }
    })
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

/// The path, with the query string's contents withheld: some senders put
/// a token there.
fn shown_path(path: &str) -> String {
    match path.split_once('?') {
        Some((p, q)) => format!("{p}?<query of {} bytes not shown>", q.len()),
        None => path.to_string(),
    }
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
    let _ = writeln!(out, "request:   {} {}", d.method, shown_path(&d.path));
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
        "path": shown_path(&d.path),
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
            path: "/hooks/github?token=query-secret".into(),
            headers: h,
            body: Bytes::from_static(b"{\"secret_in_body\":1}"),
        }
    }

    #[test]
    fn actions_travel_to_the_admin_api_and_back() {
        let id = DeliveryId::new();
        for action in [
            Action::Stats,
            Action::List {
                route: "github".into(),
                state: StateFilter::Dead,
                limit: 7,
            },
            Action::Show { id },
            Action::Retry {
                route: "a.b-c_d".into(),
                target: RetryTarget::One(id),
            },
            Action::Retry {
                route: "r".into(),
                target: RetryTarget::AllDead,
            },
            Action::Purge {
                route: "r".into(),
                older_than: Some(Duration::from_secs(7 * 86_400)),
            },
            Action::Purge {
                route: "r".into(),
                older_than: None,
            },
        ] {
            for format in [Format::Text, Format::Json] {
                let target = action.target(format);
                let (path, query) = target.split_once('?').unwrap();
                let name = path.strip_prefix("/queue/").unwrap();
                assert_eq!(
                    Action::from_target(name, query).unwrap(),
                    (action.clone(), format),
                    "{target}"
                );
            }
        }
        for (name, query, says) in [
            ("list", "", "route=NAME is required"),
            ("list", "route=r&state=gone", "state \"gone\""),
            ("list", "route=r&route=s", "given twice"),
            ("list", "route=r&extra=1", "unknown parameter \"extra\""),
            ("show", "id=nope", "\"nope\" is not a delivery id"),
            ("retry", "route=r", "id=DELIVERY_ID is required"),
            ("purge", "route=r", "state=dead is required"),
            ("purge", "route=r&state=pending", "state=dead is required"),
            ("drop", "", "no queue action \"drop\""),
            ("stats", "format=xml", "format \"xml\""),
        ] {
            let e = Action::from_target(name, query).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains(says), "{name}?{query}: {e}");
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
            assert!(!out.contains("query-secret"), "{out}");
            assert!(
                out.contains("/hooks/github?<query of 18 bytes not shown>"),
                "{out}"
            );
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
