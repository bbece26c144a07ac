//! Writing responses hookgate makes itself, and relaying the upstream's.
//!
//! Whether the connection stays open is never chosen here: pingora closes it
//! when a response goes out before the request body was fully read (the
//! client may still be sending a body hookgate refuses to read), and when the
//! process is draining (see [`before_response`]). The `Connection` header it
//! writes always says which.

use super::ctx::RequestCtx;
use super::Downstream;
use crate::reject::Reason;
use crate::verify::Reply;
use bytes::Bytes;
use pingora::http::ResponseHeader;

/// Rules applied before any response header goes out: once shutdown has
/// begun, every response says `Connection: close`, so a client never sends
/// (or pipelines) a request on a connection that is about to close.
pub fn before_response(session: &mut Downstream, draining: bool) {
    if draining {
        session.set_server_keepalive(None);
    }
}

/// Send `{"error":"<label>","request_id":"..."}` with the reason's status.
pub async fn rejection(
    session: &mut Downstream,
    ctx: &mut RequestCtx,
    reason: Reason,
    draining: bool,
) {
    let body =
        serde_json::json!({ "error": reason.label(), "request_id": ctx.request_id }).to_string();
    json(
        session,
        ctx,
        reason.status(),
        body,
        reason.retry_after(),
        draining,
    )
    .await;
}

/// Acknowledge an already-delivered request without forwarding it.
pub async fn duplicate(session: &mut Downstream, ctx: &mut RequestCtx, draining: bool) {
    let body =
        serde_json::json!({ "status": "duplicate", "request_id": ctx.request_id }).to_string();
    json(session, ctx, 200, body, None, draining).await;
}

/// Acknowledge a durably queued request: the sender's delivery is safe.
pub async fn queued(
    session: &mut Downstream,
    ctx: &mut RequestCtx,
    status: http::StatusCode,
    draining: bool,
) {
    let body = serde_json::json!({
        "status": "queued",
        "delivery_id": ctx.delivery_id,
        "request_id": ctx.request_id,
    })
    .to_string();
    json(session, ctx, status.as_u16(), body, None, draining).await;
}

/// Send a JSON body with a status.
async fn json(
    session: &mut Downstream,
    ctx: &mut RequestCtx,
    status: u16,
    body: String,
    retry_after: Option<u32>,
    draining: bool,
) {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(secs) = retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    let json = Reply {
        status,
        headers,
        body: body.into_bytes(),
    };
    reply(session, ctx, json, draining).await;
}

/// Send a response hookgate built itself: a rejection, a duplicate
/// acknowledgement, or the verifier's answer to a handshake.
pub async fn reply(session: &mut Downstream, ctx: &mut RequestCtx, reply: Reply, draining: bool) {
    ctx.status = reply.status;
    let Ok(mut resp) = ResponseHeader::build(reply.status, Some(reply.headers.len() + 3)) else {
        return;
    };
    let fixed = [
        ("content-length", reply.body.len().to_string()),
        ("x-request-id", ctx.request_id.clone()),
        ("cache-control", "no-store".to_string()),
    ];
    for (k, v) in reply.headers.into_iter().chain(fixed) {
        // A value that is not a valid header (an echoed challenge hookgate
        // bounded but did not build) is left out rather than sent broken.
        let _ = resp.insert_header(k, v);
    }
    before_response(session, draining);
    let body = Bytes::from(reply.body);
    let sent = session.write_response_header(Box::new(resp)).await.is_ok()
        && session.write_body(&body).await.is_ok()
        && session.finish_body().await.is_ok();
    if !sent {
        session.set_server_keepalive(None);
    }
}
