//! The request path: one request, header already read, answered in four
//! named stages that read top-down.
//!
//! 1. [`admit`]: framing, target and host normalisation, allowlists, route,
//!    client certificate, signature headers; no body is read yet, so a
//!    sender who cannot authenticate never makes hookgate buffer one. A
//!    handshake the route's verifier answers from the request line and
//!    headers alone (Meta `hub.challenge`, Dropbox `challenge`, Asana
//!    `X-Hook-Secret`...) ends here;
//! 2. [`body`]: the body, leased from the global budget, read whole into a
//!    bounded buffer under a deadline;
//! 3. verify: the signature over those exact bytes; a signed handshake
//!    (Zoom, Twitch, Slack, SNS...) is answered here, once verified;
//! 4. deliver: replay reservation, then either [`forward`] the verified
//!    bytes and relay the upstream's answer (direct mode), or [`enqueue`]
//!    them durably and acknowledge (queue mode; the workers deliver later
//!    through the same [`forward::send`], see [`deliverer`]).
//!
//! Each stage either continues, yields a handshake answer (never reserved,
//! never forwarded, counted as `handshake`), or yields a [`Rejection`]; every
//! answer hookgate makes itself is written in one place ([`respond`]). The request's [`Outcome`] is counted
//! before its response goes out, so whoever sees the response also sees the
//! metric. The in-flight count and the replay reservation are guards that
//! settle on drop: a request that panics or is cancelled leaks neither.

pub mod access_log;
pub mod admit;
pub mod body;
pub mod budget;
pub mod ctx;
pub mod deliverer;
pub mod enqueue;
pub mod forward;
pub mod replay_guard;
pub mod respond;
pub mod upstream;

use crate::config::Config;
use crate::drain::InFlight;
use crate::identity::ClientIdentity;
use crate::metrics::{Metrics, RouteMetrics};
use crate::queue::QueueStore;
use crate::reject::Rejection;
use crate::replay::ReplayStore;
use crate::verify::{AfterBody, Reply};
use admit::{Admission, Admitted};
use arc_swap::ArcSwap;
use body::{BodyLimits, Buffered};
use budget::BodyBudget;
use ctx::{Outcome, RequestCtx};
use forward::Upstreams;
use replay_guard::Decision;
use std::sync::Arc;
use std::time::Instant;

/// The client side of one HTTP/1.x connection.
pub type Downstream = pingora::protocols::http::v1::server::HttpSession;

/// What the connection layer knows about the connection a request came on.
pub struct Conn {
    /// The connection is TLS.
    pub tls: bool,
    /// The verified client certificate's identity, if any.
    pub identity: Option<ClientIdentity>,
    /// Becomes true when shutdown begins.
    pub shutdown: pingora::server::ShutdownWatch,
}

