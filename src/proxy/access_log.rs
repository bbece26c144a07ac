//! One JSON access-log line per request, and the time hookgate itself spent.

use super::ctx::{Outcome, RequestCtx};
use super::upstream::IpText;
use crate::metrics::RouteMetrics;
use std::fmt;

/// An optional value, logged as empty when absent.
struct Shown<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}

/// Log the request and observe its overhead (time not spent waiting for the
/// client's body or the upstream) in its route's `metrics`.
pub fn write(metrics: &RouteMetrics, ctx: &RequestCtx, outcome: Outcome) {
    let total = ctx.start.elapsed();
    let overhead = total
        .saturating_sub(ctx.body_wait)
        .saturating_sub(ctx.upstream_wait);
    if ctx.route.is_some() {
        metrics.overhead.observe(overhead.as_secs_f64());
    }
    let label = outcome.label();
    tracing::info!(
        target: "hookgate::access",
        route = %ctx.route_name(),
        method = %ctx.method,
        path = %ctx.path,
        status = ctx.status,
        outcome = label,
        reason = if matches!(outcome, Outcome::Forwarded | Outcome::Queued) { "" } else { label },
        detail = %ctx.detail,
        request_id = %ctx.request_id,
        peer = %Shown(ctx.client_ip.map(IpText::new)),
        upstream = %Shown(ctx.upstream_addr.as_ref()),
        upstream_status = ctx.upstream_status.unwrap_or(0),
        delivery_id = %ctx.delivery_id.as_deref().unwrap_or(""),
        bytes_in = ctx.bytes_in,
        duration_ms = total.as_secs_f64() * 1000.0,
        upstream_ms = ctx.upstream_wait.as_secs_f64() * 1000.0,
        "request"
    );
}
