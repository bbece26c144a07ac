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