impl Conn {
    /// Shutdown has begun: responses close their connection.
    pub fn draining(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// Shared state behind every listener.
pub struct Gateway {
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
    upstreams: Arc<Upstreams>,
    replay: Arc<dyn ReplayStore>,
    queue: Option<Arc<dyn QueueStore>>,
    budget: Arc<BodyBudget>,
    in_flight: Arc<InFlight>,
    /// The series of requests no route matched.
    no_route: RouteMetrics,
}

/// What the stages produced for the client.
enum Answer {
    /// The upstream's final response, to relay (boxed: it holds a whole
    /// upstream session).
    Relay(Box<forward::Response>),
    /// Already delivered: acknowledge.
    Duplicate,
    /// A handshake the route's verifier answered: no replay reservation,
    /// nothing forwarded.
    Handshake(Reply),
    /// Durably queued: acknowledge with this status.
    Queued(http::StatusCode),
}

impl Gateway {
    /// A gateway serving `config`, swappable later through the same
    /// `ArcSwap`. `upstreams` is the connection pool (shared with the queue
    /// workers); `queue` the durable-delivery store, when `[queue]` is set.
    pub fn new(
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        upstreams: Arc<Upstreams>,
        replay: Arc<dyn ReplayStore>,
        queue: Option<Arc<dyn QueueStore>>,
        in_flight: Arc<InFlight>,
    ) -> Self {
        let budget = BodyBudget::new(
            config.load().limits.max_buffered_bytes,
            metrics.buffered_body_bytes.clone(),
        );
        Gateway {
            config,
            no_route: RouteMetrics::no_route(&metrics),
            metrics,
            upstreams,
            replay,
            queue,
            budget,
            in_flight,
        }
    }

    /// Answer one request whose header was read.
    pub async fn serve(&self, session: &mut Downstream, conn: &Conn) {
        let _in_flight = self.in_flight.enter();
        let cfg = self.config.load_full();
        let mut ctx = RequestCtx::new(request_id(session, cfg.server.trust_request_id));
        ctx.method = session.req_header().method.clone();
        // A client that stops reading the response must not hold it for ever.
        session.set_write_timeout(Some(cfg.limits.read_timeout));
        let answer = self.stages(session, conn, &cfg, &mut ctx).await;
        let outcome = match &answer {
            Ok(Answer::Relay(_)) => Outcome::Forwarded,
            Ok(Answer::Duplicate) => Outcome::Duplicate,
            Ok(Answer::Handshake(_)) => Outcome::Handshake,
            Ok(Answer::Queued(_)) => Outcome::Queued,
            Err(r) => Outcome::Rejected(r.reason),
        };
        // Counted before the client sees the answer, so the two agree.
        self.route_metrics(&ctx).count(outcome);
        let draining = conn.draining();
        match answer {
            Ok(Answer::Relay(response)) => {
                forward::relay(&self.upstreams, session, &mut ctx, *response, draining).await
            }
            Ok(Answer::Duplicate) => respond::duplicate(session, &mut ctx, draining).await,
            Ok(Answer::Handshake(reply)) => {
                respond::reply(session, &mut ctx, reply, draining).await
            }
            Ok(Answer::Queued(status)) => {
                respond::queued(session, &mut ctx, status, draining).await
            }
            Err(r) => {
                let reason = r.reason;
                ctx.rejected(r);
                let delay = cfg.limits.auth_failure_delay;
                if reason.fails_authentication() && !delay.is_zero() && !draining {
                    // The body lease and any reservation went with `stages`.
                    pingora::time::sleep(delay).await;
                }
                respond::rejection(session, &mut ctx, reason, draining).await;
            }
        }
        access_log::write(self.route_metrics(&ctx), &ctx, outcome);
    }

    /// The series a request counts into: its route's, or those of
    /// requests no route matched.
    fn route_metrics<'a>(&'a self, ctx: &'a RequestCtx) -> &'a RouteMetrics {
        ctx.route.as_ref().map_or(&self.no_route, |r| &r.metrics)
    }

    /// Answer a request whose header could not be read (400, 431): there is
    /// no route and no method to log, but the refusal is counted and logged
    /// like any other.
    pub async fn refuse_header(&self, session: &mut Downstream, conn: &Conn, r: Rejection) {
        let mut ctx = RequestCtx::new(crate::ids::request_id());
        ctx.client_ip = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        let outcome = Outcome::Rejected(r.reason);
        self.no_route.count(outcome);
        let reason = r.reason;
        ctx.rejected(r);
        // The header was not understood: the connection cannot continue.
        session.set_server_keepalive(None);
        respond::rejection(session, &mut ctx, reason, conn.draining()).await;
        access_log::write(&self.no_route, &ctx, outcome);
    }

    /// admit → read body → verify → deliver.
    async fn stages(
        &self,
        session: &mut Downstream,
        conn: &Conn,
        cfg: &Config,
        ctx: &mut RequestCtx,
    ) -> Result<Answer, Rejection> {
        let mut admitted = match admit::admit(session, conn, cfg, ctx)? {
            Admission::Admitted(a) => *a,
            Admission::Answered(reply) => return Ok(Answer::Handshake(reply)),
        };
        let body = self.read_body(session, cfg, &admitted, ctx).await?;
        if let Some(reply) = self.verify(session, &mut admitted, &body).await? {
            return Ok(Answer::Handshake(reply));
        }
        self.deliver(session, conn, cfg, &admitted, body, ctx).await
    }

    /// Stage 2: lease the budget, invite the body if the client waits for
    /// that, read it whole.
    async fn read_body(
        &self,
        session: &mut Downstream,
        cfg: &Config,
        admitted: &Admitted,
        ctx: &mut RequestCtx,
    ) -> Result<Buffered, Rejection> {
        self.budget.set_limit(cfg.limits.max_buffered_bytes);
        let mut lease = self.budget.lease();
        body::lease_declared(&mut lease, admitted.declared).await?;
        if is_expect_continue(session) {
            // All checks that need no body passed: only now invite the client to send it.
            let _ = session.write_continue_response().await;
        }
        let started = Instant::now();
        let limits = BodyLimits {
            max: admitted.route.max_body_bytes,
            deadline: started + cfg.limits.request_timeout,
            read_timeout: cfg.limits.read_timeout,
        };
        let body = body::read(session, &limits, admitted.declared, lease).await?;
        ctx.body_wait = started.elapsed();
        ctx.bytes_in = body.bytes.len() as u64;
        admitted.route.metrics.bytes_in.inc_by(ctx.bytes_in);
        Ok(body)
    }

    /// Stage 3: the signature over the exact bytes received; then, for a
    /// signed handshake (Zoom, Twitch, Slack, SNS...), the verifier's answer,
    /// which is sent instead of forwarding.
    async fn verify(
        &self,
        session: &Downstream,
        admitted: &mut Admitted,
        body: &Buffered,
    ) -> Result<Option<Reply>, Rejection> {
        let route = &admitted.route;
        let (Some(v), Some(pre)) = (&route.verifier, &admitted.precheck) else {
            return Ok(None);
        };
        let parts = admit::request_parts(session, &admitted.target);
        let (verified, answer) = match v.after_body(pre, &parts, &body.bytes, admitted.now).await? {
            AfterBody::Verified(verified, answer) => (verified, answer),
            AfterBody::Challenge(reply) => return Ok(Some(reply)),
        };
        route.metrics.signature_verified(&verified.key_id);
        if v.forward_header {
            admitted.extra.push((
                http::HeaderName::from_static(upstream::VERIFIED_HEADER),
                format!("{}; key={}", verified.scheme, verified.key_id),
            ));
        }
        admitted.signature_digest = Some(verified.signature_digest);
        Ok(answer)
    }

    /// Stage 4: reserve the delivery key, then forward (direct mode) or
    /// queue (queue mode) the request the upstream is to receive; the
    /// reservation is settled by what happened to it.
    async fn deliver(
        &self,
        session: &Downstream,
        conn: &Conn,
        cfg: &Config,
        admitted: &Admitted,
        body: Buffered,
        ctx: &mut RequestCtx,
    ) -> Result<Answer, Rejection> {
        let route = &admitted.route;
        let key = route.replay.as_ref().and_then(|p| {
            p.key.extract(
                &session.req_header().headers,
                admitted.signature_digest.as_deref(),
            )
        });
        let guard =
            match replay_guard::reserve(&self.replay, &self.metrics, cfg, route, key).await? {
                Decision::Forward(guard) => guard,
                Decision::AckDuplicate => return Ok(Answer::Duplicate),
            };
        let req = upstream_request(session, conn, admitted, ctx, body.bytes.len())?;
        if let Some(policy) = route.delivery.queued() {
            let queued =
                enqueue::enqueue(self.queue.as_ref(), route, &req, body.bytes.clone(), guard).await;
            drop(body);
            let id = queued?;
            ctx.delivery_id = Some(id.to_string());
            return Ok(Answer::Queued(policy.ack_status));
        }
        let sent = forward::send(&self.upstreams, route, &req, &body.bytes, ctx).await;
        drop(body);
        if let Some(guard) = guard {
            let status = sent.as_ref().ok().map(forward::Response::status);
            guard.settle(replay_guard::accepted(status)).await;
        }
        sent.map(|r| Answer::Relay(Box::new(r)))
    }
}

/// The request header the upstream receives, in both modes: the client's,
/// normalised, with hookgate's own fields.
fn upstream_request(
    session: &Downstream,
    conn: &Conn,
    admitted: &Admitted,
    ctx: &RequestCtx,
    body_len: usize,
) -> Result<pingora::http::RequestHeader, Rejection> {
    let path_and_query = admitted.target.path_and_query();
    let host = admitted.host.as_ref().map(|h| h.header_value());
    let origin = upstream::Origin {
        client_ip: ctx.client_ip,
        proto: if conn.tls { "https" } else { "http" },
        path_and_query: &path_and_query,
        host: host.as_deref(),
        extra: &admitted.extra,
        strip: admitted
            .route
            .client_cert
            .as_ref()
            .and_then(|p| p.forward_header.as_ref()),
    };
    upstream::request(session.req_header(), ctx, &origin, body_len)
}

fn is_expect_continue(session: &Downstream) -> bool {
    session
        .get_header(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Use a well-formed incoming id when trusted; otherwise generate one. A
/// forged id must not be able to inject into logs, hence the charset check.
fn request_id(session: &Downstream, trust: bool) -> String {
    if trust {
        if let Some(v) = session
            .get_header("x-request-id")
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
    crate::ids::request_id()
}
