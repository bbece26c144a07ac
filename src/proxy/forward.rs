//! Sending the verified request upstream and relaying the answer.
//!
//! hookgate drives the upstream connection itself rather than returning to
//! pingora's proxy loop: the exact verified bytes are written with a
//! `Content-Length`, whatever framing the client used (pingora can only
//! replay a consumed body up to its 64 KiB retry buffer, pingora #349, #575).
//!
//! Three rules decide what the upstream may see twice and what the client sees:
//! - A connection that fails to *connect* moves on to the next backend:
//!   nothing was sent.
//! - A *pooled* connection that fails before any byte of the response
//!   arrived, while the request was still being written or by a reset from
//!   a peer that had not read it (it closed an idle connection just as
//!   hookgate reused it), is retried once on a fresh connection: the upstream
//!   cannot have processed it. Any other failure after the request went out
//!   is never retried, since the upstream may have acted on it.
//! - Interim responses (`100 Continue`, `103 Early Hints`) are skipped; the
//!   final response is relayed. `103` is not relayed: webhook senders do not
//!   preload anything. An upstream `101` is a bad answer (502): hookgate never
//!   forwards an upgrade request.

use super::ctx::RequestCtx;
use super::respond::before_response;
use super::upstream::hop_by_hop_names;
use super::Downstream;
use crate::config::{Route, Upstream};
use crate::metered::{Meter, Metered};
use crate::reject::{Reason, Rejection};
use pingora::connectors::TransportConnector;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;
use pingora::protocols::http::v1::client::{
    http_req_header_to_wire, HttpSession as UpstreamSession,
};
use pingora::protocols::Stream;
use pingora::upstreams::peer::Peer;
use pingora::ErrorType;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Interim responses skipped before the upstream is considered broken.
const MAX_INTERIM: usize = 8;

/// Upstream connections: fresh or from pingora's keep-alive pool.
pub struct Upstreams {
    transport: TransportConnector,
}

/// A live upstream connection, before the request is written on it.
struct Connection {
    stream: Stream,
    meter: Arc<Meter>,
    reused: bool,
}

/// Largest body written in the same buffer (and system call) as the
/// request header; a larger one follows it in its own writes.
const JOINED_BODY_MAX: usize = 64 << 10;

/// An upstream's final response header, ready to relay.
pub struct Response {
    session: UpstreamSession,
    peer: HttpPeer,
    idle_timeout: Duration,
}

impl Response {
    /// The upstream's status.
    pub fn status(&self) -> u16 {
        self.session.resp_header().map_or(0, |h| h.status.as_u16())
    }

    /// A header of the upstream's response.
    pub fn header(&self, name: http::header::HeaderName) -> Option<&http::HeaderValue> {
        self.session.resp_header().and_then(|h| h.headers.get(name))
    }
}

/// Most response body read (and thrown away) to keep a connection whose
/// response nobody relays: beyond it, the connection is closed instead.
const MAX_DISCARDED_BODY: usize = 1 << 20;

/// Why an exchange failed.
enum Failure {
    /// The connection failed.
    Transport {
        error: pingora::BError,
        /// The whole request had been written.
        written: bool,
        /// Bytes of response that had arrived.
        response_bytes: u64,
    },
    /// The upstream answered with something that is not a usable response.
    Invalid(String),
}

impl Failure {
    /// Safe to send again on a fresh connection: the upstream cannot have
    /// processed it (see the module docs).
    fn unprocessed(&self) -> bool {
        match self {
            Failure::Transport {
                error,
                written,
                response_bytes: 0,
            } => !written || is_reset(error),
            _ => false,
        }
    }

    fn rejection(&self) -> Rejection {
        match self {
            Failure::Transport { error, .. } => match error.etype() {
                ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
                    Rejection::new(Reason::UpstreamTimeout, format!("upstream: {error}"))
                }
                _ => Rejection::new(Reason::UpstreamUnreachable, format!("upstream: {error}")),
            },
            Failure::Invalid(why) => Rejection::new(Reason::UpstreamInvalidResponse, why.clone()),
        }
    }
}

fn is_reset(e: &pingora::Error) -> bool {
    e.root_cause()
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
}

