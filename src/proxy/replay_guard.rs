//! The replay step of the request path: reserve before forwarding, then
//! commit on a 2xx or release on anything else.
//!
//! The reservation lives in a [`ReplayGuard`]. Settling it consumes the guard;
//! a guard dropped unsettled (the request panicked, or its task was cancelled)
//! releases the key in the background, so the sender's retry is not refused
//! as `replay_in_flight` until `reservation_ttl` and then forwarded twice.

use crate::config::{Config, Route};
use crate::metrics::{Metrics, ReplayResult};
use crate::reject::{Reason, Rejection};
use crate::replay::{OnDuplicate, ReplayStore, Reservation, ReserveOutcome, StoreError};
use std::sync::Arc;
use std::time::Instant;

/// What the replay check decided.
pub enum Decision {
    /// Forward; settle the guard (if any) with the upstream's answer.
    Forward(Option<ReplayGuard>),
    /// Already delivered and the route acknowledges duplicates: answer 200.
    AckDuplicate,
}

/// A held reservation that settles exactly once: by [`ReplayGuard::settle`],
/// or by a background release when dropped.
pub struct ReplayGuard {
    store: Arc<dyn ReplayStore>,
    metrics: Arc<Metrics>,
    route: Arc<Route>,
    reservation: Option<Reservation>,
}

/// Reserve the delivery key of a verified request.
pub async fn reserve(
    store: &Arc<dyn ReplayStore>,
    metrics: &Arc<Metrics>,
    cfg: &Config,
    route: &Arc<Route>,
    key: Option<String>,
) -> Result<Decision, Rejection> {
    let (Some(policy), Some(key)) = (&route.replay, key) else {
        return Ok(Decision::Forward(None));
    };
    let count = |result| route.metrics.replay(result);
    let started = Instant::now();
    let outcome = store
        .reserve(
            &[&route.name, ":", &key].concat(),
            cfg.replay.reservation_ttl,
        )
        .await;
    metrics
        .replay_store
        .reserve
        .observe(started.elapsed().as_secs_f64());
    match outcome {
        Ok(ReserveOutcome::Reserved(r)) => {
            count(ReplayResult::Reserved);
            Ok(Decision::Forward(Some(ReplayGuard {
                store: store.clone(),
                metrics: metrics.clone(),
                route: route.clone(),
                reservation: Some(r),
            })))
        }
        Ok(ReserveOutcome::InFlight) => {
            count(ReplayResult::InFlight);
            Err(Rejection::new(
                Reason::ReplayInFlight,
                "delivery is being forwarded by another request",
            ))
        }
        Ok(ReserveOutcome::Duplicate) => match policy.on_duplicate {
            OnDuplicate::Ack => {
                count(ReplayResult::DuplicateAcked);
                Ok(Decision::AckDuplicate)
            }
            OnDuplicate::Reject => {
                count(ReplayResult::ReplayDropped);
                Err(Rejection::new(
                    Reason::ReplayDetected,
                    "delivery was already forwarded",
                ))
            }
        },
        Err(StoreError::Full) => {
            metrics.replay_store.full.inc();
            Err(Rejection::new(
                Reason::ReplayStoreFull,
                "replay store holds max_keys unexpired keys",
            ))
        }
        Err(StoreError::Unavailable(e)) => {
            metrics.replay_store.unavailable.inc();
            if cfg.replay.fail_open {
                count(ReplayResult::FailOpen);
                tracing::warn!(route = %route.name, error = %e, "replay store unavailable; forwarding without replay protection (fail_open)");
                Ok(Decision::Forward(None))
            } else {
                Err(Rejection::new(Reason::ReplayStoreUnavailable, e))
            }
        }
    }
}

impl ReplayGuard {
    /// Commit once hookgate owns the delivery (the upstream answered 2xx, or
    /// it was durably queued); release otherwise, so an honest retry is
    /// never lost. A commit that fails is logged and counted; the
    /// reservation then expires after `reservation_ttl`.
    pub async fn settle(mut self, delivered: bool) {
        let Some(r) = self.reservation.take() else {
            return;
        };
        settle(&*self.store, &self.metrics, &self.route, r, delivered).await;
    }
}

