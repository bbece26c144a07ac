//! What to do after an attempt: complete, retry later, or give up.
//!
//! A pure function of the attempt's result, the route's policy, the attempt
//! number and the delivery's age, so every rule is unit-tested without a
//! clock. Retries use exponential backoff with *full jitter* (a uniform delay
//! in `0 ..= min(backoff_max, backoff_initial × 2^(attempt-1))`): after an
//! outage, the backlog's retries spread out instead of arriving in waves.

use super::DeliveryPolicy;
use http::HeaderValue;
use std::time::{Duration, SystemTime};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The upstream answered with this status.
    Status(u16),
    /// No usable answer: no connection (refused, TLS failure), or the
    /// connection failed before a response arrived.
    Unreachable(String),
    /// Connected, but no complete response in time.
    Timeout,
}

/// What a [`super::Deliver`] implementation reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    /// Status or failure.
    pub result: AttemptResult,
    /// The upstream's `Retry-After`, already converted to a delay (see [`parse_retry_after`]).
    pub retry_after: Option<Duration>,
}

impl DeliveryResult {
    /// A response without `Retry-After`.
    pub fn status(code: u16) -> Self {
        DeliveryResult {
            result: AttemptResult::Status(code),
            retry_after: None,
        }
    }
}

/// The worker's next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: delivered.
    Complete,
    /// Try again after this delay; `error` describes this attempt.
    Retry {
        /// Delay before the next attempt.
        after: Duration,
        /// What failed, kept as the delivery's last error.
        error: String,
    },
    /// Keep as a dead letter.
    Dead {
        /// Why.
        reason: String,
    },
}

/// Statuses worth retrying: the upstream may accept the same request later.
fn retryable_status(code: u16) -> bool {
    matches!(code, 408 | 425 | 429) || (500..=599).contains(&code)
}

/// The `result` label of `hookgate_delivery_attempts_total`.
pub fn result_label(r: &AttemptResult) -> &'static str {
    match r {
        AttemptResult::Status(c) if (200..=299).contains(c) => "delivered",
        AttemptResult::Status(c) if retryable_status(*c) => "retryable_status",
        AttemptResult::Status(_) => "rejected",
        AttemptResult::Unreachable(_) => "unreachable",
        AttemptResult::Timeout => "timeout",
    }
}

/// Upper bound of the jittered delay after attempt `attempt` (1-based).
pub fn backoff_cap(policy: &DeliveryPolicy, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    policy
        .backoff_initial
        .checked_mul(1u32 << doublings.min(31))
        .map_or(policy.backoff_max, |d| d.min(policy.backoff_max))
}

/// Decide after attempt number `attempt` (1-based) of a delivery whose current
/// series started `age` ago. `jitter` is uniform in `[0, 1)`.
pub fn decide(
    policy: &DeliveryPolicy,
    outcome: &DeliveryResult,
    attempt: u32,
    age: Duration,
    jitter: f64,
) -> Decision {
    let error = match &outcome.result {
        AttemptResult::Status(c) if (200..=299).contains(c) => return Decision::Complete,
        AttemptResult::Status(c) if !retryable_status(*c) => {
            return Decision::Dead {
                reason: format!("status {c}"),
            }
        }
        AttemptResult::Status(c) => format!("status {c}"),
        AttemptResult::Unreachable(e) => format!("unreachable: {e}"),
        AttemptResult::Timeout => "timeout".to_string(),
    };
    if attempt >= policy.max_attempts {
        return Decision::Dead {
            reason: format!(
                "max_attempts ({}) reached; last: {error}",
                policy.max_attempts
            ),
        };
    }
    if age >= policy.max_age {
        return Decision::Dead {
            reason: format!(
                "max_age ({}) reached; last: {error}",
                humantime::format_duration(policy.max_age)
            ),
        };
    }
    let jittered = backoff_cap(policy, attempt).mul_f64(jitter.clamp(0.0, 1.0));
    // Retry-After is a floor, capped so one upstream cannot park a delivery
    // beyond the route's own longest delay.
    let floor = outcome
        .retry_after
        .map_or(Duration::ZERO, |r| r.min(policy.backoff_max));
    Decision::Retry {
        after: jittered.max(floor),
        error,
    }
}

