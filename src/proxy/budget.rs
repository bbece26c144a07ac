//! The global body-buffer budget, `[limits] max_buffered_bytes`.
//!
//! Every body is held whole until its signature is checked (nothing
//! unverified may reach the app), so a sender who cannot authenticate could
//! otherwise make hookgate hold any number of large bodies at once: 50
//! connections × 49 MiB with fake signatures took 2.4 GiB. Each request now
//! takes a [`Lease`] on the budget *before* it buffers: the whole
//! `Content-Length` up front, chunked bodies as their buffer grows. A request
//! that does not fit waits up to [`BUDGET_WAIT`] for others to finish, then
//! gets `503 overloaded` with `Retry-After`. The lease is returned when it is
//! dropped, whatever ended the request.
//!
//! Why not verify streaming HMACs incrementally and skip the buffer: the
//! verdict is only known after the last byte, and by then the bytes must
//! still be at hand to forward them, so the buffer is needed either way; the
//! budget bounds it instead. The cost: a flood of fake-signature bodies can
//! fill the budget and make honest senders retry (503 + `Retry-After`), but
//! it can no longer exhaust memory.

use crate::reject::{Reason, Rejection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long a request waits for budget before it is refused: long enough to
/// ride out a burst of bodies being verified, short enough not to hold a
/// connection for a sender who will retry anyway.
pub const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// Bytes that may be buffered across all requests at once.
pub struct BodyBudget {
    /// `max_buffered_bytes` of the config in use (a reload may change it).
    limit: AtomicU64,
    used: AtomicU64,
    freed: Notify,
    gauge: prometheus::IntGauge,
}

impl BodyBudget {
    /// A budget of `limit` bytes, published in `gauge`.
    pub fn new(limit: u64, gauge: prometheus::IntGauge) -> Arc<Self> {
        Arc::new(BodyBudget {
            limit: AtomicU64::new(limit),
            used: AtomicU64::new(0),
            freed: Notify::new(),
            gauge,
        })
    }

    /// Follow the config in use: a lower limit refuses new leases until
    /// enough of the held ones are returned.
    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// An empty lease, grown as the body arrives.
    pub fn lease(self: &Arc<Self>) -> Lease {
        Lease {
            budget: self.clone(),
            bytes: 0,
        }
    }

    fn try_take(&self, n: u64) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    /// Take `n` bytes, waiting at most `wait` for other requests to give some back.
    async fn take(&self, n: u64, wait: Duration) -> Result<(), Rejection> {
        let limit = self.limit.load(Ordering::Relaxed);
        if n > limit {
            return Err(Rejection::new(
                Reason::PayloadTooLarge,
                format!("body of {n} bytes exceeds [limits] max_buffered_bytes"),
            ));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before trying, so a release in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.try_take(n) {
                self.publish();
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(Rejection::new(
                    Reason::Overloaded,
                    format!(
                        "body buffer budget exhausted: {n} more bytes did not fit in {limit} within {wait:?}"
                    ),
                ));
            }
        }
    }

    fn give_back(&self, n: u64) {
        if n > 0 {
            self.used.fetch_sub(n, Ordering::AcqRel);
            self.publish();
            self.freed.notify_waiters();
        }
    }

    fn publish(&self) {
        self.gauge
            .set(i64::try_from(self.used.load(Ordering::Relaxed)).unwrap_or(i64::MAX));
    }
}

/// Bytes of the budget held by one request; returned on drop.
pub struct Lease {
    budget: Arc<BodyBudget>,
    bytes: u64,
}

impl Lease {
    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Hold `n` more bytes, waiting at most `wait`.
    pub async fn grow(&mut self, n: u64, wait: Duration) -> Result<(), Rejection> {
        self.budget.take(n, wait).await?;
        self.bytes += n;
        Ok(())
    }

    /// Give back `n` bytes no longer needed.
    pub fn shrink(&mut self, n: u64) {
        let n = n.min(self.bytes);
        self.bytes -= n;
        self.budget.give_back(n);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: u64) -> Arc<BodyBudget> {
        BodyBudget::new(limit, prometheus::IntGauge::new("t", "t").unwrap())
    }

    #[tokio::test]
    async fn leases_are_bounded_and_returned_on_drop() {
        let b = budget(100);
        let mut a = b.lease();
        a.grow(60, Duration::ZERO).await.unwrap();
        let mut c = b.lease();
        let refused = c.grow(50, Duration::from_millis(10)).await.unwrap_err();
        assert_eq!(refused.reason, Reason::Overloaded);
        c.grow(40, Duration::ZERO).await.unwrap();
        assert_eq!(b.gauge.get(), 100);
        drop(a);
        assert_eq!(b.gauge.get(), 40);
        c.shrink(15);
        assert_eq!((c.bytes(), b.gauge.get()), (25, 25));
        drop(c);
        assert_eq!(b.used.load(Ordering::Relaxed), 0);
        let too_big = b.lease().grow(101, Duration::ZERO).await.unwrap_err();
        assert_eq!(too_big.reason, Reason::PayloadTooLarge);
    }

    #[tokio::test]
    async fn a_waiting_request_gets_budget_as_soon_as_it_is_freed() {
        let b = budget(100);
        let mut first = b.lease();
        first.grow(100, Duration::ZERO).await.unwrap();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move {
                let mut l = b.lease();
                l.grow(80, Duration::from_secs(30)).await.map(|_| l.bytes())
            })
        };
        tokio::task::yield_now().await;
        drop(first);
        assert_eq!(waiter.await.unwrap().unwrap(), 80);
    }
}
