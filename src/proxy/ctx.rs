//! Per-request state shared across pingora's phases.

use crate::config::Route;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What happened to a request, for the access log and metrics.
#[derive(Default)]
pub struct RequestCtx {
    /// When hookgate started processing (headers parsed).
    pub start: Option<Instant>,
    /// The id sent upstream and logged.
    pub request_id: String,
    /// The matched route.
    pub route: Option<Arc<Route>>,
    /// Client address as hookgate sees it.
    pub client_ip: Option<std::net::IpAddr>,
    /// `forwarded`, or a rejection label.
    pub outcome: Option<&'static str>,
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
    pub upstream_addr: Option<String>,
    /// The request was already counted in `hookgate_requests_total`.
    pub counted: bool,
}

impl RequestCtx {
    /// Record the outcome and count it, once, before the response is written:
    /// whoever sees the response then also sees the metric.
    pub fn settle(&mut self, metrics: &crate::metrics::Metrics, outcome: &'static str) {
        self.outcome = Some(outcome);
        if !self.counted {
            self.counted = true;
            metrics.count_request(self.route_name(), outcome);
        }
    }

    /// Name of the matched route, or the metric placeholder.
    pub fn route_name(&self) -> &str {
        self.route
            .as_ref()
            .map_or(crate::metrics::NO_ROUTE, |r| r.name.as_str())
    }
}
