//! All Prometheus metrics in one owned registry.
//!
//! Labels are bounded by construction: route names come from the config,
//! outcomes from the closed [`crate::reject::Reason`] enum, status classes are five values.
//! Never a path, an address or a header value.

mod route;

pub use route::{ReplayResult, RouteMetrics};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The route label used when no route matched.
pub const NO_ROUTE: &str = "none";

/// hookgate's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and outcome (`forwarded`, `duplicate`, `queued` or a rejection reason).
    pub requests: IntCounterVec,
    /// Time hookgate itself spent on a request, excluding waiting for the
    /// client's body and for the upstream: the cost of the checks.
    pub overhead: HistogramVec,
    /// Time from sending to the upstream until its response header arrived.
    pub upstream_latency: HistogramVec,
    /// Request body bytes received, per route.
    pub bytes_in: IntCounterVec,
    /// Upstream responses by status class (`2xx`..`5xx`).
    pub upstream_responses: IntCounterVec,
    /// Generation of the config in use; increases on every successful reload.
    pub config_generation: IntGauge,
    /// Config reloads by result (`success`, `error`).
    pub config_reloads: IntCounterVec,
    /// Unix time of the last successful config load.
    pub config_last_success: IntGauge,
    /// Build information (always 1).
    pub build_info: IntGaugeVec,
    /// Requests currently being processed.
    pub in_flight: IntGauge,
    /// Client connections hookgate closed without an answer: `header_timeout`
    /// (bytes arrived, the header never completed), `idle`, refused PROXY
    /// protocol headers (`proxy_protocol_invalid`, `proxy_protocol_untrusted`),
    /// `max_connections` (the listener was full), and TLS handshakes that did
    /// not finish within `header_timeout` (`tls_handshake_timeout`) or failed
    /// (`tls_handshake_failed`).
    pub downstream_closed: IntCounterVec,
    /// Open client connections per listener (bounded by `max_connections`).
    pub downstream_connections: IntGaugeVec,
    /// Request-body bytes held in memory now (bounded by `max_buffered_bytes`).
    pub buffered_body_bytes: IntGauge,
    /// Requests sent again on a fresh connection because a pooled upstream
    /// connection failed before the upstream could have processed them.
    pub upstream_retries: IntCounterVec,
    /// Connection attempts to upstreams that failed, by route.
    pub upstream_connect_errors: IntCounterVec,
    /// Verified signatures by route and key id: shows when an old secret
    /// stops being used during a rotation.
    pub signatures_verified: IntCounterVec,
    /// Replay-store decisions by route: `reserved`, `committed`, `released`,
    /// `in_flight`, `duplicate_acked`, `replay_dropped`, `fail_open`.
    pub replay: IntCounterVec,
    /// Keys held by the local replay store (memory store only).
    pub replay_store_keys: IntGauge,
    /// Replay-store failures by kind (`full`, `unavailable`).
    pub replay_store_errors: IntCounterVec,
    /// Replay-store call latency by operation.
    pub replay_store_latency: HistogramVec,
    /// The replay store's series, resolved once.
    pub replay_store: ReplayStoreMetrics,
    /// Client-certificate verification failures in TLS handshakes, by listener and reason.
    pub tls_handshake_failures: IntCounterVec,
    /// Days until each TLS listener's server certificate expires.
    pub tls_cert_expiry_days: prometheus::GaugeVec,
    /// Access-log lines dropped because the log buffer was full (stdout
    /// slower than the request rate): requests are never held up by logging.
    pub log_lines_dropped: IntCounter,
}

fn latency_buckets() -> Vec<f64> {
    vec![
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 30.0,
    ]
}

