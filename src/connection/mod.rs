//! The life of a client connection, from accept to close: hookgate's own
//! pingora `ServerApp`, which never enters pingora's proxy loop.
//!
//! accept → connection cap → PROXY protocol header → TLS handshake → then,
//! for each request on the connection: read the header ([`header`]) → answer
//! it ([`Gateway::serve`]) → keep the connection for the next one, or close.
//!
//! - **Connection cap.** Each `[[listener]]` holds at most `max_connections`
//!   client connections; past it a new connection is closed at once and
//!   counted (`hookgate_downstream_closed_total{reason="max_connections"}`).
//!   The slot is a guard, released however the connection ends.
//! - **Handshakes** run here under `header_timeout` ([`handshake`]).
//! - **Keep-alive and pipelining.** Responses say `Connection: keep-alive`
//!   only when the connection really stays open; requests a client pipelines
//!   behind one are answered in order (RFC 9112 §9.3.2). Once shutdown
//!   begins every response says `Connection: close`.
//! - **Shutdown.** pingora closes its accept loops and, in the same instant,
//!   would drop every connection waiting for a request. A connection accepted
//!   just before, whose request was still on its way, was reset; during a
//!   binary upgrade that failed a sender's delivery for nothing. So idle
//!   connections are closed only [`ACCEPT_GRACE`] later, and one whose request
//!   has started is given its header deadline.

pub mod handshake;
pub mod header;

use crate::config::{Config, Listener};
use crate::identity::ClientIdentity;
use crate::metered::Metered;
use crate::metrics::Metrics;
use crate::proxy::{Conn, Downstream, Gateway};
use crate::proxy_protocol::ProxyProtocol;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use header::{Closing, Gone, HeaderLimits, HeaderRead};
use pingora::apps::ServerApp;
use pingora::listeners::tls::Acceptor;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::{GetSocketDigest, Stream};
use pingora::server::ShutdownWatch;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long a closing connection keeps discarding what its client still
/// sends, so that the client reads hookgate's answer (see [`linger`]).
pub const LINGER_TIME: Duration = Duration::from_secs(5);
/// Read size while lingering.
const LINGER_BUF: usize = 16 * 1024;

/// How long a connection accepted before the listeners closed may take to send
/// its request. Covers a TLS handshake plus a request from a distant sender.
pub const ACCEPT_GRACE: Duration = Duration::from_secs(1);

/// Every public listener's connections.
pub struct Edge {
    gateway: Gateway,
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
    proxy_protocol: ProxyProtocol,
    listeners: Vec<Arc<Slots>>,
    closing: Closing,
}

/// One listener's connection slots and TLS acceptor.
struct Slots {
    /// The listener as configured at start-up (addresses need a restart).
    listener: Listener,
    tls: Option<Acceptor>,
    open: AtomicUsize,
    gauge: prometheus::IntGauge,
}

/// A held connection slot, released on drop.
struct Slot(Arc<Slots>);

