//! Reading one request header: within `[limits].header_timeout`, within
//! `[limits].max_header_bytes`, and giving up on an idle connection once the
//! process is shutting down.
//!
//! pingora 0.9.1 bounds each *read* of a request header (60 s, restarted by
//! every byte) but not the header as a whole (pingora #447), and buffers up
//! to 1 MiB of it before any application limit applies. Here the header has
//! one deadline, counted from the moment the connection is ready for a
//! request (after accept and TLS, or after the previous response), and the
//! transport is capped so the parser never receives more than
//! `max_header_bytes` (request line included) before the header ends.

use crate::metered::Meter;
use crate::proxy::Downstream;
use crate::reject::{Reason, Rejection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// How reading a header ended.
pub enum HeaderRead {
    /// A request header was read.
    Request,
    /// It cannot be served: answer with this rejection and close.
    Refused(Rejection),
    /// The connection ends without an answer.
    Gone(Gone),
}

/// Why a connection ended between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The client closed it, or it broke.
    Closed,
    /// Nothing arrived within `header_timeout`.
    Idle,
    /// A request started but its header did not complete within `header_timeout`.
    HeaderTimeout,
    /// The process is shutting down and the connection was idle.
    Shutdown,
}

/// Set once the listeners have closed and the accept grace has passed: idle
/// connections waiting for a request are closed then.
#[derive(Default)]
pub struct Closing {
    closed: AtomicBool,
    notify: Notify,
}

impl Closing {
    /// Close idle connections from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Resolves once [`Closing::close`] was called.
    async fn wait(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.closed.load(Ordering::Acquire) {
            notified.await;
        }
    }
}

/// Bounds on one header read.
pub struct HeaderLimits {
    /// The whole-header deadline.
    pub timeout: Duration,
    /// Most header bytes, request line included.
    pub max_bytes: u64,
}

/// Read the next request header on `session`, whose transport `meter`
/// observes; `already` bytes were handed over from a pipelined previous request.
pub async fn read(
    session: &mut Downstream,
    meter: &Meter,
    already: u64,
    limits: &HeaderLimits,
    closing: &Closing,
) -> HeaderRead {
    meter.start(already, Some(limits.max_bytes));
    // The deadline below replaces pingora's per-read timeout.
    session.set_read_timeout(None);
    let result = {
        let read = session.read_request();
        tokio::pin!(read);
        // pingora's shared 10 ms timer thread, not a tokio timer: arming a
        // tokio timer on a runtime whose timer wheel emptied while the
        // previous request waited for its upstream wakes the runtime's own
        // driver through an eventfd, one `write` per keep-alive request.
        let deadline = pingora::time::sleep(limits.timeout);
        tokio::pin!(deadline);
        let mut shutdown_seen = false;
        loop {
            tokio::select! {
                biased;
                r = &mut read => break r,
                _ = &mut deadline => {
                    return HeaderRead::Gone(if meter.read() > 0 { Gone::HeaderTimeout } else { Gone::Idle });
                }
                _ = closing.wait(), if !shutdown_seen => {
                    if meter.read() == 0 {
                        return HeaderRead::Gone(Gone::Shutdown);
                    }
                    // A request is on its way: let it finish within the deadline.
                    shutdown_seen = true;
                }
            }
        }
    };
    meter.uncap();
    match result {
        Ok(Some(_)) => {
            let size = session.get_headers_raw_bytes().len() as u64;
            if size > limits.max_bytes {
                // Possible only when a pipelined prefix already held the header.
                return HeaderRead::Refused(too_large(limits.max_bytes));
            }
            HeaderRead::Request
        }
        Ok(None) => HeaderRead::Gone(Gone::Closed),
        Err(_) if meter.exceeded() => HeaderRead::Refused(too_large(limits.max_bytes)),
        Err(e) if e.etype() == &pingora::ErrorType::InvalidHTTPHeader => {
            HeaderRead::Refused(Rejection::new(Reason::BadRequest, safe_detail(&e)))
        }
        Err(_) => HeaderRead::Gone(Gone::Closed),
    }
}

fn too_large(max: u64) -> Rejection {
    Rejection::new(
        Reason::HeaderTooLarge,
        format!("request header exceeds max_header_bytes {max}"),
    )
}

/// What was wrong with a header, without the header: pingora's parse errors
/// carry the raw bytes (credentials included) in their context, so only the
/// parser's own cause, or pingora's fixed explanation when there is no
/// cause, is logged.
fn safe_detail(e: &pingora::Error) -> String {
    let why = match &e.cause {
        Some(cause) => cause.to_string(),
        None => e
            .context
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
    };
    format!("malformed request header: {why}")
}
