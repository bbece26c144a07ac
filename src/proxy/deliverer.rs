//! The queue workers' way upstream: the same [`forward::send`] direct mode
//! uses, so a queued delivery goes to the route's upstreams with the route's
//! TLS, timeouts, pooled connections and stale-connection retry rule. There
//! is no second HTTP client.

use super::ctx::RequestCtx;
use super::forward::{self, Upstreams};
use crate::config::Config;
use crate::queue::policy::{parse_retry_after, AttemptResult, DeliveryResult};
use crate::queue::{Deliver, OutgoingAttempt};
use crate::reject::Reason;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::http::RequestHeader;
use std::sync::Arc;
use std::time::SystemTime;

/// Delivers queued requests through the gateway's upstream forwarder, to
/// the route as currently configured (a reload that changes its upstreams
/// applies to the next attempt).
pub struct Deliverer {
    config: Arc<ArcSwap<Config>>,
    upstreams: Arc<Upstreams>,
}

impl Deliverer {
    /// A deliverer over the live config and the gateway's connection pool.
    pub fn new(config: Arc<ArcSwap<Config>>, upstreams: Arc<Upstreams>) -> Self {
        Deliverer { config, upstreams }
    }
}

/// No answer from the upstream (retried).
fn failed(why: impl Into<String>) -> DeliveryResult {
    DeliveryResult {
        result: AttemptResult::Unreachable(why.into()),
        retry_after: None,
    }
}

/// The stored request as a request header, exactly as it was stored.
fn request(a: &OutgoingAttempt) -> Result<RequestHeader, String> {
    let mut req = RequestHeader::build(a.method.as_str(), a.path.as_bytes(), Some(a.headers.len()))
        .map_err(|e| format!("stored request: {e}"))?;
    for (name, value) in &a.headers {
        req.append_header(name.clone(), value.clone())
            .map_err(|e| format!("stored header {name}: {e}"))?;
    }
    Ok(req)
}

#[async_trait]
impl Deliver for Deliverer {
    async fn deliver(&self, route: &str, a: &OutgoingAttempt) -> DeliveryResult {
        let cfg = self.config.load_full();
        let Some(route) = cfg.routes.iter().find(|r| r.name == route) else {
            return failed(format!("route {route:?} is not in the running config"));
        };
        let req = match request(a) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        let mut ctx = RequestCtx::new(a.delivery_id.to_string());
        match forward::send(&self.upstreams, route, &req, &a.body, &mut ctx).await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .header(http::header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                self.upstreams.discard(response).await;
                DeliveryResult {
                    result: AttemptResult::Status(status),
                    retry_after,
                }
            }
            Err(r) if r.reason == Reason::UpstreamTimeout => DeliveryResult {
                result: AttemptResult::Timeout,
                retry_after: None,
            },
            Err(r) => failed(r.detail),
        }
    }
}
