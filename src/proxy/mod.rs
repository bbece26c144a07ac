//! The pingora `ProxyHttp` that composes hookgate's checks.
//!
//! Everything happens in `request_filter`, in an order chosen so that a
//! sender who cannot authenticate never makes hookgate buffer a body:
//!
//! 1. route match, header limits, signature/timestamp header precheck (no body read yet)
//! 2. body read into a bounded buffer, under a whole-request deadline
//! 3. signature over the exact bytes
//! 4. forward those bytes upstream, relay the answer
//!
//! Each step either continues or yields a [`Rejection`], turned into a
//! response in exactly one place ([`respond`]).

pub mod body;
pub mod ctx;
pub mod forward;
pub mod replay_guard;
pub mod respond;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::reject::{Reason, Rejection};
use crate::replay::ReplayStore;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use ctx::RequestCtx;
use pingora::connectors::http::Connector;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::{Error, ErrorType, Result};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Shared state behind every listener: the live config and the metrics.
pub struct Gateway {
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
    connector: Connector,
    replay: Arc<dyn ReplayStore>,
}

impl Gateway {
    /// A gateway serving `config`, swappable later through the same `ArcSwap`.
    pub fn new(
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        replay: Arc<dyn ReplayStore>,
    ) -> Self {
        Gateway {
            config,
            metrics,
            connector: Connector::new(None),
            replay,
        }
    }

    async fn handle(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<(), (Rejection, bool)> {
        let cfg = self.config.load_full();
        ctx.request_id = request_id(session, cfg.server.trust_request_id);
        check_header_limits(session, &cfg).map_err(|r| (r, true))?;

        // Which listener, which client: X-Forwarded-For counts only from a trusted proxy.
        let local = session.server_addr().and_then(|a| a.as_inet()).copied();
        let listener = cfg.listener_for(local);
        let peer = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        ctx.client_ip = match (peer, listener) {
            (Some(p), Some(l)) => {
                let xff = session.req_header().headers.get_all("x-forwarded-for");
                let hops: Vec<&str> = xff.iter().filter_map(|v| v.to_str().ok()).collect();
                Some(l.trusted_proxies.client_ip(p, hops.into_iter()))
            }
            (p, _) => p,
        };
        if let Some(l) = listener {
            l.ip.check(ctx.client_ip).map_err(|r| (r, true))?;
        }

        let req = session.req_header();
        let host = request_host(req);
        let path = req.uri.path().to_string();
        let route = cfg
            .route_for(host.as_deref(), &path)
            .cloned()
            .ok_or_else(|| {
                (
                    Rejection::new(Reason::NoRoute, format!("no route for {path}")),
                    true,
                )
            })?;
        ctx.route = Some(route.clone());
        route.ip.check(ctx.client_ip).map_err(|r| (r, true))?;

        let mut extra = Vec::new();
        if let Some(policy) = &route.client_cert {
            let identity = crate::tls::peer_identity(session);
            let forwarded = policy.check(identity.as_ref()).map_err(|r| (r, true))?;
            if let (Some(h), Some(id)) = (&policy.forward_header, forwarded) {
                extra.push((h.clone(), id));
            }
        }

        // Header-only signature checks run before the body is read, so a sender
        // without a valid-looking signature cannot make hookgate buffer a body.
        let now = SystemTime::now();
        let pre = match &route.verifier {
            Some(v) => match v
                .before_body(&request_parts(session), now)
                .map_err(|r| (r, true))?
            {
                crate::verify::BeforeBody::Continue(pre) => Some(pre),
                crate::verify::BeforeBody::Answer(reply) => {
                    ctx.settle(&self.metrics, "handshake");
                    respond::send_reply(session, ctx, reply, true).await;
                    return Ok(());
                }
            },
            None => None,
        };

        let declared =
            body::check_declared_length(session, route.max_body_bytes).map_err(|r| (r, true))?;
        if is_expect_continue(session) {
            // All checks that need no body passed: only now invite the client to send it.
            let _ = session.write_continue_response().await;
        }
        let body_started = Instant::now();
        let deadline = body_started + cfg.limits.request_timeout;
        let body = body::read_bounded(
            session,
            route.max_body_bytes,
            declared,
            deadline,
            cfg.limits.read_timeout,
        )
        .await
        .map_err(|r| (r, true))?;
        ctx.body_wait = body_started.elapsed();
        ctx.bytes_in = body.len() as u64;
        self.metrics
            .bytes_in
            .with_label_values(&[&route.name])
            .inc_by(ctx.bytes_in);

        let mut digest = None;
        if let (Some(v), Some(pre)) = (&route.verifier, &pre) {
            let done = v
                .after_body(pre, &request_parts(session), &body, now)
                .await
                .map_err(|r| (r, false))?;
            let verified = done.verified;
            self.metrics
                .signatures_verified
                .with_label_values(&[&route.name, &verified.key_id])
                .inc();
            if v.forward_header {
                extra.push((
                    http::HeaderName::from_static(forward::VERIFIED_HEADER),
                    format!("{}; key={}", verified.scheme, verified.key_id),
                ));
            }
            if let Some(reply) = done.answer {
                ctx.settle(&self.metrics, "handshake");
                respond::send_reply(session, ctx, reply, false).await;
                return Ok(());
            }
            digest = Some(verified.signature_digest);
        }

        let key = route.replay.as_ref().and_then(|p| {
            p.key
                .extract(&session.req_header().headers, digest.as_deref())
        });
        let reservation =
            match replay_guard::reserve(self.replay.as_ref(), &self.metrics, &cfg, &route, key)
                .await
                .map_err(|r| (r, false))?
            {
                replay_guard::Decision::Forward(r) => r,
                replay_guard::Decision::AckDuplicate => {
                    ctx.settle(&self.metrics, "duplicate");
                    let body =
                        serde_json::json!({ "status": "duplicate", "request_id": ctx.request_id })
                            .to_string();
                    respond::send_json(session, ctx, 200, body, false, None).await;
                    return Ok(());
                }
            };

        let origin = forward::Origin {
            client_ip: ctx.client_ip,
            proto: if crate::tls::is_tls(session) {
                "https"
            } else {
                "http"
            },
            extra: &extra,
            strip: route
                .client_cert
                .as_ref()
                .and_then(|p| p.forward_header.as_ref()),
        };
        let forwarded = forward::forward(
            session,
            ctx,
            &route,
            &self.connector,
            &self.metrics,
            &origin,
            body,
        )
        .await;
        if let Some(r) = reservation {
            replay_guard::settle(
                self.replay.as_ref(),
                &self.metrics,
                &route,
                r,
                ctx.upstream_status,
            )
            .await;
        }
        forwarded.map_err(|r| (r, false))?;
        Ok(())
    }
}

/// The request as the verification engine sees it.
fn request_parts(session: &Session) -> crate::verify::RequestParts<'_> {
    let req = session.req_header();
    crate::verify::RequestParts {
        method: req.method.as_str(),
        path_and_query: req
            .uri
            .path_and_query()
            .map_or_else(|| req.uri.path(), |p| p.as_str()),
        headers: &req.headers,
    }
}

