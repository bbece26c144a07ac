//! The TLS handshake, run by hookgate rather than pingora's listener.
//!
//! pingora holds an unfinished handshake for a fixed 60 s whatever the
//! application's limits, logs every failure at ERROR and counts nothing. TLS
//! listeners are therefore registered as plain TCP and the handshake runs
//! here, after the PROXY protocol header if the listener expects one, within
//! `[limits].header_timeout`. Timeouts and failures are counted in
//! `hookgate_downstream_closed_total` (`tls_handshake_timeout`,
//! `tls_handshake_failed`) and logged at debug: a scanner on the public port
//! is not an operator's error. (Client-certificate refusals are also counted
//! by reason in `hookgate_tls_handshake_failures_total`.)

use crate::metrics::Metrics;
use pingora::listeners::tls::Acceptor;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::{GetSocketDigest, Stream};
use std::time::Duration;

/// Finish the handshake within `timeout`; `None` closes the connection.
pub async fn accept(
    acceptor: &Acceptor,
    l4: L4Stream,
    timeout: Duration,
    metrics: &Metrics,
    listener: &str,
) -> Option<Stream> {
    let peer = l4
        .get_socket_digest()
        .and_then(|d| d.peer_addr().map(|a| a.to_string()))
        .unwrap_or_default();
    let (reason, why) = match tokio::time::timeout(timeout, acceptor.tls_handshake(l4)).await {
        Ok(Ok(tls)) => return Some(Box::new(tls)),
        Ok(Err(e)) => ("tls_handshake_failed", e.to_string()),
        Err(_) => (
            "tls_handshake_timeout",
            format!("not finished within header_timeout ({timeout:?})"),
        ),
    };
    metrics.downstream_closed.with_label_values(&[reason]).inc();
    tracing::debug!(target: "hookgate::connection", listener, peer, reason, "closed: TLS handshake {why}");
    None
}
