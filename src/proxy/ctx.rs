//! What one request did, for its access-log line and metrics; and how it ended.

use crate::config::Route;
use crate::reject::{Reason, Rejection};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a request ended: one label for the metric, the JSON body and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream's answer (any status) was relayed.
    Forwarded,
    /// An already-delivered request was acknowledged without forwarding.
    Duplicate,
    /// Stored durably for later delivery and acknowledged (queue mode).
    Queued,
    /// hookgate answered the provider's endpoint-verification handshake itself.
    Handshake,
    /// hookgate refused it.
    Rejected(Reason),
}

impl Outcome {
    /// `forwarded`, `duplicate`, `handshake`, `queued` or the rejection's label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Duplicate => "duplicate",
            Outcome::Handshake => "handshake",
            Outcome::Queued => "queued",
            Outcome::Rejected(r) => r.label(),
        }
    }
}

/// Per-request facts gathered by the stages.
pub struct RequestCtx {
    /// When the request header had been read.
    pub start: Instant,
    /// The id sent upstream and logged.
    pub request_id: String,
    /// Method, for the log.
    pub method: http::Method,
    /// The normalised path (or the raw target when it was refused), for the log.
    pub path: String,
    /// The matched route.
    pub route: Option<Arc<Route>>,
    /// Client address as hookgate sees it.
    pub client_ip: Option<IpAddr>,
    /// Log-only detail for a rejection or failure.
    pub detail: String,
    /// Status sent to the client.
    pub status: u16,
    /// Body bytes received.
    pub bytes_in: u64,
    /// Time spent waiting for the client's body.
    pub body_wait: Duration,
    /// Time spent waiting for the upstream.
    pub upstream_wait: Duration,
    /// The upstream's status, if one answered.
    pub upstream_status: Option<u16>,
    /// The upstream address used.
    pub upstream_addr: Option<pingora::protocols::l4::socket::SocketAddr>,
    /// The queued delivery's id (queue mode).
    pub delivery_id: Option<String>,
}

impl RequestCtx {
    /// A request whose header was just read.
    pub fn new(request_id: String) -> Self {
        RequestCtx {
            start: Instant::now(),
            request_id,
            method: http::Method::default(),
            path: String::new(),
            route: None,
            client_ip: None,
            detail: String::new(),
            status: 0,
            bytes_in: 0,
            body_wait: Duration::ZERO,
            upstream_wait: Duration::ZERO,
            upstream_status: None,
            upstream_addr: None,
            delivery_id: None,
        }
    }

    /// Name of the matched route, or the metric placeholder.
    pub fn route_name(&self) -> &str {
        self.route
            .as_ref()
            .map_or(crate::metrics::NO_ROUTE, |r| r.name.as_str())
    }

    /// Keep a rejection's detail for the log and return its outcome.
    pub fn rejected(&mut self, r: Rejection) -> Outcome {
        self.detail = r.detail;
        Outcome::Rejected(r.reason)
    }
}
