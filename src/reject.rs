//! Every way hookgate can refuse a request, in one closed enum.
//!
//! Each check returns a [`Reason`]; the proxy turns it into exactly one HTTP
//! status, one JSON body (`{"error":"<label>","request_id":"..."}`), one
//! metric label and one access-log field. Keeping the list closed means the
//! metric label set is bounded and a new check cannot invent an ad-hoc status.

/// Why a request was answered by hookgate instead of being forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No `[[route]]` matched host and path.
    NoRoute,
    /// The body exceeded the route's `max_body_bytes`.
    PayloadTooLarge,
    /// The request could not be parsed or framed (bad chunking, truncated body,
    /// an ambiguous path, a missing or invalid `Host`).
    BadRequest,
    /// The request header exceeded `[limits] max_header_bytes` while being read.
    HeaderTooLarge,
    /// A `Transfer-Encoding` other than exactly `chunked`.
    UnsupportedTransferEncoding,
    /// The body-buffer budget (`[limits] max_buffered_bytes`) stayed full.
    Overloaded,
    /// The client did not send the whole request within the downstream deadline.
    RequestTimeout,
    /// The peer address is outside the route's or listener's allowlist.
    IpNotAllowed,
    /// The route requires a verified client certificate and none was presented.
    ClientCertificateRequired,
    /// A valid client certificate was presented but its identity is not listed.
    ClientIdentityNotAllowed,
    /// The signature header (or shared token) is absent.
    SignatureMissing,
    /// The signature header is present but cannot be parsed.
    SignatureMalformed,
    /// The signature does not match any configured secret.
    SignatureInvalid,
    /// The timestamp header is absent.
    TimestampMissing,
    /// The timestamp header cannot be parsed.
    TimestampInvalid,
    /// The timestamp lies outside the route's tolerance window.
    TimestampOutOfRange,
    /// The signing certificate the message names could not be fetched (the sender retries).
    SigningKeyUnavailable,
    /// The same delivery is currently being forwarded.
    ReplayInFlight,
    /// The delivery was already forwarded successfully (when `on_duplicate = "reject"`).
    ReplayDetected,
    /// The replay store is full; hookgate refuses rather than forget a key.
    ReplayStoreFull,
    /// The replay store (Redis) cannot be reached and the route fails closed.
    ReplayStoreUnavailable,
    /// No upstream accepted a connection or the connection failed.
    UpstreamUnreachable,
    /// The upstream did not answer within the route's timeouts.
    UpstreamTimeout,
    /// The upstream's answer was not a usable HTTP response (e.g. an
    /// unrequested `101 Switching Protocols`, endless interim responses).
    UpstreamInvalidResponse,
    /// A queue-mode route's store is at its `max_bytes` budget: nothing
    /// was acknowledged, the sender retries later.
    QueueFull,
    /// A queue-mode route's store could not take the delivery in time
    /// (Redis down, disk failing): nothing was acknowledged.
    QueueUnavailable,
    /// An unexpected internal failure; details are in the log only.
    Internal,
}

impl Reason {
    /// Every reason, for pre-registering metric label values.
    pub const ALL: [Reason; 27] = [
        Reason::NoRoute,
        Reason::PayloadTooLarge,
        Reason::BadRequest,
        Reason::HeaderTooLarge,
        Reason::UnsupportedTransferEncoding,
        Reason::Overloaded,
        Reason::RequestTimeout,
        Reason::IpNotAllowed,
        Reason::ClientCertificateRequired,
        Reason::ClientIdentityNotAllowed,
        Reason::SignatureMissing,
        Reason::SignatureMalformed,
        Reason::SignatureInvalid,
        Reason::TimestampMissing,
        Reason::TimestampInvalid,
        Reason::TimestampOutOfRange,
        Reason::SigningKeyUnavailable,
        Reason::ReplayInFlight,
        Reason::ReplayDetected,
        Reason::ReplayStoreFull,
        Reason::ReplayStoreUnavailable,
        Reason::UpstreamUnreachable,
        Reason::UpstreamTimeout,
        Reason::UpstreamInvalidResponse,
        Reason::QueueFull,
        Reason::QueueUnavailable,
        Reason::Internal,
    ];

