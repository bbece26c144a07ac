//! Requests in flight, and graceful shutdown: once the listeners close, wait
//! for the requests already accepted, then exit as soon as nothing is left
//! instead of sleeping the whole `shutdown_timeout`.
//!
//! Every request holds an [`InFlightGuard`] from the moment its header is read
//! until its response is written and logged; the guard settles on drop, so a
//! request that panics or whose client vanishes cannot keep the count up (and
//! shutdown waiting) for ever.

use crate::connection::ACCEPT_GRACE;
use crate::queue::service::QueueService;
use crate::replay::ReplayStore;
use parking_lot::{Condvar, Mutex};
use pingora::server::ExecutionPhase;
use std::sync::Arc;
use std::time::Duration;

/// How long no request may be in flight before a draining process exits.
const DRAIN_QUIET: Duration = Duration::from_millis(300);

/// The number of requests being processed, shared by the request path
/// (which enters) and shutdown (which waits for zero).
pub struct InFlight {
    state: Mutex<Counts>,
    idle: Condvar,
    gauge: prometheus::IntGauge,
}

#[derive(Default)]
struct Counts {
    /// Requests in flight now.
    now: u64,
    /// Requests ever entered, to tell a quiet spell from a busy one that
    /// happens to read zero at both ends.
    entered: u64,
}

impl InFlight {
    /// A tracker publishing its count in `gauge` (`hookgate_requests_in_flight`).
    pub fn new(gauge: prometheus::IntGauge) -> Arc<Self> {
        Arc::new(InFlight {
            state: Mutex::new(Counts::default()),
            idle: Condvar::new(),
            gauge,
        })
    }

    /// Count a request until the guard drops.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        let mut s = self.state.lock();
        s.now += 1;
        s.entered += 1;
        self.gauge.inc();
        InFlightGuard(self.clone())
    }

    /// Requests in flight now.
    pub fn count(&self) -> u64 {
        self.state.lock().now
    }

    /// Block until no request has been in flight for `quiet`.
    fn wait_quiet(&self, quiet: Duration) {
        let mut s = self.state.lock();
        loop {
            while s.now > 0 {
                self.idle.wait(&mut s);
            }
            let seen = s.entered;
            // Wake early if a request enters; otherwise the spell was quiet.
            let timed_out = self.idle.wait_for(&mut s, quiet).timed_out();
            if timed_out && s.now == 0 && s.entered == seen {
                return;
            }
        }
    }
}

/// One request in flight; leaving is counted on drop.
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.now = s.now.saturating_sub(1);
        self.0.gauge.dec();
        if s.now == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// Once pingora enters its shutdown grace period (listeners closed), give
/// accepted connections [`ACCEPT_GRACE`] to send their request, then exit as
/// soon as no request has been in flight for [`DRAIN_QUIET`], instead of
/// sleeping the whole `shutdown_timeout`. The queue workers are told to stop
/// leasing at once and their attempts in progress are waited for; the
/// replay store is flushed last. From the start of shutdown, log lines are
/// written as they come.
pub fn drain_then_exit(
    mut phase: tokio::sync::broadcast::Receiver<ExecutionPhase>,
    in_flight: Arc<InFlight>,
    store: Arc<dyn ReplayStore>,
    queue: Option<Arc<QueueService>>,
) {
    std::thread::spawn(move || loop {
        match phase.blocking_recv() {
            // Whichever way pingora ends the process from here on, no log
            // line may be left in the buffer: write them as they come.
            Ok(ExecutionPhase::ShutdownStarted) => crate::logging::flush_for_exit(),
            Ok(ExecutionPhase::ShutdownGracePeriod) => {
                tracing::info!(
                    accept_grace_ms = ACCEPT_GRACE.as_millis() as u64,
                    in_flight = in_flight.count(),
                    "listeners closed, draining"
                );
                if let Some(q) = &queue {
                    q.stop();
                }
                std::thread::sleep(ACCEPT_GRACE);
                in_flight.wait_quiet(DRAIN_QUIET);
                if let Some(q) = &queue {
                    q.wait_stopped();
                }
                if let Err(e) = store.flush() {
                    tracing::error!(error = %e, "could not persist the replay store");
                }
                tracing::info!("in-flight requests drained, exiting");
                crate::logging::flush_for_exit();
                std::process::exit(0);
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn guards_count_and_waiting_ends_after_a_quiet_spell() {
        let t = InFlight::new(prometheus::IntGauge::new("t", "t").unwrap());
        let a = t.enter();
        let b = t.enter();
        assert_eq!((t.count(), t.gauge.get()), (2, 2));
        let waiter = {
            let t = t.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                t.wait_quiet(Duration::from_millis(50));
                started.elapsed()
            })
        };
        drop(a);
        let panicked = std::thread::spawn(move || {
            let _held = b;
            panic!("a request that panics still leaves");
        });
        assert!(panicked.join().is_err());
        assert!(waiter.join().unwrap() >= Duration::from_millis(50));
        assert_eq!((t.count(), t.gauge.get()), (0, 0));
    }
}
