//! Rules for a client connection while it has no request in progress,
//! wrapped around pingora's HTTP proxy app.
//!
//! pingora 0.9.1 bounds each *read* of a request header (60 s, restarted by
//! every byte) but not the header as a whole (pingora #447), so a client
//! trickling one byte a minute holds a connection and its buffers for as long
//! as it likes. [`Connections`] gives every request a whole-header deadline,
//! `[limits].header_timeout`, counted from the moment the connection is ready
//! for a request: after accept (and TLS), or after the previous response on a
//! keep-alive connection. A connection that misses it is closed; the kernel's
//! byte counter says whether the client had started a request
//! (`header_timeout`, logged as a warning) or sent nothing (`idle`).
//!
//! It also holds pingora's shutdown cleanup back by [`ACCEPT_GRACE`]: pingora
//! closes its accept loops and, in the same instant, drops every connection
//! still waiting for a request header. A connection accepted a moment before
//! the listeners closed, whose request was still on its way, was reset; during
//! a binary upgrade that failed a sender's delivery for nothing (seen in CI as
//! 1 failure in 3000 upgrade-test requests).

use crate::config::Config;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::apps::{HttpServerApp, HttpServerOptions, ReusedHttpStream};
use pingora::protocols::http::v2::server::H2Options;
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection accepted before the listeners closed may take to send
/// its request. Covers a TLS handshake plus a request from a distant sender.
pub const ACCEPT_GRACE: Duration = Duration::from_secs(1);

tokio::task_local! {
    /// Set once pingora has parsed the request header of the current request.
    static HEADER_RECEIVED: Arc<AtomicBool>;
}

/// Record that the current request's header is complete, stopping its
/// header deadline. Called by the proxy as soon as pingora hands it a request.
pub fn header_received() {
    let _ = HEADER_RECEIVED.try_with(|seen| seen.store(true, Ordering::Release));
}

/// pingora's HTTP app with a whole-header deadline and a shutdown grace.
pub struct Connections<A> {
    inner: Arc<A>,
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
}

impl<A: HttpServerApp + Send + Sync + 'static> Connections<A> {
    /// `app` under these rules, with deadlines from the live config.
    pub fn new(app: A, config: Arc<ArcSwap<Config>>, metrics: Arc<Metrics>) -> Self {
        Connections {
            inner: Arc::new(app),
            config,
            metrics,
        }
    }
}

#[async_trait]
impl<A: HttpServerApp + Send + Sync + 'static> HttpServerApp for Connections<A> {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        let deadline = self.config.load().limits.header_timeout;
        let socket = session.digest().and_then(|d| d.socket_digest.clone());
        let received_before = bytes_received(socket.as_deref());
        let peer = session.client_addr().map(|a| a.to_string());
        let seen = Arc::new(AtomicBool::new(false));
        let serve =
            HEADER_RECEIVED.scope(seen.clone(), self.inner.process_new_http(session, shutdown));
        tokio::pin!(serve);
        tokio::select! {
            done = &mut serve => return done,
            _ = tokio::time::sleep(deadline) => {}
        }
        if seen.load(Ordering::Acquire) {
            // The header made it in time; the body has its own deadlines.
            return serve.await;
        }
        // Dropping the future closes the connection.
        let started = match (received_before, bytes_received(socket.as_deref())) {
            (Some(before), Some(now)) => now > before,
            // Without the kernel's counter, assume the worst.
            _ => true,
        };
        if started {
            tracing::warn!(
                target: "hookgate::connection",
                peer = peer.as_deref().unwrap_or("-"),
                header_timeout_ms = deadline.as_millis() as u64,
                "closed: request header not complete within header_timeout"
            );
            self.metrics
                .downstream_closed
                .with_label_values(&["header_timeout"])
                .inc();
        } else {
            tracing::debug!(target: "hookgate::connection", peer = peer.as_deref().unwrap_or("-"), "closed idle connection");
            self.metrics
                .downstream_closed
                .with_label_values(&["idle"])
                .inc();
        }
        None
    }

    fn h2_options(&self) -> Option<H2Options> {
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

/// Bytes the kernel has received on this TCP connection so far.
fn bytes_received(socket: Option<&pingora::protocols::SocketDigest>) -> Option<u64> {
    socket?.tcp_info().map(|i| i.tcpi_bytes_received)
}
