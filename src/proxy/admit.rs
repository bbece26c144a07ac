//! Stage 1, admit: every check that needs no body, in the order that keeps a
//! sender who cannot authenticate from making hookgate buffer anything.
//!
//! framing → target and host normalisation → client address and listener
//! allowlist → route → route allowlist → client certificate → signature and
//! timestamp headers → declared body length.

use super::ctx::RequestCtx;
use super::{Conn, Downstream};
use crate::config::{Config, Route};
use crate::reject::{Reason, Rejection};
use crate::target::{normalize_host, normalize_target, Host, Target};
use crate::verify::{BeforeBody, Precheck, Reply, RequestParts};
use http::header::HeaderName;
use std::sync::Arc;
use std::time::SystemTime;

/// What the header checks decided.
pub enum Admission {
    /// Read the body and carry on (boxed: a reply is a fraction of its size).
    Admitted(Box<Admitted>),
    /// The route's verifier answered a handshake from the request line and
    /// headers alone: send this, read nothing, forward nothing.
    Answered(Reply),
}

/// A request that passed every header check.
pub struct Admitted {
    /// The matched route.
    pub route: Arc<Route>,
    /// The normalised target (matched and forwarded).
    pub target: Target,
    /// The normalised host, if the request named one.
    pub host: Option<Host>,
    /// Headers hookgate adds upstream (verified client identity, ...).
    pub extra: Vec<(HeaderName, String)>,
    /// The parsed signature headers, when the route verifies.
    pub precheck: Option<Precheck>,
    /// The declared `Content-Length`, already within the route's limit.
    pub declared: Option<u64>,
    /// The time signatures and timestamps are checked against.
    pub now: SystemTime,
    /// SHA-256 of the signature that verified, set by the verify stage: the
    /// replay key of schemes whose signed bytes are unique per delivery.
    pub signature_digest: Option<String>,
}

/// Run the header checks.
pub fn admit(
    session: &Downstream,
    conn: &Conn,
    cfg: &Config,
    ctx: &mut RequestCtx,
) -> Result<Admission, Rejection> {
    let req = session.req_header();
    check_framing(req, cfg)?;
    let raw = raw_target(session);
    let target = normalize_target(&raw).map_err(|e| {
        // Logged as received (escaped, bounded), so a bypass attempt is visible.
        ctx.path = raw.iter().take(256).map(|&b| char::from(b)).collect();
        Rejection::new(Reason::BadRequest, e.to_string())
    })?;
    ctx.path = target.path.clone();
    let host = request_host(req, &target)?;

    // Which listener, which client: X-Forwarded-For counts only from a trusted proxy.
    let local = session.server_addr().and_then(|a| a.as_inet()).copied();
    let listener = cfg.listener_for(local);
    let peer = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip());
    ctx.client_ip = match (peer, listener) {
        (Some(p), Some(l)) => {
            let xff = req.headers.get_all("x-forwarded-for");
            let hops: Vec<&str> = xff.iter().filter_map(|v| v.to_str().ok()).collect();
            Some(l.trusted_proxies.client_ip(p, hops.into_iter()))
        }
        (p, _) => p,
    };
    if let Some(l) = listener {
        l.ip.check(ctx.client_ip)?;
    }

    let host_name = host.as_ref().map(|h| h.name.as_str());
    let route = cfg
        .route_for(host_name, &target.path)
        .cloned()
        .ok_or_else(|| Rejection::new(Reason::NoRoute, format!("no route for {}", target.path)))?;
    // `/HOOKS/PAYMENTS` matched the open catch-all while an upstream that
    // ignores case (Express by default) served it from `/hooks/payments`:
    // a path whose route depends on letter case has no single safe reading.
    if cfg
        .route_ignoring_case(host_name, &target.path)
        .is_some_and(|r| !Arc::ptr_eq(r, &route))
    {
        return Err(Rejection::new(
            Reason::BadRequest,
            "route depends on letter case in the path",
        ));
    }
    ctx.route = Some(route.clone());
    route.ip.check(ctx.client_ip)?;

    let mut extra = Vec::new();
    if let Some(policy) = &route.client_cert {
        let forwarded = policy.check(conn.identity.as_ref())?;
        if let (Some(h), Some(id)) = (&policy.forward_header, forwarded) {
            extra.push((h.clone(), id));
        }
    }

    // Header-only signature checks run before the body is read, so a sender
    // without a valid-looking signature cannot make hookgate buffer a body.
    let now = SystemTime::now();
    let precheck = match &route.verifier {
        Some(v) => match v.before_body(&request_parts(session, &target), now)? {
            BeforeBody::Continue(pre) => Some(pre),
            BeforeBody::Answer(reply) => return Ok(Admission::Answered(reply)),
        },
        None => None,
    };
    let declared = super::body::declared_length(session, route.max_body_bytes)?;
    Ok(Admission::Admitted(Box::new(Admitted {
        route,
        target,
        host,
        extra,
        precheck,
        declared,
        now,
        signature_digest: None,
    })))
}