impl Slots {
    fn take(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        self.gauge.inc();
        Some(Slot(self.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.gauge.dec();
    }
}

impl Edge {
    /// Serve the config's listeners with `gateway`; `acceptors` holds the TLS
    /// acceptor of each TLS listener, by name.
    pub fn new(
        gateway: Gateway,
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        mut acceptors: HashMap<String, Acceptor>,
    ) -> Self {
        let listeners = config
            .load()
            .listeners
            .iter()
            .map(|l| {
                Arc::new(Slots {
                    listener: l.clone(),
                    tls: acceptors.remove(&l.name),
                    open: AtomicUsize::new(0),
                    gauge: metrics.downstream_connections.with_label_values(&[&l.name]),
                })
            })
            .collect();
        Edge {
            gateway,
            proxy_protocol: ProxyProtocol::new(config.clone(), metrics.clone()),
            config,
            metrics,
            listeners,
            closing: Closing::default(),
        }
    }

    /// Cap, PROXY header, TLS; then the requests.
    async fn connection(&self, stream: Stream, shutdown: &ShutdownWatch) {
        let Ok(mut l4) = stream.into_any().downcast::<L4Stream>() else {
            return;
        };
        let local = l4
            .get_socket_digest()
            .and_then(|d| d.local_addr().and_then(|a| a.as_inet()).copied());
        let Some(slots) = local
            .and_then(|a| self.listeners.iter().find(|s| s.listener.serves(a)))
            .cloned()
        else {
            return;
        };
        let cfg = self.config.load_full();
        // The live value: a reload may change the cap.
        let max = cfg
            .listeners
            .iter()
            .find(|l| l.addr == slots.listener.addr)
            .map_or(slots.listener.max_connections, |l| l.max_connections);
        let Some(_slot) = slots.take(max) else {
            self.metrics
                .downstream_closed
                .with_label_values(&["max_connections"])
                .inc();
            tracing::debug!(target: "hookgate::connection", listener = %slots.listener.name, max_connections = max, "closed: listener is at max_connections");
            return;
        };
        if self.proxy_protocol.admit(&mut l4).await.is_err() {
            return;
        }
        let timeout = cfg.limits.header_timeout;
        drop(cfg);
        let stream: Stream = match &slots.tls {
            Some(acceptor) => {
                match handshake::accept(acceptor, *l4, timeout, &self.metrics, &slots.listener.name)
                    .await
                {
                    Some(tls) => tls,
                    None => return,
                }
            }
            None => l4,
        };
        let conn = Conn {
            tls: slots.tls.is_some(),
            identity: peer_identity(&stream),
            shutdown: shutdown.clone(),
        };
        self.requests(stream, &conn).await;
    }

    /// Read and answer requests until the connection closes.
    async fn requests(&self, stream: Stream, conn: &Conn) {
        let (metered, meter) = Metered::new(stream);
        let mut stream: Stream = Box::new(metered);
        let mut pipelined = None;
        loop {
            let mut session = Downstream::new(stream);
            session.set_pipelining_enabled(true);
            let already = pipelined
                .as_ref()
                .map_or(0, |p: &bytes::BytesMut| p.len() as u64);
            if let Some(prefix) = pipelined.take() {
                session.set_pipelined_prefix(prefix);
            }
            let limits = {
                let cfg = self.config.load();
                HeaderLimits {
                    timeout: cfg.limits.header_timeout,
                    max_bytes: cfg.limits.max_header_bytes as u64,
                }
            };
            match header::read(&mut session, &meter, already, &limits, &self.closing).await {
                HeaderRead::Request => self.gateway.serve(&mut session, conn).await,
                HeaderRead::Refused(r) => {
                    self.gateway.refuse_header(&mut session, conn, r).await;
                    meter.uncap();
                    linger(session).await;
                    return;
                }
                HeaderRead::Gone(gone) => {
                    self.closed(&session, gone, &limits);
                    return;
                }
            }
            if !session.will_keepalive() && !session.is_body_done() {
                linger(session).await;
                return;
            }
            match session.reuse().await {
                Ok(Some(next)) => (stream, pipelined) = next.into_parts(),
                _ => return,
            }
        }
    }

    fn closed(&self, session: &Downstream, gone: Gone, limits: &HeaderLimits) {
        let peer = session.client_addr().map(|a| a.to_string());
        let peer = peer.as_deref().unwrap_or("-");
        match gone {
            Gone::HeaderTimeout => {
                tracing::warn!(
                    target: "hookgate::connection",
                    peer,
                    header_timeout_ms = limits.timeout.as_millis() as u64,
                    "closed: request header not complete within header_timeout"
                );
                self.metrics
                    .downstream_closed
                    .with_label_values(&["header_timeout"])
                    .inc();
            }
            Gone::Idle => {
                tracing::debug!(target: "hookgate::connection", peer, "closed idle connection");
                self.metrics
                    .downstream_closed
                    .with_label_values(&["idle"])
                    .inc();
            }
            Gone::Closed | Gone::Shutdown => {}
        }
    }
}

/// Close a connection whose client may still be sending (a body refused
/// before it was read, a header refused while it arrived): send FIN, then
/// read and discard until the client closes, for at most [`LINGER_TIME`].
///
/// Closing a socket with unread bytes makes the kernel send a reset, and a
/// client still writing its body then sees the reset instead of hookgate's
/// `413`, `503 overloaded` or `431` (nginx's lingering close, for the same
/// reason). It costs no memory (one small buffer) and the connection keeps
/// its `max_connections` slot meanwhile.
async fn linger(mut session: Downstream) {
    session.shutdown().await;
    let mut stream = session.into_inner();
    let mut buf = vec![0u8; LINGER_BUF];
    let discard = async { while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {} };
    let _ = pingora::time::timeout(LINGER_TIME, discard).await;
}

/// The verified client identity of a TLS connection, if any.
fn peer_identity(stream: &Stream) -> Option<ClientIdentity> {
    stream
        .get_ssl_digest()?
        .extension
        .get::<ClientIdentity>()
        .cloned()
}

#[async_trait]
impl ServerApp for Edge {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        self.connection(stream, shutdown).await;
        // Keep-alive is handled above: nothing goes back to pingora.
        None
    }

    async fn cleanup(&self) {
        tokio::time::sleep(ACCEPT_GRACE).await;
        self.closing.close();
    }
}
