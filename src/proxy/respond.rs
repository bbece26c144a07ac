//! The one place where a [`Rejection`] becomes an HTTP response.

use super::ctx::RequestCtx;
use crate::reject::Reason;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

/// Send `{"error":"<label>","request_id":"..."}` with the reason's status.
///
/// Rejections before the body was fully read close the connection: the
/// client may still be sending a body hookgate refuses to read.
pub async fn send_rejection(
    session: &mut Session,
    ctx: &mut RequestCtx,
    reason: Reason,
    close: bool,
) {
    let body =
        serde_json::json!({ "error": reason.label(), "request_id": ctx.request_id }).to_string();
    send_json(
        session,
        ctx,
        reason.status(),
        body,
        close,
        retry_after(reason),
    )
    .await;
}

/// Send a JSON body with a status (also used for the replay "duplicate" acknowledgement).
pub async fn send_json(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    body: String,
    close: bool,
    retry_after: Option<u32>,
) {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(secs) = retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    let reply = crate::verify::Reply {
        status,
        headers,
        body: body.into_bytes(),
    };
    send_reply(session, ctx, reply, close).await;
}

/// Send a response hookgate built itself: a rejection, a duplicate
/// acknowledgement, or a handshake answer from the verifier.
pub async fn send_reply(
    session: &mut Session,
    ctx: &mut RequestCtx,
    reply: crate::verify::Reply,
    close: bool,
) {
    ctx.status = reply.status;
    let Ok(mut resp) = ResponseHeader::build(reply.status, Some(4)) else {
        return;
    };
    let fixed = [
        ("content-length", reply.body.len().to_string()),
        ("x-request-id", ctx.request_id.clone()),
        ("cache-control", "no-store".to_string()),
    ];
    for (k, v) in reply.headers.into_iter().chain(fixed) {
        let _ = resp.insert_header(k, v);
    }
    if close {
        session.set_keepalive(None);
        let _ = resp.insert_header("connection", "close");
    }
    if session
        .write_response_header(Box::new(resp), false)
        .await
        .is_ok()
    {
        let _ = session
            .write_response_body(Some(Bytes::from(reply.body)), true)
            .await;
    }
}

fn retry_after(reason: Reason) -> Option<u32> {
    match reason {
        Reason::ReplayStoreFull
        | Reason::ReplayStoreUnavailable
        | Reason::SigningKeyUnavailable => Some(5),
        Reason::ReplayInFlight => Some(1),
        _ => None,
    }
}