/// Did the upstream take the delivery?
pub fn accepted(upstream_status: Option<u16>) -> bool {
    upstream_status.is_some_and(|s| (200..300).contains(&s))
}

impl Drop for ReplayGuard {
    fn drop(&mut self) {
        let Some(r) = self.reservation.take() else {
            return;
        };
        // Outside a runtime nothing can be awaited: the reservation then
        // expires after reservation_ttl on its own.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (store, metrics, route) =
                (self.store.clone(), self.metrics.clone(), self.route.clone());
            tracing::warn!(route = %route.name, "request ended before its delivery settled; releasing its replay reservation");
            rt.spawn(async move { settle(&*store, &metrics, &route, r, false).await });
        }
    }
}

async fn settle(
    store: &dyn ReplayStore,
    metrics: &Metrics,
    route: &Route,
    r: Reservation,
    delivered: bool,
) {
    let started = Instant::now();
    let ops = &metrics.replay_store;
    let (op, latency, done, result) = match (&route.replay, delivered) {
        (Some(p), true) => (
            "commit",
            &ops.commit,
            ReplayResult::Committed,
            store.commit(&r, p.retain).await,
        ),
        _ => (
            "release",
            &ops.release,
            ReplayResult::Released,
            store.release(&r).await,
        ),
    };
    latency.observe(started.elapsed().as_secs_f64());
    match result {
        Ok(()) => route.metrics.replay(done),
        Err(e) => {
            ops.unavailable.inc();
            // The reservation expires on its own (reservation_ttl); log loudly.
            tracing::error!(route = %route.name, op, error = %e, "replay store could not settle a reservation");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::memory::MemoryStore;
    use std::time::Duration;

    const CONFIG: &str = r#"
[admin]
listen = "127.0.0.1:9901"
[[listener]]
name = "p"
listen = "127.0.0.1:8080"
[[route]]
name = "sw"
path_prefix = "/sw"
upstreams = ["127.0.0.1:3000"]
[route.verify]
scheme = "standard-webhooks"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
[route.replay]
"#;

    async fn try_reserve(
        store: &Arc<dyn ReplayStore>,
        metrics: &Arc<Metrics>,
        cfg: &Config,
    ) -> Result<Decision, Rejection> {
        reserve(store, metrics, cfg, &cfg.routes[0], Some("id:msg_1".into())).await
    }

    #[tokio::test]
    async fn a_request_that_panics_releases_its_reservation() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let cfg = crate::config::parse_metered(
            std::path::Path::new("t.toml"),
            CONFIG,
            crate::config::Resolve::NumericOnly,
            &metrics,
        )
        .unwrap();
        let store: Arc<dyn ReplayStore> = Arc::new(MemoryStore::new(100, None).unwrap());
        let Ok(Decision::Forward(Some(guard))) = try_reserve(&store, &metrics, &cfg).await else {
            panic!("first copy reserves");
        };
        let copy = try_reserve(&store, &metrics, &cfg).await;
        assert!(matches!(copy, Err(r) if r.reason == Reason::ReplayInFlight));

        let request = tokio::spawn(async move {
            let _held = guard;
            panic!("the request panics while forwarding");
        });
        assert!(request.await.is_err());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match try_reserve(&store, &metrics, &cfg).await {
                Ok(Decision::Forward(Some(g))) => {
                    g.settle(true).await;
                    break;
                }
                _ => assert!(tokio::time::Instant::now() < deadline, "key never released"),
            }
            tokio::task::yield_now().await;
        }
        let released = metrics.replay.with_label_values(&["sw", "released"]).get();
        assert_eq!(released, 1);
        let again = try_reserve(&store, &metrics, &cfg).await;
        assert!(
            matches!(again, Ok(Decision::AckDuplicate)),
            "committed after the retry"
        );
    }
}