    /// The HTTP status sent to the client.
    pub fn status(self) -> u16 {
        match self {
            Reason::NoRoute => 404,
            Reason::PayloadTooLarge => 413,
            Reason::BadRequest => 400,
            Reason::HeaderTooLarge => 431,
            Reason::UnsupportedTransferEncoding => 501,
            Reason::Overloaded => 503,
            Reason::RequestTimeout => 408,
            Reason::IpNotAllowed
            | Reason::ClientCertificateRequired
            | Reason::ClientIdentityNotAllowed => 403,
            Reason::SignatureMissing
            | Reason::SignatureMalformed
            | Reason::SignatureInvalid
            | Reason::TimestampMissing
            | Reason::TimestampInvalid
            | Reason::TimestampOutOfRange => 401,
            Reason::ReplayInFlight | Reason::ReplayDetected => 409,
            Reason::ReplayStoreFull
            | Reason::ReplayStoreUnavailable
            | Reason::SigningKeyUnavailable => 503,
            Reason::QueueFull | Reason::QueueUnavailable => 503,
            Reason::UpstreamUnreachable | Reason::UpstreamInvalidResponse => 502,
            Reason::UpstreamTimeout => 504,
            Reason::Internal => 500,
        }
    }

    /// The machine-readable label used in the JSON body, the metric and the log.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NoRoute => "no_route",
            Reason::PayloadTooLarge => "payload_too_large",
            Reason::BadRequest => "bad_request",
            Reason::HeaderTooLarge => "header_too_large",
            Reason::UnsupportedTransferEncoding => "unsupported_transfer_encoding",
            Reason::Overloaded => "overloaded",
            Reason::RequestTimeout => "request_timeout",
            Reason::IpNotAllowed => "ip_not_allowed",
            Reason::ClientCertificateRequired => "client_certificate_required",
            Reason::ClientIdentityNotAllowed => "client_identity_not_allowed",
            Reason::SignatureMissing => "signature_missing",
            Reason::SignatureMalformed => "signature_malformed",
            Reason::SignatureInvalid => "signature_invalid",
            Reason::TimestampMissing => "timestamp_missing",
            Reason::TimestampInvalid => "timestamp_invalid",
            Reason::TimestampOutOfRange => "timestamp_out_of_range",
            Reason::SigningKeyUnavailable => "signing_key_unavailable",
            Reason::ReplayInFlight => "replay_in_flight",
            Reason::ReplayDetected => "replay_detected",
            Reason::ReplayStoreFull => "replay_store_full",
            Reason::ReplayStoreUnavailable => "replay_store_unavailable",
            Reason::UpstreamUnreachable => "upstream_unreachable",
            Reason::UpstreamTimeout => "upstream_timeout",
            Reason::UpstreamInvalidResponse => "upstream_invalid_response",
            Reason::QueueFull => "queue_full",
            Reason::QueueUnavailable => "queue_unavailable",
            Reason::Internal => "internal_error",
        }
    }
}

impl Reason {
    /// The request failed authentication (401, 403): its answer waits
    /// `[limits] auth_failure_delay`, so forging costs the forger time.
    pub fn fails_authentication(self) -> bool {
        matches!(self.status(), 401 | 403)
    }

    /// `Retry-After` seconds sent with the refusal, for reasons that pass.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Reason::ReplayStoreFull
            | Reason::ReplayStoreUnavailable
            | Reason::SigningKeyUnavailable
            | Reason::Overloaded
            | Reason::QueueUnavailable => Some(5),
            // The queue drains at the upstream's pace: give it time.
            Reason::QueueFull => Some(30),
            Reason::ReplayInFlight => Some(1),
            _ => None,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A refusal with a log-only detail. The detail never contains secrets or
/// expected signatures; it is for operators reading the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What the client and the metrics see.
    pub reason: Reason,
    /// Extra context for the log line only (never sent to the client).
    pub detail: String,
}

impl Rejection {
    /// A rejection with a log detail.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<Reason> for Rejection {
    fn from(reason: Reason) -> Self {
        Rejection {
            reason,
            detail: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.label()), "duplicate label {}", r.label());
            assert!(r
                .label()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!((400..600).contains(&r.status()));
        }
    }
}
