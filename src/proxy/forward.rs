//! Sending the verified request upstream and relaying the response.
//!
//! hookgate drives pingora's upstream connector itself rather than returning
//! to pingora's proxy loop: pingora 0.9 can only replay a request body that
//! `request_filter` consumed when it fits its 64 KiB retry buffer
//! (`get_retry_buffer` returns `None` once truncated), so larger verified
//! bodies would never reach the upstream (pingora issues #349, #575). Here
//! the exact verified bytes are written with a `Content-Length`, whatever
//! framing the client used.

use super::ctx::RequestCtx;
use crate::config::Route;
use crate::metrics::{status_class, Metrics};
use crate::reject::{Reason, Rejection};
use bytes::Bytes;
use http::header::HeaderName;
use pingora::connectors::http::Connector;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::Session;
use pingora::ErrorType;
use std::time::Instant;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Header telling the upstream which scheme and key verified the request.
/// Any incoming copy is removed so a sender cannot forge it.
pub const VERIFIED_HEADER: &str = "x-hookgate-verified";

/// Where the request came from, for `X-Forwarded-*`.
pub struct Origin<'a> {
    /// Client address.
    pub client_ip: Option<std::net::IpAddr>,
    /// `http` or `https`.
    pub proto: &'a str,
    /// Extra headers to set upstream (verified identity, key id...).
    pub extra: &'a [(HeaderName, String)],
    /// A header hookgate owns on this route, removed from what the client sent.
    pub strip: Option<&'a HeaderName>,
}

/// Result of a forward attempt that produced a response to the client.
pub struct Forwarded {
    /// Upstream status relayed to the client.
    pub status: u16,
}

/// Remove hop-by-hop headers, including any named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in named.iter().map(String::as_str).chain(HOP_BY_HOP) {
        headers.remove(name);
    }
}

fn upstream_request(
    session: &Session,
    ctx: &RequestCtx,
    origin: &Origin<'_>,
    body_len: usize,
) -> Result<RequestHeader, Rejection> {
    let internal = |e: pingora::BError| {
        Rejection::new(Reason::Internal, format!("building upstream request: {e}"))
    };
    let mut req = session.req_header().clone();
    // Names listed in Connection are removed before Connection itself.
    let mut headers = req.headers.clone();
    strip_hop_by_hop(&mut headers);
    for name in req.headers.keys().cloned().collect::<Vec<_>>() {
        if !headers.contains_key(&name) {
            req.remove_header(&name);
        }
    }
    req.remove_header("expect");
    req.remove_header(VERIFIED_HEADER);
    req.remove_header("content-length");
    req.set_version(http::Version::HTTP_11);
    req.insert_header("content-length", body_len.to_string())
        .map_err(internal)?;
    // hookgate is the edge: a client-supplied X-Forwarded-For is not evidence of
    // anything, so it is replaced, not appended to.
    if let Some(ip) = origin.client_ip {
        req.insert_header("x-forwarded-for", ip.to_string())
            .map_err(internal)?;
    } else {
        req.remove_header("x-forwarded-for");
    }
    req.insert_header("x-forwarded-proto", origin.proto)
        .map_err(internal)?;
    req.insert_header("x-request-id", ctx.request_id.as_str())
        .map_err(internal)?;
    for (k, v) in origin.extra {
        req.insert_header(k.clone(), v.as_str()).map_err(internal)?;
    }
    // A client must not be able to forge the identity header of its route:
    // it is removed even when no identity is forwarded.
    if let Some(h) = origin.strip {
        if !origin.extra.iter().any(|(k, _)| k == h) {
            req.remove_header(h);
        }
    }
    Ok(req)
}

fn connect_rejection(e: &pingora::Error) -> Rejection {
    match e.etype() {
        ErrorType::ConnectTimedout => {
            Rejection::new(Reason::UpstreamTimeout, format!("connect: {e}"))
        }
        _ => Rejection::new(Reason::UpstreamUnreachable, format!("connect: {e}")),
    }
}

fn exchange_rejection(e: &pingora::Error) -> Rejection {
    match e.etype() {
        ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
            Rejection::new(Reason::UpstreamTimeout, format!("upstream: {e}"))
        }
        _ => Rejection::new(Reason::UpstreamUnreachable, format!("upstream: {e}")),
    }
}