impl Default for Upstreams {
    fn default() -> Self {
        Upstreams {
            transport: TransportConnector::new(None),
        }
    }
}

impl Upstreams {
    /// A pooled connection if one is idle, else a fresh one.
    async fn connect(&self, peer: &HttpPeer) -> pingora::Result<Connection> {
        match self.transport.reused_stream(peer).await {
            Some(stream) => Ok(Connection::new(stream, true)),
            None => self.fresh(peer).await,
        }
    }

    /// Always a new connection.
    async fn fresh(&self, peer: &HttpPeer) -> pingora::Result<Connection> {
        let stream = self.transport.new_stream(peer).await?;
        Ok(Connection::new(stream, false))
    }

    /// Read and discard the response body (the queue workers need only the
    /// status), bounded in bytes and by the route's read timeout, then pool
    /// the connection if the body ended within the bound.
    pub async fn discard(&self, mut response: Response) {
        let mut left = MAX_DISCARDED_BODY;
        while let Ok(Some(chunk)) = response.session.read_body_bytes().await {
            match left.checked_sub(chunk.len()) {
                Some(l) => left = l,
                None => return,
            }
        }
        if response.session.is_body_done() {
            self.release(response).await;
        }
    }

    /// Return a connection whose response was read completely to the pool.
    async fn release(&self, mut response: Response) {
        response.session.respect_keepalive();
        if let Some(stream) = response.session.reuse().await {
            self.transport.release_stream(
                stream,
                response.peer.reuse_hash(),
                Some(response.idle_timeout),
            );
        }
    }
}

impl Connection {
    fn new(stream: Stream, reused: bool) -> Self {
        // Pooled streams were wrapped when they were first connected.
        let (stream, meter) = match Metered::meter_of(&stream) {
            Some(meter) => (stream, meter),
            None => {
                let (metered, meter) = Metered::new(stream);
                (Box::new(metered) as Stream, meter)
            }
        };
        Connection {
            stream,
            meter,
            reused,
        }
    }

    /// Write the request, then read up to the final response header. The
    /// session is returned whatever happened: it holds the connection.
    async fn exchange(
        self,
        peer: &HttpPeer,
        up: &Upstream,
        req: &RequestHeader,
        body: &[u8],
    ) -> (UpstreamSession, Result<(), Failure>) {
        let Connection {
            mut stream, meter, ..
        } = self;
        meter.start(0, None);
        // pingora frames the response to a HEAD request from the request it
        // wrote itself; every other request is written here in one piece.
        let head = req.method == http::Method::HEAD;
        let written = if head {
            Ok(())
        } else {
            write_request(&mut stream, req, body, up.read_timeout).await
        };
        let mut session = UpstreamSession::new_with_options(stream, peer);
        // pingora's proxy loop applies the peer's timeouts to the session; so do we.
        session.read_timeout = Some(up.read_timeout);
        session.write_timeout = Some(up.read_timeout);
        let written = match written {
            Ok(()) if head => write_with_pingora(&mut session, req, body).await,
            other => other,
        };
        let result = match written {
            Ok(()) => read_final_header(&mut session, &meter).await,
            Err(error) => Err(Failure::Transport {
                error,
                written: false,
                response_bytes: meter.read(),
            }),
        };
        (session, result)
    }
}

/// The request header, as pingora serialises it, and the body in one write
/// (one system call and one segment instead of two), under `timeout`.
async fn write_request(
    stream: &mut Stream,
    req: &RequestHeader,
    body: &[u8],
    timeout: Duration,
) -> pingora::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut wire = http_req_header_to_wire(req).ok_or_else(|| {
        pingora::Error::explain(
            ErrorType::InvalidHTTPHeader,
            "request target with a forbidden byte or an unsupported version",
        )
    })?;
    let (joined, rest) = if body.len() <= JOINED_BODY_MAX {
        (body, &[][..])
    } else {
        (&[][..], body)
    };
    wire.extend_from_slice(joined);
    let write = async {
        stream.write_all(&wire).await?;
        stream.write_all(rest).await?;
        stream.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(pingora::Error::because(
            ErrorType::WriteError,
            "writing the request",
            e,
        )),
        Err(_) => Err(pingora::Error::explain(
            ErrorType::WriteTimedout,
            "writing the request (timeout)",
        )),
    }
}

