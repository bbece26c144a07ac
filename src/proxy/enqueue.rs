//! The deliver stage of a queue-mode route: store the verified request
//! durably, then answer.
//!
//! The order is what makes the acknowledgement honest:
//!
//! 1. the replay key was *reserved* (by [`super::replay_guard`]);
//! 2. the exact verified bytes and the headers the upstream would have got
//!    (built by [`super::upstream::request`], as in direct mode) are
//!    *enqueued*, which returns only once they are durable;
//! 3. the replay key is *committed*: hookgate owns the delivery now, so the
//!    sender's retry is acknowledged as a duplicate, not queued twice;
//! 4. the caller answers `ack_status`.
//!
//! If the store refuses (full, unavailable), the key is released and the
//! sender gets 503 with `Retry-After`: nothing was acknowledged, so the
//! sender still owns the delivery. If the commit fails after the enqueue
//! succeeded, the delivery is safe and is acknowledged anyway (the failure
//! is logged and counted by the guard). The key is never committed first: a
//! failed enqueue would then turn the sender's retry into a "duplicate" of
//! a delivery nobody holds.
//!
//! Steps 2 and 3 run on their own task, so a client that disconnects (or a
//! request future that is dropped) cannot stop between them: a stored
//! delivery always gets its key committed.

use super::replay_guard::ReplayGuard;
use crate::config::Route;
use crate::queue::{DeliveryId, NewDelivery, QueueError, QueueStore};
use crate::reject::{Reason, Rejection};
use bytes::Bytes;
use pingora::http::RequestHeader;
use std::sync::Arc;

/// Store `req` + `body` for `route` durably and settle the reservation.
pub async fn enqueue(
    store: Option<&Arc<dyn QueueStore>>,
    route: &Route,
    req: &RequestHeader,
    body: Bytes,
    guard: Option<ReplayGuard>,
) -> Result<DeliveryId, Rejection> {
    let Some(store) = store.cloned() else {
        // Only reachable if a reload turned queue mode on without a store,
        // which the reloader refuses: fail closed all the same.
        return Err(Rejection::new(
            Reason::QueueUnavailable,
            "no queue store is open (restart to open [queue])",
        ));
    };
    let delivery = NewDelivery {
        id: DeliveryId::new(),
        route: route.name.clone(),
        method: req.method.as_str().to_string(),
        path: String::from_utf8_lossy(req.raw_path()).into_owned(),
        headers: req.headers.clone(),
        body,
    };
    let task = tokio::spawn(async move {
        let stored = store.enqueue(delivery).await;
        if let Some(guard) = guard {
            guard.settle(stored.is_ok()).await;
        }
        stored
    });
    match task.await {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(e)) => Err(refusal(&route.name, e)),
        // The task panicked before settling: its guard released the key.
        Err(e) => Err(Rejection::new(
            Reason::Internal,
            format!("queueing failed: {e}"),
        )),
    }
}