/// `Retry-After` as a delay from `now`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// A date in the past is zero; anything else unparseable is ignored.
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let s = value.to_str().ok()?.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(s.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(s).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            max_attempts: 5,
            max_age: Duration::from_secs(3600),
            ..DeliveryPolicy::default()
        }
    }

    fn at(result: AttemptResult) -> DeliveryResult {
        DeliveryResult {
            result,
            retry_after: None,
        }
    }

    #[test]
    fn two_xx_completes_other_4xx_is_dead() {
        let p = policy();
        for c in [200, 202, 204, 299] {
            assert_eq!(
                decide(&p, &DeliveryResult::status(c), 1, Duration::ZERO, 0.5),
                Decision::Complete
            );
        }
        for c in [400, 401, 403, 404, 410, 422, 301, 304] {
            assert_eq!(
                decide(&p, &DeliveryResult::status(c), 1, Duration::ZERO, 0.5),
                Decision::Dead {
                    reason: format!("status {c}")
                },
                "{c}"
            );
        }
    }

    #[test]
    fn transient_failures_retry() {
        let p = policy();
        for r in [
            AttemptResult::Status(408),
            AttemptResult::Status(425),
            AttemptResult::Status(429),
            AttemptResult::Status(500),
            AttemptResult::Status(503),
            AttemptResult::Unreachable("refused".into()),
            AttemptResult::Timeout,
        ] {
            let d = decide(&p, &at(r.clone()), 1, Duration::ZERO, 0.5);
            assert!(matches!(d, Decision::Retry { .. }), "{r:?}: {d:?}");
        }
    }

    #[test]
    fn max_attempts_and_max_age_make_dead_letters() {
        let p = policy();
        let d = decide(&p, &DeliveryResult::status(503), 5, Duration::ZERO, 0.5);
        assert_eq!(
            d,
            Decision::Dead {
                reason: "max_attempts (5) reached; last: status 503".into()
            }
        );
        let d = decide(
            &p,
            &at(AttemptResult::Timeout),
            2,
            Duration::from_secs(3600),
            0.5,
        );
        assert_eq!(
            d,
            Decision::Dead {
                reason: "max_age (1h) reached; last: timeout".into()
            }
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        let caps: Vec<u64> = (1..=12).map(|a| backoff_cap(&p, a).as_secs()).collect();
        assert_eq!(caps, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(backoff_cap(&p, u32::MAX), p.backoff_max);
    }

    #[test]
    fn full_jitter_spans_zero_to_cap() {
        let p = DeliveryPolicy {
            max_attempts: 100,
            ..policy()
        };
        let delay = |j: f64| match decide(&p, &DeliveryResult::status(500), 4, Duration::ZERO, j) {
            Decision::Retry { after, .. } => after,
            d => panic!("{d:?}"),
        };
        assert_eq!(delay(0.0), Duration::ZERO);
        assert_eq!(delay(0.5), Duration::from_secs(4));
        assert!(delay(0.999_999) <= Duration::from_secs(8));
        assert_eq!(delay(7.0), Duration::from_secs(8), "clamped");
    }

    #[test]
    fn retry_after_is_a_floor_capped_by_backoff_max() {
        let p = policy();
        let with = |secs: u64, j: f64| {
            let r = DeliveryResult {
                result: AttemptResult::Status(429),
                retry_after: Some(Duration::from_secs(secs)),
            };
            match decide(&p, &r, 1, Duration::ZERO, j) {
                Decision::Retry { after, .. } => after,
                d => panic!("{d:?}"),
            }
        };
        assert_eq!(with(30, 0.0), Duration::from_secs(30));
        assert_eq!(with(30, 0.99), Duration::from_secs(30));
        assert_eq!(with(86_400, 0.0), Duration::from_secs(600));
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let v = |s: &str| parse_retry_after(&HeaderValue::from_str(s).unwrap(), now);
        assert_eq!(v("120"), Some(Duration::from_secs(120)));
        assert_eq!(v(" 0 "), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(v(&later), Some(Duration::from_secs(90)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(v(&earlier), Some(Duration::ZERO));
        assert_eq!(v("soon"), None);
        assert_eq!(v("-5"), None);
        assert_eq!(
            v("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn result_labels_are_a_closed_set() {
        assert_eq!(result_label(&AttemptResult::Status(204)), "delivered");
        assert_eq!(
            result_label(&AttemptResult::Status(503)),
            "retryable_status"
        );
        assert_eq!(result_label(&AttemptResult::Status(400)), "rejected");
        assert_eq!(result_label(&AttemptResult::Timeout), "timeout");
        assert_eq!(
            result_label(&AttemptResult::Unreachable("x".into())),
            "unreachable"
        );
    }
}
