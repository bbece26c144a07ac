//! Reading the whole request body into a bounded buffer before anything goes upstream.
//!
//! Why here and not in `request_body_filter`: pingora connects to the upstream
//! and sends the request header before `request_body_filter` runs, so an
//! unverified request would already have reached the app. Reading in
//! `request_filter` keeps the upstream untouched until the body is verified.

use crate::reject::{Reason, Rejection};
use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;
use pingora::ErrorType;
use std::time::{Duration, Instant};

/// Refuse early from `Content-Length` when the declared body is already too large.
pub fn check_declared_length(session: &Session, max: u64) -> Result<Option<u64>, Rejection> {
    let Some(v) = session
        .req_header()
        .headers
        .get(http::header::CONTENT_LENGTH)
    else {
        return Ok(None);
    };
    let n: u64 = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Rejection::new(Reason::BadRequest, "unparseable content-length"))?;
    if n > max {
        return Err(Rejection::new(
            Reason::PayloadTooLarge,
            format!("content-length {n} exceeds limit {max}"),
        ));
    }
    Ok(Some(n))
}

/// Read the body, failing with 413 the moment more than `max` bytes arrived,
/// 408 when `deadline` passes, and 400 when the client breaks framing.
pub async fn read_bounded(
    session: &mut Session,
    max: u64,
    declared: Option<u64>,
    deadline: Instant,
    read_timeout: Duration,
) -> Result<Bytes, Rejection> {
    session.set_read_timeout(Some(read_timeout));
    // Pre-size from Content-Length (already checked against `max`), but cap the
    // up-front allocation so a lying header cannot reserve memory for free.
    let initial = declared.unwrap_or(0).min(256 << 10) as usize;
    let mut buf = BytesMut::with_capacity(initial);
    loop {
        let read = tokio::time::timeout_at(deadline.into(), session.read_request_body()).await;
        let chunk = match read {
            Err(_) => {
                return Err(Rejection::new(
                    Reason::RequestTimeout,
                    "request body deadline passed",
                ))
            }
            Ok(Err(e)) => {
                return Err(match e.etype() {
                    ErrorType::ReadTimedout => Rejection::new(
                        Reason::RequestTimeout,
                        "client stalled while sending the body",
                    ),
                    _ => Rejection::new(Reason::BadRequest, format!("reading body: {e}")),
                })
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        if (buf.len() + chunk.len()) as u64 > max {
            return Err(Rejection::new(
                Reason::PayloadTooLarge,
                format!("body exceeds limit {max}"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