/// pingora's own write path (it keeps the request to frame the response).
async fn write_with_pingora(
    session: &mut UpstreamSession,
    req: &RequestHeader,
    body: &[u8],
) -> pingora::Result<()> {
    session.write_request_header(Box::new(req.clone())).await?;
    session.write_body(body).await?;
    session.finish_body().await.map(|_| ())
}

/// Read responses until the final one (interim ones skipped, see the
/// module docs).
async fn read_final_header(session: &mut UpstreamSession, meter: &Meter) -> Result<(), Failure> {
    for _ in 0..MAX_INTERIM {
        if let Err(error) = session.read_response().await {
            return Err(Failure::Transport {
                error,
                written: true,
                response_bytes: meter.read(),
            });
        }
        match session.resp_header().map(|h| h.status.as_u16()) {
            Some(101) => {
                return Err(Failure::Invalid(
                    "upstream switched protocols (101) on a request that did not ask to upgrade"
                        .into(),
                ))
            }
            Some(100..=199) => continue,
            _ => return Ok(()),
        }
    }
    Err(Failure::Invalid(format!(
        "upstream sent more than {MAX_INTERIM} interim (1xx) responses"
    )))
}

fn peer_for(addr: &pingora::protocols::l4::socket::SocketAddr, up: &Upstream) -> HttpPeer {
    let mut peer = match &up.tls {
        Some(t) => {
            let mut p = HttpPeer::new(addr.clone(), true, t.sni.clone());
            p.options.ca = t.ca.clone();
            p.client_cert_key = t.client.clone();
            p.options.verify_cert = true;
            p.options.verify_hostname = true;
            p
        }
        None => HttpPeer::new(addr.clone(), false, String::new()),
    };
    peer.options.connection_timeout = Some(up.connect_timeout);
    peer.options.read_timeout = Some(up.read_timeout);
    peer.options.write_timeout = Some(up.read_timeout);
    peer.options.idle_timeout = Some(up.idle_timeout);
    peer
}

fn connect_rejection(e: &pingora::Error) -> Rejection {
    match e.etype() {
        ErrorType::ConnectTimedout => {
            Rejection::new(Reason::UpstreamTimeout, format!("connect: {e}"))
        }
        _ => Rejection::new(Reason::UpstreamUnreachable, format!("connect: {e}")),
    }
}

/// How one backend was tried.
enum Attempt {
    /// No connection could be made: nothing was sent.
    ConnectFailed(pingora::BError),
    /// The request went out on this connection (boxed: a whole upstream
    /// session); `result` says how the exchange ended.
    Sent(Box<UpstreamSession>, Result<(), Failure>),
}

/// Send on a pooled (or fresh) connection to `peer`; if a pooled one failed
/// before the upstream could have processed the request, once more on a
/// fresh one.
async fn attempt(
    upstreams: &Upstreams,
    peer: &HttpPeer,
    route: &Route,
    req: &RequestHeader,
    body: &[u8],
) -> Attempt {
    let up = &route.upstream;
    let conn = match upstreams.connect(peer).await {
        Ok(c) => c,
        Err(e) => return Attempt::ConnectFailed(e),
    };
    let reused = conn.reused;
    let (session, result) = conn.exchange(peer, up, req, body).await;
    match &result {
        Err(failure) if reused && failure.unprocessed() => {}
        _ => return Attempt::Sent(Box::new(session), result),
    }
    route.metrics.upstream_retries.inc();
    tracing::debug!(route = %route.name, upstream = %peer, "pooled upstream connection failed before the request was processed; retrying on a fresh one");
    match upstreams.fresh(peer).await {
        Ok(fresh) => {
            let (session, result) = fresh.exchange(peer, up, req, body).await;
            Attempt::Sent(Box::new(session), result)
        }
        Err(e) => Attempt::ConnectFailed(e),
    }
}