/// The 503 for a store that could not take the delivery, logged.
fn refusal(route: &str, e: QueueError) -> Rejection {
    let reason = match e {
        QueueError::Full { .. } => Reason::QueueFull,
        _ => Reason::QueueUnavailable,
    };
    tracing::warn!(route, reason = reason.label(), error = %e, "queue store refused a verified delivery; the sender was told to retry");
    Rejection::new(reason, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::metrics::Metrics;
    use crate::proxy::replay_guard::{self, Decision};
    use crate::queue::embedded::EmbeddedStore;
    use crate::queue::{LeaseResult, StateFilter};
    use crate::replay::memory::MemoryStore;
    use crate::replay::ReplayStore;
    use std::time::{Duration, SystemTime};

    const CONFIG: &str = r#"
[admin]
listen = "127.0.0.1:9901"
[[listener]]
name = "p"
listen = "127.0.0.1:8080"
[queue]
path = "unused.redb"
[[route]]
name = "q"
path_prefix = "/q"
upstreams = ["127.0.0.1:3000"]
[route.verify]
scheme = "standard-webhooks"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
[route.replay]
[route.delivery]
mode = "queue"
"#;

    struct Fixture {
        cfg: Config,
        replay: Arc<dyn ReplayStore>,
        metrics: Arc<Metrics>,
    }

    impl Fixture {
        fn new() -> Self {
            let metrics = Arc::new(Metrics::new().unwrap());
            Fixture {
                cfg: crate::config::parse_metered(
                    std::path::Path::new("t.toml"),
                    CONFIG,
                    crate::config::Resolve::NumericOnly,
                    &metrics,
                )
                .unwrap(),
                replay: Arc::new(MemoryStore::new(100, None).unwrap()),
                metrics,
            }
        }

        async fn reserve(&self) -> Decision {
            let route = &self.cfg.routes[0];
            let key = Some("id:msg_1".to_string());
            replay_guard::reserve(&self.replay, &self.metrics, &self.cfg, route, key)
                .await
                .unwrap()
        }

        /// Wait (bounded) until the key is committed: a new copy is a duplicate.
        async fn committed(&self) {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                match replay_guard::reserve(
                    &self.replay,
                    &self.metrics,
                    &self.cfg,
                    &self.cfg.routes[0],
                    Some("id:msg_1".into()),
                )
                .await
                {
                    Ok(Decision::AckDuplicate) => return,
                    Ok(Decision::Forward(_)) => panic!("the key was released, not committed"),
                    Err(_) => {} // still reserved
                }
                assert!(tokio::time::Instant::now() < deadline, "never committed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    fn request() -> RequestHeader {
        let mut req = RequestHeader::build("POST", b"/q?x=1", None).unwrap();
        req.insert_header("content-type", "application/json")
            .unwrap();
        req
    }

    #[tokio::test]
    async fn a_request_dropped_while_queueing_still_commits_what_it_queued() {
        let fx = Fixture::new();
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn QueueStore> =
            Arc::new(EmbeddedStore::open(&dir.path().join("q.redb"), 1 << 30).unwrap());
        let Decision::Forward(guard) = fx.reserve().await else {
            panic!("reserved")
        };
        let (req, route) = (request(), fx.cfg.routes[0].clone());
        let body = Bytes::from_static(b"{}");
        // Dropped before it ever ran: nothing was queued, the key is released.
        drop(enqueue(Some(&store), &route, &req, body.clone(), guard));
        let Some(Decision::Forward(guard)) = fx.reserve_eventually().await else {
            panic!("released")
        };
        assert!(store
            .list("q", StateFilter::Pending, 10)
            .await
            .unwrap()
            .is_empty());
        // Dropped once queueing began (the client went away): it completes.
        // One poll starts it; on this single-threaded runtime the spawned
        // store task cannot have run yet, so the drop always comes first.
        let mut request = Box::pin(enqueue(Some(&store), &route, &req, body, guard));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            std::future::Future::poll(request.as_mut(), &mut cx).is_pending(),
            "dropped before the store answered"
        );
        drop(request);
        fx.committed().await;
        let held = store.list("q", StateFilter::Pending, 10).await.unwrap();
        assert_eq!(held.len(), 1, "stored, and its key committed");
        let LeaseResult::Leased(l) = store.lease("q", SystemTime::now()).await.unwrap() else {
            panic!("due")
        };
        assert_eq!(
            (&l.delivery.path[..], &l.delivery.body[..]),
            ("/q?x=1", &b"{}"[..])
        );
    }

    /// A store whose enqueue panics: a bug hookgate must survive without
    /// leaving the sender's key reserved.
    struct Panics;

    #[async_trait::async_trait]
    impl QueueStore for Panics {
        fn kind(&self) -> &'static str {
            "panics"
        }
        async fn enqueue(&self, _: NewDelivery) -> Result<DeliveryId, QueueError> {
            panic!("the store panics while queueing");
        }
        async fn lease(
            &self,
            _: &str,
            _: SystemTime,
        ) -> Result<crate::queue::LeaseResult, QueueError> {
            unreachable!()
        }
        async fn touch(&self, _: &crate::queue::Lease) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn complete(&self, _: crate::queue::Lease) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn retry_later(
            &self,
            _: crate::queue::Lease,
            _: SystemTime,
            _: &str,
        ) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn dead_letter(
            &self,
            _: crate::queue::Lease,
            _: &str,
            _: SystemTime,
        ) -> Result<(), QueueError> {
            unreachable!()
        }
        async fn list(
            &self,
            _: &str,
            _: StateFilter,
            _: usize,
        ) -> Result<Vec<crate::queue::Summary>, QueueError> {
            unreachable!()
        }
        async fn show(
            &self,
            _: DeliveryId,
        ) -> Result<Option<crate::queue::QueuedDelivery>, QueueError> {
            unreachable!()
        }
        async fn retry_dead(
            &self,
            _: &str,
            _: crate::queue::RetryTarget,
            _: SystemTime,
        ) -> Result<u64, QueueError> {
            unreachable!()
        }
        async fn purge_dead(&self, _: &str, _: Option<SystemTime>) -> Result<u64, QueueError> {
            unreachable!()
        }
        async fn stats(
            &self,
            _: &[String],
            _: SystemTime,
        ) -> Result<crate::queue::Stats, QueueError> {
            unreachable!()
        }
        fn work_signal(&self) -> Arc<tokio::sync::Notify> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn a_store_that_panics_leaves_the_key_released_and_answers_500() {
        let fx = Fixture::new();
        let store: Arc<dyn QueueStore> = Arc::new(Panics);
        let Decision::Forward(guard) = fx.reserve().await else {
            panic!("reserved")
        };
        let route = fx.cfg.routes[0].clone();
        let r = enqueue(Some(&store), &route, &request(), Bytes::new(), guard).await;
        assert_eq!(r.unwrap_err().reason, Reason::Internal);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match fx.reserve_or_err().await {
                Some(Decision::Forward(Some(_))) => break,
                _ => assert!(tokio::time::Instant::now() < deadline, "key never released"),
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let released = fx
            .metrics
            .replay
            .with_label_values(&["q", "released"])
            .get();
        assert_eq!(released, 1);
    }

    impl Fixture {
        /// Reserve again, waiting (bounded) for a background release.
        async fn reserve_eventually(&self) -> Option<Decision> {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(d) = self.reserve_or_err().await {
                    return Some(d);
                }
                assert!(tokio::time::Instant::now() < deadline, "still reserved");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }

        async fn reserve_or_err(&self) -> Option<Decision> {
            let route = &self.cfg.routes[0];
            replay_guard::reserve(
                &self.replay,
                &self.metrics,
                &self.cfg,
                route,
                Some("id:msg_1".into()),
            )
            .await
            .ok()
        }
    }
}