/// The request as the verification engine sees it: URL-signing schemes get
/// the target as the sender wrote it, since that is what it signed.
pub fn request_parts<'a>(session: &'a Downstream, target: &'a Target) -> RequestParts<'a> {
    let req = session.req_header();
    RequestParts {
        method: req.method.as_str(),
        path_and_query: &target.raw_path_and_query,
        headers: &req.headers,
    }
}

/// Header count, and body framing hookgate can read unambiguously: no
/// `Transfer-Encoding` or exactly `chunked` (pingora already refuses
/// duplicate or conflicting lengths, chunked not last, and HTTP/1.0 with
/// `Transfer-Encoding`). `gzip, chunked` would be decoded by no one.
fn check_framing(req: &pingora::http::RequestHeader, cfg: &Config) -> Result<(), Rejection> {
    if req.headers.len() > cfg.limits.max_headers {
        return Err(Rejection::new(
            Reason::BadRequest,
            format!(
                "{} headers exceed limit {}",
                req.headers.len(),
                cfg.limits.max_headers
            ),
        ));
    }
    let mut codings = req.headers.get_all(http::header::TRANSFER_ENCODING).iter();
    match (codings.next(), codings.next()) {
        (None, _) => Ok(()),
        (Some(v), None) if v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(Rejection::new(
            Reason::UnsupportedTransferEncoding,
            "transfer-encoding other than exactly `chunked`",
        )),
    }
}

/// The target from the request line as received: pingora drops a fragment
/// from its parsed URI, hookgate refuses it instead. (pingora has already
/// percent-encoded bytes that are illegal in a request line.)
fn raw_target(session: &Downstream) -> bytes::Bytes {
    let raw = session.get_headers_raw_bytes();
    let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let line = &raw[..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let start = line.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
    let end = line.iter().rposition(|&b| b == b' ').unwrap_or(line.len());
    raw.slice(start..end.max(start))
}

/// The normalised host: `Host`, or the authority of an absolute-form target,
/// which must agree. HTTP/1.1 requires `Host`.
fn request_host(
    req: &pingora::http::RequestHeader,
    target: &Target,
) -> Result<Option<Host>, Rejection> {
    let bad = |why: &str| Rejection::new(Reason::BadRequest, why.to_string());
    let mut fields = req.headers.get_all(http::header::HOST).iter();
    let (field, repeated) = (fields.next(), fields.next());
    if repeated.is_some() {
        return Err(bad("more than one Host header"));
    }
    let from_header = field
        .map(|v| normalize_host(v.as_bytes()))
        .transpose()
        .map_err(|_| bad("invalid Host header"))?;
    let from_target = target
        .authority
        .as_ref()
        .map(|a| normalize_host(a.as_bytes()))
        .transpose()
        .map_err(|_| bad("invalid authority in the request target"))?;
    match (from_header, from_target) {
        (Some(h), Some(t)) if h != t => {
            Err(bad("Host differs from the request target's authority"))
        }
        (None, _) if req.version == http::Version::HTTP_11 => {
            Err(bad("HTTP/1.1 request without Host"))
        }
        (h, t) => Ok(h.or(t)),
    }
}
