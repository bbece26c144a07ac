//! Queue metrics, registered into hookgate's registry.
//!
//! Labels are bounded: route names come from the config, `state` is
//! `pending`/`dead`, `result` is the closed set of
//! [`super::policy::result_label`].

use super::{StateFilter, Stats};
use prometheus::{GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Every `result` label value, so each series exists from the start.
const RESULTS: [&str; 5] = [
    "delivered",
    "retryable_status",
    "rejected",
    "unreachable",
    "timeout",
];

/// The durable-delivery metrics.
pub struct QueueMetrics {
    /// Deliveries per route and state (`pending`, `dead`).
    pub depth: IntGaugeVec,
    /// Age of each route's oldest pending delivery: the lag the app sees.
    pub oldest_age: GaugeVec,
    /// Delivery attempts by route and result.
    pub attempts: IntCounterVec,
    /// Deliveries given up (dead-lettered) by this instance, per route.
    pub dead_letters: IntCounterVec,
    /// Bytes counted against `max_bytes`.
    pub store_bytes: IntGauge,
    /// The `max_bytes` budget, so alerts need no copy of the config.
    pub store_max_bytes: IntGauge,
    /// Store calls of the workers that failed (lease, record an attempt,
    /// extend a lease, stats): while they fail, nothing is delivered. The
    /// request path's failures are rejections (`queue_unavailable`).
    pub store_errors: IntCounter,
}

impl QueueMetrics {
    /// Create the metrics, register them in `registry` and create every
    /// route's series (at zero), so dashboards and alerts see them before
    /// the first delivery.
    pub fn register(registry: &Registry, routes: &[String]) -> Result<Self, prometheus::Error> {
        let m = QueueMetrics {
            depth: IntGaugeVec::new(
                Opts::new(
                    "hookgate_queue_depth",
                    "Queued deliveries by route and state.",
                ),
                &["route", "state"],
            )?,
            oldest_age: GaugeVec::new(
                Opts::new(
                    "hookgate_queue_oldest_age_seconds",
                    "Age of the oldest pending delivery per route.",
                ),
                &["route"],
            )?,
            attempts: IntCounterVec::new(
                Opts::new(
                    "hookgate_delivery_attempts_total",
                    "Delivery attempts from the queue by route and result.",
                ),
                &["route", "result"],
            )?,
            dead_letters: IntCounterVec::new(
                Opts::new(
                    "hookgate_dead_letters_total",
                    "Deliveries given up and kept as dead letters.",
                ),
                &["route"],
            )?,
            store_bytes: IntGauge::new(
                "hookgate_queue_store_bytes",
                "Bytes of queued deliveries counted against max_bytes.",
            )?,
            store_max_bytes: IntGauge::new(
                "hookgate_queue_store_max_bytes",
                "The queue store's max_bytes budget.",
            )?,
            store_errors: IntCounter::new(
                "hookgate_queue_store_errors_total",
                "Queue store calls of the delivery workers that failed.",
            )?,
        };
        registry.register(Box::new(m.depth.clone()))?;
        registry.register(Box::new(m.oldest_age.clone()))?;
        registry.register(Box::new(m.attempts.clone()))?;
        registry.register(Box::new(m.dead_letters.clone()))?;
        registry.register(Box::new(m.store_bytes.clone()))?;
        registry.register(Box::new(m.store_max_bytes.clone()))?;
        registry.register(Box::new(m.store_errors.clone()))?;
        for r in routes {
            for s in [StateFilter::Pending, StateFilter::Dead] {
                m.depth.with_label_values(&[r.as_str(), s.as_str()]);
            }
            m.oldest_age.with_label_values(&[r.as_str()]);
            m.dead_letters.with_label_values(&[r.as_str()]);
            for result in RESULTS {
                m.attempts.with_label_values(&[r.as_str(), result]);
            }
        }
        Ok(m)
    }

    /// Publish a [`Stats`] snapshot.
    pub fn observe(&self, stats: &Stats) {
        for (route, s) in &stats.routes {
            let gauge = |state: StateFilter| {
                self.depth
                    .with_label_values(&[route.as_str(), state.as_str()])
            };
            gauge(StateFilter::Pending).set(clamp(s.pending));
            gauge(StateFilter::Dead).set(clamp(s.dead));
            self.oldest_age
                .with_label_values(&[route.as_str()])
                .set(s.oldest_pending.as_secs_f64());
        }
        self.store_bytes.set(clamp(stats.bytes));
        self.store_max_bytes.set(clamp(stats.max_bytes));
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::RouteStats;
    use std::time::Duration;

    #[test]
    fn series_exist_from_the_start_and_follow_stats() {
        let registry = Registry::new();
        let m = QueueMetrics::register(&registry, &["a".to_string()]).unwrap();
        let text = || {
            let mut buf = Vec::new();
            prometheus::Encoder::encode(
                &prometheus::TextEncoder::new(),
                &registry.gather(),
                &mut buf,
            )
            .unwrap();
            String::from_utf8(buf).unwrap()
        };
        let t = text();
        for line in [
            "hookgate_queue_depth{route=\"a\",state=\"pending\"} 0",
            "hookgate_queue_depth{route=\"a\",state=\"dead\"} 0",
            "hookgate_queue_oldest_age_seconds{route=\"a\"} 0",
            "hookgate_delivery_attempts_total{result=\"timeout\",route=\"a\"} 0",
            "hookgate_dead_letters_total{route=\"a\"} 0",
            "hookgate_queue_store_bytes 0",
        ] {
            assert!(t.contains(line), "{line} missing from\n{t}");
        }
        m.observe(&Stats {
            routes: vec![(
                "a".into(),
                RouteStats {
                    pending: 3,
                    dead: 1,
                    oldest_pending: Duration::from_millis(2500),
                },
            )],
            bytes: 4096,
            max_bytes: 1 << 20,
        });
        let t = text();
        for line in [
            "hookgate_queue_depth{route=\"a\",state=\"pending\"} 3",
            "hookgate_queue_depth{route=\"a\",state=\"dead\"} 1",
            "hookgate_queue_oldest_age_seconds{route=\"a\"} 2.5",
            "hookgate_queue_store_bytes 4096",
            "hookgate_queue_store_max_bytes 1048576",
        ] {
            assert!(t.contains(line), "{line} missing from\n{t}");
        }
    }
}
