//! Graceful shutdown: stop accepting, answer everything already accepted,
//! exit as soon as nothing is left.
//!
//! pingora 0.9.1 closes its accept loops and, in the same instant, drops every
//! connection still waiting for its first request header (`http_cleanup`
//! wakes them). A connection accepted a few microseconds before the listeners
//! closed, whose request bytes were still on their way, was reset; during a
//! binary upgrade that is a sender's delivery failing for nothing (seen in CI
//! as 1 failure in 3000 upgrade-test requests). [`Graceful`] holds that
//! cleanup back for [`ACCEPT_GRACE`], so such a request is read and answered
//! (with `Connection: close`), and only connections idle for the whole grace
//! are dropped.

use crate::metrics::Metrics;
use crate::replay::ReplayStore;
use async_trait::async_trait;
use pingora::apps::{HttpServerApp, HttpServerOptions, ReusedHttpStream};
use pingora::protocols::http::ServerSession;
use pingora::server::{ExecutionPhase, ShutdownWatch};
use pingora::services::listening::Service;
use std::sync::Arc;
use std::time::Duration;

/// How long a connection accepted before the listeners closed may take to send
/// its request. Covers a TLS handshake plus a request from a distant sender.
pub const ACCEPT_GRACE: Duration = Duration::from_secs(1);

/// How long no request may be in flight before a draining process exits.
const DRAIN_QUIET: Duration = Duration::from_millis(300);

/// A pingora HTTP app whose shutdown cleanup waits [`ACCEPT_GRACE`].
pub struct Graceful<A> {
    inner: Arc<A>,
}

impl<A: HttpServerApp + Send + Sync + 'static> Graceful<A> {
    /// A listening service named `name` running `app` with a delayed cleanup.
    pub fn service(name: &str, app: A) -> Service<Self> {
        Service::new(
            name.to_string(),
            Graceful {
                inner: Arc::new(app),
            },
        )
    }
}

#[async_trait]
impl<A: HttpServerApp + Send + Sync + 'static> HttpServerApp for Graceful<A> {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        self.inner.process_new_http(session, shutdown).await
    }

    fn h2_options(&self) -> Option<pingora::protocols::http::v2::server::H2Options> {
        self.inner.h2_options()
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        self.inner.server_options()
    }

    async fn http_cleanup(&self) {
        tokio::time::sleep(ACCEPT_GRACE).await;
        self.inner.http_cleanup().await;
    }
}

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