/// Send `body` to one of the route's upstreams and stream the answer back.
///
/// Connection failures move on to the next backend (nothing was sent, so a
/// retry cannot duplicate a delivery). Once the request was written it is
/// never retried. An error after the response header went out cannot be
/// turned into a JSON rejection; the client connection is closed instead.
pub async fn forward(
    session: &mut Session,
    ctx: &mut RequestCtx,
    route: &Route,
    connector: &Connector,
    metrics: &Metrics,
    origin: &Origin<'_>,
    body: Bytes,
) -> Result<Forwarded, Rejection> {
    let req = upstream_request(session, ctx, origin, body.len())?;
    let up = &route.upstream;
    let started = Instant::now();
    let mut last_err = Rejection::new(Reason::UpstreamUnreachable, "no upstream available");
    for _ in 0..up.count.max(1) {
        let Some(backend) = up.lb.select(b"", 256) else {
            break;
        };
        let mut peer = match &up.tls {
            Some(t) => {
                let mut p = HttpPeer::new(backend.addr.clone(), true, t.sni.clone());
                p.options.ca = t.ca.clone();
                p.client_cert_key = t.client.clone();
                p.options.verify_cert = true;
                p.options.verify_hostname = true;
                p
            }
            None => HttpPeer::new(backend.addr.clone(), false, String::new()),
        };
        peer.options.connection_timeout = Some(up.connect_timeout);
        peer.options.read_timeout = Some(up.read_timeout);
        peer.options.write_timeout = Some(up.read_timeout);
        peer.options.idle_timeout = Some(up.idle_timeout);
        ctx.upstream_addr = Some(backend.addr.to_string());

        let (mut client, _reused) = match connector.get_http_session(&peer).await {
            Ok(s) => s,
            Err(e) => {
                metrics
                    .upstream_connect_errors
                    .with_label_values(&[&route.name])
                    .inc();
                last_err = connect_rejection(&e);
                continue;
            }
        };
        // pingora's connector does not apply the peer's read/write timeouts to
        // the session it returns; its own proxy loop sets them, so do we.
        client.set_read_timeout(Some(up.read_timeout));
        client.set_write_timeout(Some(up.read_timeout));
        let sent = async {
            client.write_request_header(Box::new(req.clone())).await?;
            client.write_request_body(body.clone(), true).await?;
            client.finish_request_body().await?;
            client.read_response_header().await
        }
        .await;
        ctx.upstream_wait = started.elapsed();
        metrics
            .upstream_latency
            .with_label_values(&[&route.name])
            .observe(ctx.upstream_wait.as_secs_f64());
        if let Err(e) = sent {
            return Err(exchange_rejection(&e));
        }
        let Some(resp) = client.response_header() else {
            return Err(Rejection::new(
                Reason::UpstreamUnreachable,
                "upstream sent no response header",
            ));
        };
        let mut resp: ResponseHeader = resp.clone();
        let status = resp.status.as_u16();
        ctx.upstream_status = Some(status);
        metrics
            .upstream_responses
            .with_label_values(&[&route.name, status_class(status)])
            .inc();
        // Counted before the client sees the answer, so the two agree.
        ctx.settle(metrics, "forwarded");
        relay_response(session, ctx, &mut client, &mut resp).await;
        if client.response_done() {
            connector
                .release_http_session(client, &peer, Some(up.idle_timeout))
                .await;
        }
        return Ok(Forwarded { status });
    }
    Err(last_err)
}

/// Copy the upstream response to the client; on a mid-stream failure close the
/// client connection so it sees a truncated response rather than a wrong one.
async fn relay_response(
    session: &mut Session,
    ctx: &mut RequestCtx,
    client: &mut pingora::protocols::http::client::HttpSession,
    resp: &mut ResponseHeader,
) {
    ctx.status = resp.status.as_u16();
    let framing = resp.headers.get(http::header::TRANSFER_ENCODING).cloned();
    let mut headers = resp.headers.clone();
    strip_hop_by_hop(&mut headers);
    for name in resp.headers.keys().cloned().collect::<Vec<_>>() {
        if !headers.contains_key(&name) {
            resp.remove_header(&name);
        }
    }
    // Let pingora frame the body the way the upstream did.
    if let Some(te) = framing {
        let _ = resp.insert_header(http::header::TRANSFER_ENCODING, te);
    }
    let _ = resp.insert_header("x-request-id", ctx.request_id.as_str());
    if session
        .write_response_header(Box::new(resp.clone()), false)
        .await
        .is_err()
    {
        session.set_keepalive(None);
        return;
    }
    loop {
        match client.read_response_body().await {
            Ok(Some(chunk)) => {
                if session
                    .write_response_body(Some(chunk), false)
                    .await
                    .is_err()
                {
                    session.set_keepalive(None);
                    return;
                }
            }
            Ok(None) => {
                let _ = session.write_response_body(None, true).await;
                return;
            }
            Err(e) => {
                ctx.detail = format!("upstream response body: {e}");
                session.set_keepalive(None);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = http::HeaderMap::new();
        h.insert("connection", "keep-alive, X-Secret-Hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-hub-signature-256", "sha256=ab".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-hub-signature-256"));
    }
}