/// Send the request to one of the route's upstreams and read its final
/// response header (see the module docs for what is retried).
pub async fn send(
    upstreams: &Upstreams,
    route: &Route,
    req: &RequestHeader,
    body: &[u8],
    ctx: &mut RequestCtx,
) -> Result<Response, Rejection> {
    let up = &route.upstream;
    let started = Instant::now();
    let mut last_err = Rejection::new(Reason::UpstreamUnreachable, "no upstream available");
    for _ in 0..up.count.max(1) {
        let Some(backend) = up.lb.select(b"", 256) else {
            break;
        };
        let peer = peer_for(&backend.addr, up);
        ctx.upstream_addr = Some(backend.addr.clone());
        let with_host;
        let req = if req.headers.contains_key(http::header::HOST) {
            req
        } else {
            // The client named no host (HTTP/1.0): name the upstream.
            let mut r = req.clone();
            r.insert_header(http::header::HOST, backend.addr.to_string())
                .map_err(|e| Rejection::new(Reason::Internal, format!("upstream host: {e}")))?;
            with_host = r;
            &with_host
        };
        let (session, result) = match attempt(upstreams, &peer, route, req, body).await {
            Attempt::Sent(session, result) => (session, result),
            Attempt::ConnectFailed(e) => {
                route.metrics.upstream_connect_errors.inc();
                last_err = connect_rejection(&e);
                continue;
            }
        };
        ctx.upstream_wait = started.elapsed();
        route
            .metrics
            .upstream_latency
            .observe(ctx.upstream_wait.as_secs_f64());
        result.map_err(|f| f.rejection())?;
        let response = Response {
            session: *session,
            peer,
            idle_timeout: up.idle_timeout,
        };
        let status = response.status();
        ctx.upstream_status = Some(status);
        route.metrics.upstream_response(status);
        return Ok(response);
    }
    Err(last_err)
}

/// Does this response's body end only when the connection closes? Neither
/// `Content-Length` nor chunked, and a body allowed (an HTTP/1.0 upstream, or
/// one that just closes after the body).
fn ends_by_close(header: &pingora::http::ResponseHeader, session: &Downstream) -> bool {
    let chunked = header
        .headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some_and(|v| {
            v.as_bytes()
                .trim_ascii_end()
                .to_ascii_lowercase()
                .ends_with(b"chunked")
        });
    let bodiless = matches!(header.status.as_u16(), 204 | 304)
        || session.req_header().method == http::Method::HEAD;
    !chunked && !bodiless && !header.headers.contains_key(http::header::CONTENT_LENGTH)
}

/// Copy the upstream response to the client; on a mid-stream failure close
/// the client connection so it sees a truncated response rather than a wrong
/// one. A completely read upstream connection goes back to the pool.
pub async fn relay(
    upstreams: &Upstreams,
    session: &mut Downstream,
    ctx: &mut RequestCtx,
    mut response: Response,
    draining: bool,
) {
    let Some(upstream_header) = response.session.resp_header() else {
        return;
    };
    let mut header = upstream_header.clone();
    // hookgate answers in its own version (RFC 9110 §6.2), never an
    // HTTP/1.0 upstream's.
    header.set_version(http::Version::HTTP_11);
    ctx.status = header.status.as_u16();
    // Let pingora frame the body the way the upstream did.
    let framing = header.headers.get(http::header::TRANSFER_ENCODING).cloned();
    for name in hop_by_hop_names(&upstream_header.headers) {
        header.remove_header(&name);
    }
    if let Some(te) = framing {
        let _ = header.insert_header(http::header::TRANSFER_ENCODING, te);
    }
    let _ = header.insert_header("x-request-id", ctx.request_id.as_str());
    before_response(session, draining);
    if ends_by_close(&header, session) {
        // Relayed the same way: the client learns the end from the close,
        // so the response must say so (pingora would still say keep-alive)
        // rather than drop the requests pipelined behind it.
        session.set_server_keepalive(None);
    }
    if session
        .write_response_header(Box::new(header))
        .await
        .is_err()
    {
        session.set_server_keepalive(None);
        return;
    }
    loop {
        match response.session.read_body_bytes().await {
            Ok(Some(chunk)) => {
                if session.write_body(&chunk).await.is_err() {
                    session.set_server_keepalive(None);
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                ctx.detail = format!("upstream response body: {e}");
                session.set_server_keepalive(None);
                return;
            }
        }
    }
    if session.finish_body().await.is_err() {
        session.set_server_keepalive(None);
    }
    if response.session.is_body_done() {
        upstreams.release(response).await;
    }
}
