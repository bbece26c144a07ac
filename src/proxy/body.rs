//! Reading the whole request body into a bounded buffer before anything goes upstream.
//!
//! The body is held whole because the signature covers all of it and nothing
//! unverified may reach the app. Its memory is taken from the global
//! [`budget`](super::budget) before it is buffered: a declared
//! `Content-Length` up front (before `100 Continue` invites the body), a
//! chunked body as its buffer grows. The buffer never doubles behind the
//! budget's back: a declared length is allocated exactly once, and a chunked
//! buffer grows into a new allocation that is leased before the copy and
//! whose predecessor is given back after it.

use super::budget::{Lease, BUDGET_WAIT};
use super::Downstream;
use crate::reject::{Reason, Rejection};
use bytes::{Bytes, BytesMut};
use pingora::ErrorType;
use std::time::{Duration, Instant};

/// Smallest buffer a chunked body starts with.
const MIN_CHUNKED_BUFFER: usize = 16 << 10;

/// A verified-to-be body: the bytes and the budget they hold until dropped.
pub struct Buffered {
    /// The exact bytes received.
    pub bytes: Bytes,
    /// Budget held by `bytes`; returned when this is dropped.
    _lease: Lease,
}

/// Refuse early from `Content-Length` when the declared body is already too large.
pub fn declared_length(session: &Downstream, max: u64) -> Result<Option<u64>, Rejection> {
    let Some(v) = session.get_header(http::header::CONTENT_LENGTH) else {
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

/// Bounds on one body read.
pub struct BodyLimits {
    /// The route's `max_body_bytes`.
    pub max: u64,
    /// Deadline for the whole body.
    pub deadline: Instant,
    /// Longest pause between two reads.
    pub read_timeout: Duration,
}

/// Lease the declared length before the body is invited.
pub async fn lease_declared(lease: &mut Lease, declared: Option<u64>) -> Result<(), Rejection> {
    match declared {
        Some(n) if n > 0 => lease.grow(n, BUDGET_WAIT).await,
        _ => Ok(()),
    }
}

/// Read the body, failing with 413 the moment more than `max` bytes arrived,
/// 408 when the deadline passes, 400 when the client breaks framing and 503
/// when a chunked body outgrows the budget.
pub async fn read(
    session: &mut Downstream,
    limits: &BodyLimits,
    declared: Option<u64>,
    mut lease: Lease,
) -> Result<Buffered, Rejection> {
    session.set_read_timeout(Some(limits.read_timeout));
    // A declared length was leased whole: allocate it once.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        let read = tokio::time::timeout_at(limits.deadline.into(), session.read_body_bytes()).await;
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
        let needed = buf.len() + chunk.len();
        if needed as u64 > limits.max {
            return Err(Rejection::new(
                Reason::PayloadTooLarge,
                format!("body exceeds limit {}", limits.max),
            ));
        }
        if needed > buf.capacity() {
            buf = grow(buf, needed, limits.max, &mut lease).await?;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Buffered {
        bytes: buf.freeze(),
        _lease: lease,
    })
}

/// Move `buf` into a larger allocation (about twice the size, at most `max`),
/// leasing the new one before copying and giving the old one back after.
async fn grow(
    buf: BytesMut,
    needed: usize,
    max: u64,
    lease: &mut Lease,
) -> Result<BytesMut, Rejection> {
    let doubled = (buf.capacity() * 2).max(MIN_CHUNKED_BUFFER);
    let capacity = needed.max(doubled.min(usize::try_from(max).unwrap_or(usize::MAX)));
    lease.grow(capacity as u64, BUDGET_WAIT).await?;
    let old = buf.capacity() as u64;
    let mut bigger = BytesMut::with_capacity(capacity);
    bigger.extend_from_slice(&buf);
    drop(buf);
    lease.shrink(old);
    Ok(bigger)
}
