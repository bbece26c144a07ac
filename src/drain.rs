//! Graceful shutdown: once the listeners close, wait for the requests already
//! accepted, then exit as soon as nothing is left instead of sleeping the
//! whole `shutdown_timeout`.

use crate::connection::ACCEPT_GRACE;
use crate::metrics::Metrics;
use crate::replay::ReplayStore;
use pingora::server::ExecutionPhase;
use std::sync::Arc;
use std::time::Duration;

/// How long no request may be in flight before a draining process exits.
const DRAIN_QUIET: Duration = Duration::from_millis(300);

/// Once pingora enters its shutdown grace period (listeners closed), give
/// accepted connections [`ACCEPT_GRACE`] to send their request, then exit as
/// soon as no request has been in flight for [`DRAIN_QUIET`], instead of
/// sleeping the whole `shutdown_timeout`. The replay store is flushed first.
pub fn drain_then_exit(
    mut phase: tokio::sync::broadcast::Receiver<ExecutionPhase>,
    metrics: Arc<Metrics>,
    store: Arc<dyn ReplayStore>,
) {
    std::thread::spawn(move || loop {
        match phase.blocking_recv() {
            Ok(ExecutionPhase::ShutdownGracePeriod) => {
                tracing::info!(
                    accept_grace_ms = ACCEPT_GRACE.as_millis() as u64,
                    "listeners closed, draining"
                );
                std::thread::sleep(ACCEPT_GRACE);
                // A request whose header was read late in the grace enters the
                // gauge a moment later: wait for a quiet spell, not a single
                // zero reading.
                let mut quiet = Duration::ZERO;
                while quiet < DRAIN_QUIET {
                    std::thread::sleep(Duration::from_millis(20));
                    quiet = if metrics.in_flight.get() > 0 {
                        Duration::ZERO
                    } else {
                        quiet + Duration::from_millis(20)
                    };
                }
                if let Err(e) = store.flush() {
                    tracing::error!(error = %e, "could not persist the replay store");
                }
                tracing::info!("in-flight requests drained, exiting");
                std::process::exit(0);
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    });
}
