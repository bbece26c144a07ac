//! Workers: lease a due delivery, attempt it, settle the lease.
//!
//! Each queue-mode route gets `concurrency` worker tasks per instance. A
//! worker that finds nothing due sleeps until the next retry is due, the
//! store signals new work, or [`IDLE_POLL`] passes (other instances may have
//! queued work on a shared Redis). Order is not guaranteed: webhooks are not
//! ordered, and retries overtake nothing on purpose.
//!
//! A worker never holds a delivery outside a lease: if it dies mid-attempt
//! the lease is released (embedded) or taken over after `claim_idle`
//! (Redis), so the delivery is retried, never lost.

use super::policy::{decide, result_label, AttemptResult, Decision, DeliveryResult};
use super::{
    DeliveryPolicy, Lease, LeaseResult, QueueMetrics, QueueStore, QueuedDelivery, ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
};
use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Longest idle sleep before a worker looks for work again.
pub const IDLE_POLL: Duration = Duration::from_millis(500);
/// Pause after a store error before trying again.
pub const ERROR_PAUSE: Duration = Duration::from_secs(1);
/// Hard bound on one attempt, whatever the deliverer's own timeouts.
pub const ATTEMPT_DEADLINE: Duration = Duration::from_secs(600);
/// How often queue depth and store size are published as metrics.
pub const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// One attempt as it goes upstream: the stored request plus
/// `X-Hookgate-Delivery-Id` and `X-Hookgate-Attempt`.
#[derive(Debug, Clone)]
pub struct OutgoingAttempt {
    /// The delivery's stable id.
    pub delivery_id: super::DeliveryId,
    /// 1 for the first attempt.
    pub number: u32,
    /// Request method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Stored headers plus the two delivery headers (any incoming copies replaced).
    pub headers: HeaderMap,
    /// The exact stored body.
    pub body: Bytes,
}

impl OutgoingAttempt {
    /// Attempt `number` of `d`.
    pub fn new(d: &QueuedDelivery, number: u32) -> Self {
        let mut headers = d.headers.clone();
        let set = |h: &mut HeaderMap, name: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        set(&mut headers, DELIVERY_ID_HEADER, d.id.to_string());
        set(&mut headers, ATTEMPT_HEADER, number.to_string());
        OutgoingAttempt {
            delivery_id: d.id,
            number,
            method: d.method.clone(),
            path: d.path.clone(),
            headers,
            body: d.body.clone(),
        }
    }
}

/// Sends one attempt to a route's upstream. The gateway's implementation
/// uses the route's upstreams, TLS and timeouts.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Attempt delivery; report the status or the failure and any `Retry-After`.
    async fn deliver(&self, route: &str, attempt: &OutgoingAttempt) -> DeliveryResult;
}

/// A queue-mode route as the workers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRoute {
    /// Route name.
    pub name: String,
    /// Its retry policy and concurrency.
    pub policy: DeliveryPolicy,
}

/// The running workers. Dropping it stops them abruptly (safe: unsettled
/// leases are released or taken over); [`WorkerPool::shutdown`] lets
/// attempts in progress finish first.
pub struct WorkerPool {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

struct Shared {
    store: Arc<dyn QueueStore>,
    deliver: Arc<dyn Deliver>,
    metrics: Option<Arc<QueueMetrics>>,
}

impl Shared {
    /// Count a failed store call (`hookgate_queue_store_errors_total`).
    fn store_failed(&self) {
        if let Some(m) = &self.metrics {
            m.store_errors.inc();
        }
    }
}

impl WorkerPool {
    /// Start `concurrency` workers per route, plus a task publishing stats
    /// when `metrics` is given. Call from within a tokio runtime.
    pub fn start(
        store: Arc<dyn QueueStore>,
        deliver: Arc<dyn Deliver>,
        routes: Vec<QueueRoute>,
        metrics: Option<Arc<QueueMetrics>>,
    ) -> WorkerPool {
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            store,
            deliver,
            metrics,
        });
        let mut tasks = JoinSet::new();
        for route in &routes {
            let route = Arc::new(route.clone());
            for _ in 0..route.policy.concurrency {
                tasks.spawn(worker(shared.clone(), route.clone(), stopped.clone()));
            }
        }
        if shared.metrics.is_some() {
            let names = routes.iter().map(|r| r.name.clone()).collect();
            tasks.spawn(publish_stats(shared, names, stopped));
        }
        WorkerPool { tasks, stop }
    }

    /// Stop leasing; wait up to `grace` for attempts in progress, then abort the rest.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let drained = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            self.tasks.abort_all();
        }
    }
}

