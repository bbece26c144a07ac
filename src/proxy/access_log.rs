//! One JSON access-log line per request, and the time hookgate itself spent.

use super::ctx::{Outcome, RequestCtx};
use crate::metrics::RouteMetrics;

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
        peer = %ctx.client_ip.map(|i| i.to_string()).unwrap_or_default(),
        upstream = %ctx.upstream_addr.as_deref().unwrap_or(""),
        upstream_status = ctx.upstream_status.unwrap_or(0),
        delivery_id = %ctx.delivery_id.as_deref().unwrap_or(""),
        bytes_in = ctx.bytes_in,
        duration_ms = total.as_secs_f64() * 1000.0,
        upstream_ms = ctx.upstream_wait.as_secs_f64() * 1000.0,
        "request"
    );
}