impl Metrics {
    /// Create and register every metric. Registration of fresh metrics in a
    /// fresh registry cannot collide, so a failure here is a programming error
    /// reported at start-up.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "hookgate_requests_total",
                "Requests by route and outcome (forwarded, duplicate, queued or rejection reason).",
            ),
            &["route", "outcome"],
        )?;
        let overhead = HistogramVec::new(
            HistogramOpts::new(
                "hookgate_overhead_seconds",
                "Time hookgate spent on a request itself, excluding client body transfer and upstream wait.",
            )
            .buckets(latency_buckets()),
            &["route"],
        )?;
        let upstream_latency = HistogramVec::new(
            HistogramOpts::new(
                "hookgate_upstream_duration_seconds",
                "Time from connecting to the upstream until its response header arrived.",
            )
            .buckets(latency_buckets()),
            &["route"],
        )?;
        let bytes_in = IntCounterVec::new(
            Opts::new(
                "hookgate_request_body_bytes_total",
                "Request body bytes received.",
            ),
            &["route"],
        )?;
        let upstream_responses = IntCounterVec::new(
            Opts::new(
                "hookgate_upstream_responses_total",
                "Upstream responses by status class.",
            ),
            &["route", "class"],
        )?;
        let config_generation = IntGauge::new(
            "hookgate_config_generation",
            "Generation of the config in use.",
        )?;
        let config_reloads = IntCounterVec::new(
            Opts::new("hookgate_config_reload_total", "Config reloads by result."),
            &["result"],
        )?;
        let config_last_success = IntGauge::new(
            "hookgate_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("hookgate_build_info", "Build information."),
            &["version"],
        )?;
        let in_flight = IntGauge::new("hookgate_requests_in_flight", "Requests being processed.")?;
        let downstream_closed = IntCounterVec::new(
            Opts::new(
                "hookgate_downstream_closed_total",
                "Client connections closed without an answer, by reason.",
            ),
            &["reason"],
        )?;
        let downstream_connections = IntGaugeVec::new(
            Opts::new(
                "hookgate_downstream_connections",
                "Open client connections per listener.",
            ),
            &["listener"],
        )?;
        let buffered_body_bytes = IntGauge::new(
            "hookgate_buffered_body_bytes",
            "Request-body bytes held in memory (bounded by max_buffered_bytes).",
        )?;
        let upstream_retries = IntCounterVec::new(
            Opts::new(
                "hookgate_upstream_retries_total",
                "Requests resent on a fresh connection after a pooled upstream connection failed unprocessed.",
            ),
            &["route"],
        )?;
        let upstream_connect_errors = IntCounterVec::new(
            Opts::new(
                "hookgate_upstream_connect_errors_total",
                "Failed upstream connection attempts.",
            ),
            &["route"],
        )?;
        let signatures_verified = IntCounterVec::new(
            Opts::new(
                "hookgate_signatures_verified_total",
                "Verified signatures by route and key id.",
            ),
            &["route", "key"],
        )?;
        registry.register(Box::new(signatures_verified.clone()))?;
        let replay = IntCounterVec::new(
            Opts::new(
                "hookgate_replay_total",
                "Replay-store decisions by route and result.",
            ),
            &["route", "result"],
        )?;
        let replay_store_keys = IntGauge::new(
            "hookgate_replay_store_keys",
            "Keys held by the local replay store.",
        )?;
        let replay_store_errors = IntCounterVec::new(
            Opts::new(
                "hookgate_replay_store_errors_total",
                "Replay-store failures (full, unavailable).",
            ),
            &["error"],
        )?;
        let replay_store_latency = HistogramVec::new(
            HistogramOpts::new(
                "hookgate_replay_store_duration_seconds",
                "Replay-store call latency.",
            )
            .buckets(latency_buckets()),
            &["op"],
        )?;
        let tls_handshake_failures = IntCounterVec::new(
            Opts::new(
                "hookgate_tls_handshake_failures_total",
                "Client-certificate verification failures by listener and reason.",
            ),
            &["listener", "reason"],
        )?;
        let tls_cert_expiry_days = prometheus::GaugeVec::new(
            Opts::new(
                "hookgate_tls_certificate_expiry_days",
                "Days until the listener's server certificate expires.",
            ),
            &["listener"],
        )?;
        let log_lines_dropped = IntCounter::new(
            "hookgate_log_lines_dropped_total",
            "Access-log lines dropped because the log buffer was full.",
        )?;
        registry.register(Box::new(log_lines_dropped.clone()))?;
        registry.register(Box::new(tls_handshake_failures.clone()))?;
        registry.register(Box::new(tls_cert_expiry_days.clone()))?;
        registry.register(Box::new(replay.clone()))?;
        registry.register(Box::new(replay_store_keys.clone()))?;
        registry.register(Box::new(replay_store_errors.clone()))?;
        registry.register(Box::new(replay_store_latency.clone()))?;
        let replay_store = ReplayStoreMetrics {
            reserve: replay_store_latency.with_label_values(&["reserve"]),
            commit: replay_store_latency.with_label_values(&["commit"]),
            release: replay_store_latency.with_label_values(&["release"]),
            full: replay_store_errors.with_label_values(&["full"]),
            unavailable: replay_store_errors.with_label_values(&["unavailable"]),
        };
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(overhead.clone()))?;
        registry.register(Box::new(upstream_latency.clone()))?;
        registry.register(Box::new(bytes_in.clone()))?;
        registry.register(Box::new(upstream_responses.clone()))?;
        registry.register(Box::new(config_generation.clone()))?;
        registry.register(Box::new(config_reloads.clone()))?;
        registry.register(Box::new(config_last_success.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(upstream_connect_errors.clone()))?;
        registry.register(Box::new(downstream_closed.clone()))?;
        registry.register(Box::new(downstream_connections.clone()))?;
        registry.register(Box::new(buffered_body_bytes.clone()))?;
        registry.register(Box::new(upstream_retries.clone()))?;
        for reason in [
            "header_timeout",
            "idle",
            "proxy_protocol_invalid",
            "proxy_protocol_untrusted",
            "max_connections",
            "tls_handshake_timeout",
            "tls_handshake_failed",
        ] {
            downstream_closed.with_label_values(&[reason]);
        }
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for result in ["success", "error"] {
            config_reloads.with_label_values(&[result]);
        }
        Ok(Metrics {
            registry,
            requests,
            overhead,
            upstream_latency,
            bytes_in,
            upstream_responses,
            config_generation,
            config_reloads,
            config_last_success,
            build_info,
            in_flight,
            downstream_closed,
            downstream_connections,
            buffered_body_bytes,
            upstream_retries,
            upstream_connect_errors,
            signatures_verified,
            replay,
            replay_store_keys,
            replay_store_errors,
            replay_store_latency,
            replay_store,
            tls_handshake_failures,
            tls_cert_expiry_days,
            log_lines_dropped,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }

    /// The registry, for components that register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// `hookgate_replay_store_duration_seconds{op}` and
/// `hookgate_replay_store_errors_total{error}`.
pub struct ReplayStoreMetrics {
    /// Latency of `reserve`.
    pub reserve: prometheus::Histogram,
    /// Latency of `commit`.
    pub commit: prometheus::Histogram,
    /// Latency of `release`.
    pub release: prometheus::Histogram,
    /// The store was full.
    pub full: IntCounter,
    /// The store could not be reached.
    pub unavailable: IntCounter,
}

/// Seconds since the Unix epoch, for timestamp gauges.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