/// Refuse requests whose header block exceeds the configured size or count.
fn check_header_limits(session: &Session, cfg: &Config) -> Result<(), Rejection> {
    let headers = &session.req_header().headers;
    if headers.len() > cfg.limits.max_headers {
        return Err(Rejection::new(
            Reason::BadRequest,
            format!(
                "{} headers exceed limit {}",
                headers.len(),
                cfg.limits.max_headers
            ),
        ));
    }
    let size: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > cfg.limits.max_header_bytes {
        return Err(Rejection::new(
            Reason::BadRequest,
            format!(
                "{size} header bytes exceed limit {}",
                cfg.limits.max_header_bytes
            ),
        ));
    }
    Ok(())
}

fn is_expect_continue(session: &Session) -> bool {
    session
        .req_header()
        .headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Lower-cased host without port, from `Host` or the absolute URI.
fn request_host(req: &pingora::http::RequestHeader) -> Option<String> {
    let raw = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri.authority().map(|a| a.to_string()))?;
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // [v6]:port
        rest.split(']').next().unwrap_or(rest).to_string()
    } else {
        raw.rsplit_once(':')
            .map_or(raw.as_str(), |(h, _)| h)
            .to_string()
    };
    Some(host.to_ascii_lowercase())
}

/// Use a well-formed incoming id when trusted; otherwise generate one. A
/// forged id must not be able to inject into logs, hence the charset check.
fn request_id(session: &Session, trust: bool) -> String {
    if trust {
        if let Some(v) = session
            .req_header()
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
        {
            if !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
            {
                return v.to_string();
            }
        }
    }
    uuid::Uuid::new_v4().to_string()
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        crate::connection::header_received();
        RequestCtx {
            start: Some(Instant::now()),
            ..Default::default()
        }
    }

    /// Every request is answered here (see the module docs and `forward`):
    /// checks, bounded body read, verification and forwarding. Returning
    /// `Ok(true)` tells pingora the response was already sent.
    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        self.metrics.in_flight.inc();
        let result = self.handle(session, ctx).await;
        if let Err((rejection, close)) = result {
            ctx.settle(&self.metrics, rejection.reason.label());
            ctx.detail = rejection.detail;
            respond::send_rejection(session, ctx, rejection.reason, close).await;
        }
        self.metrics.in_flight.dec();
        Ok(true)
    }

    /// Never reached: `request_filter` always answers. Kept as an explicit
    /// error so a future change that falls through cannot proxy unverified.
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        Error::e_explain(
            ErrorType::InternalError,
            "hookgate forwards from request_filter only",
        )
    }

    /// One JSON access-log line and the request metrics.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let route = ctx.route_name().to_string();
        if ctx.outcome.is_none() {
            // Failed before hookgate's own phase (e.g. a malformed request line).
            ctx.settle(
                &self.metrics,
                if e.is_some() {
                    "bad_request"
                } else {
                    "aborted"
                },
            );
        }
        let outcome = ctx.outcome.unwrap_or("aborted");
        let total = ctx.start.map(|s| s.elapsed()).unwrap_or_default();
        let overhead = total
            .saturating_sub(ctx.body_wait)
            .saturating_sub(ctx.upstream_wait);
        if ctx.route.is_some() {
            self.metrics
                .overhead
                .with_label_values(&[&route])
                .observe(overhead.as_secs_f64());
        }
        let req = session.req_header();
        let status = if ctx.status != 0 {
            ctx.status
        } else {
            session.response_written().map_or(0, |r| r.status.as_u16())
        };
        tracing::info!(
            target: "hookgate::access",
            route = %route,
            method = %req.method,
            path = %req.uri.path(),
            status,
            outcome,
            reason = if outcome == "forwarded" { "" } else { outcome },
            detail = %ctx.detail,
            request_id = %ctx.request_id,
            peer = %ctx.client_ip.map(|i| i.to_string()).unwrap_or_default(),
            upstream = %ctx.upstream_addr.as_deref().unwrap_or(""),
            upstream_status = ctx.upstream_status.unwrap_or(0),
            bytes_in = ctx.bytes_in,
            duration_ms = total.as_secs_f64() * 1000.0,
            upstream_ms = ctx.upstream_wait.as_secs_f64() * 1000.0,
            error = %e.map(|e| e.to_string()).unwrap_or_default(),
            "request"
        );
    }
}