async fn worker(shared: Arc<Shared>, route: Arc<QueueRoute>, mut stop: watch::Receiver<bool>) {
    let signal = shared.store.work_signal();
    while !*stop.borrow() {
        // Registered before looking, so a signal sent meanwhile is not missed.
        let notified = signal.notified();
        let wait = match shared.store.lease(&route.name, SystemTime::now()).await {
            Ok(LeaseResult::Leased(lease)) => {
                // On its own task: a panicking deliverer drops the lease
                // unsettled (so the delivery comes back) and this worker lives on.
                let (s, r) = (shared.clone(), route.clone());
                if let Err(e) = tokio::spawn(async move { attempt(&s, &r, *lease).await }).await {
                    tracing::error!(route = %route.name, error = %e, "queue: delivery attempt panicked; it will be retried");
                }
                continue;
            }
            Ok(LeaseResult::Idle(next)) => next
                .and_then(|t| t.duration_since(SystemTime::now()).ok())
                .map_or(IDLE_POLL, |d| d.min(IDLE_POLL)),
            Err(e) => {
                shared.store_failed();
                tracing::warn!(route = %route.name, error = %e, "queue: cannot lease");
                ERROR_PAUSE
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Deliver one leased delivery and settle the lease.
async fn attempt(shared: &Shared, route: &QueueRoute, lease: Lease) {
    let d = &lease.delivery;
    // The store counted this attempt when it leased the delivery.
    let number = d.attempts.max(1);
    if number > route.policy.max_attempts {
        // The previous attempt never settled: the process died during it.
        let mut reason = format!(
            "max_attempts ({}) reached; last: attempt {} never finished (the process stopped during it)",
            route.policy.max_attempts,
            number - 1
        );
        if let Some(e) = &d.last_error {
            reason.push_str(&format!("; earlier: {e}"));
        }
        return settle_dead(shared, route, lease, reason, SystemTime::now()).await;
    }
    let out = OutgoingAttempt::new(d, number);
    let result = deliver_holding(shared, &route.name, &lease, &out).await;
    if let Some(m) = &shared.metrics {
        m.attempts
            .with_label_values(&[route.name.as_str(), result_label(&result.result)])
            .inc();
    }
    let now = SystemTime::now();
    let age = now.duration_since(d.since).unwrap_or_default();
    let (id, number) = (d.id, out.number);
    let settled = match decide(&route.policy, &result, number, age, fastrand::f64()) {
        Decision::Complete => {
            tracing::debug!(route = %route.name, delivery_id = %id, attempt = number, "queue: delivered");
            shared.store.complete(lease).await
        }
        Decision::Retry { after, error } => {
            tracing::info!(route = %route.name, delivery_id = %id, attempt = number, %error, retry_in_ms = after.as_millis() as u64, "queue: attempt failed, will retry");
            shared.store.retry_later(lease, now + after, &error).await
        }
        Decision::Dead { reason } => return settle_dead(shared, route, lease, reason, now).await,
    };
    if let Err(e) = settled {
        unsettled(shared, route, id, &e);
    }
}

/// Keep the delivery as a dead letter, counted and logged.
async fn settle_dead(
    shared: &Shared,
    route: &QueueRoute,
    lease: Lease,
    reason: String,
    now: SystemTime,
) {
    let (id, number) = (lease.delivery.id, lease.delivery.attempts);
    tracing::warn!(route = %route.name, delivery_id = %id, attempt = number, %reason, "queue: delivery dead-lettered");
    if let Some(m) = &shared.metrics {
        m.dead_letters
            .with_label_values(&[route.name.as_str()])
            .inc();
    }
    if let Err(e) = shared.store.dead_letter(lease, &reason, now).await {
        unsettled(shared, route, id, &e);
    }
}

/// The lease was dropped unsettled: the delivery comes back (at once on the
/// embedded store, after claim_idle on Redis) and is tried again.
fn unsettled(shared: &Shared, route: &QueueRoute, id: super::DeliveryId, e: &super::QueueError) {
    shared.store_failed();
    tracing::warn!(route = %route.name, delivery_id = %id, error = %e, "queue: cannot record the attempt; it will be retried");
}

/// Run the attempt under [`ATTEMPT_DEADLINE`], touching the lease so no
/// other instance takes it over while it is in progress.
async fn deliver_holding(
    shared: &Shared,
    route: &str,
    lease: &Lease,
    out: &OutgoingAttempt,
) -> DeliveryResult {
    let call = tokio::time::timeout(ATTEMPT_DEADLINE, shared.deliver.deliver(route, out));
    tokio::pin!(call);
    let Some(every) = shared.store.heartbeat() else {
        return call.await.unwrap_or(DeliveryResult {
            result: AttemptResult::Timeout,
            retry_after: None,
        });
    };
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            r = &mut call => return r.unwrap_or(DeliveryResult { result: AttemptResult::Timeout, retry_after: None }),
            _ = tick.tick() => {
                if let Err(e) = shared.store.touch(lease).await {
                    shared.store_failed();
                    tracing::warn!(route, delivery_id = %out.delivery_id, error = %e, "queue: cannot extend lease");
                }
            }
        }
    }
}

async fn publish_stats(shared: Arc<Shared>, routes: Vec<String>, mut stop: watch::Receiver<bool>) {
    let Some(metrics) = shared.metrics.clone() else {
        return;
    };
    while !*stop.borrow() {
        match shared.store.stats(&routes, SystemTime::now()).await {
            Ok(s) => metrics.observe(&s),
            Err(e) => {
                metrics.store_errors.inc();
                tracing::warn!(error = %e, "queue: cannot read stats");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(STATS_INTERVAL) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{DeliveryId, DeliveryState};

    #[test]
    fn attempts_carry_id_and_number_and_replace_forged_copies() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert(DELIVERY_ID_HEADER, HeaderValue::from_static("forged"));
        headers.append(ATTEMPT_HEADER, HeaderValue::from_static("99"));
        let d = QueuedDelivery {
            id: DeliveryId::new(),
            route: "r".into(),
            received: SystemTime::now(),
            since: SystemTime::now(),
            attempts: 2,
            state: DeliveryState::Pending {
                due: SystemTime::now(),
            },
            last_error: None,
            method: "POST".into(),
            path: "/hooks/x?a=1".into(),
            headers,
            body: Bytes::from_static(b"{}"),
        };
        let out = OutgoingAttempt::new(&d, 3);
        let id = d.id.to_string();
        assert_eq!(
            out.headers
                .get_all(DELIVERY_ID_HEADER)
                .iter()
                .collect::<Vec<_>>(),
            [id.as_str()]
        );
        assert_eq!(
            out.headers
                .get_all(ATTEMPT_HEADER)
                .iter()
                .collect::<Vec<_>>(),
            ["3"]
        );
        assert_eq!(out.headers["content-type"], "application/json");
        assert_eq!(out.path, "/hooks/x?a=1");
        assert_eq!(out.body, Bytes::from_static(b"{}"));
    }
}
