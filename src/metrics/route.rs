//! One route's metric series, resolved once when its config is loaded.
//!
//! Looking a series up by its label values hashes the strings and takes a
//! lock on every request; a route's series are known when the route is
//! built, so the request path holds the handles instead. A reload resolves
//! the same names to the same series, so counts carry on across reloads, and
//! every series exists (at zero) before the first request, for dashboards
//! and alerts.

use super::{Metrics, NO_ROUTE};
use crate::proxy::ctx::Outcome;
use crate::reject::Reason;
use arc_swap::ArcSwap;
use prometheus::{Histogram, IntCounter, IntCounterVec};
use std::sync::Arc;

/// What the replay step did, by route (`hookgate_replay_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayResult {
    /// A key was reserved.
    Reserved,
    /// A reservation became a delivered key.
    Committed,
    /// A reservation was given back (the upstream failed).
    Released,
    /// Another request held the key.
    InFlight,
    /// A duplicate was acknowledged.
    DuplicateAcked,
    /// A duplicate was refused.
    ReplayDropped,
    /// The store was down and the route forwards anyway.
    FailOpen,
}

impl ReplayResult {
    /// Every result, in label order.
    pub const ALL: [ReplayResult; 7] = [
        ReplayResult::Reserved,
        ReplayResult::Committed,
        ReplayResult::Released,
        ReplayResult::InFlight,
        ReplayResult::DuplicateAcked,
        ReplayResult::ReplayDropped,
        ReplayResult::FailOpen,
    ];

    /// The `result` label.
    pub fn label(self) -> &'static str {
        match self {
            ReplayResult::Reserved => "reserved",
            ReplayResult::Committed => "committed",
            ReplayResult::Released => "released",
            ReplayResult::InFlight => "in_flight",
            ReplayResult::DuplicateAcked => "duplicate_acked",
            ReplayResult::ReplayDropped => "replay_dropped",
            ReplayResult::FailOpen => "fail_open",
        }
    }
}

/// Upstream status classes counted per route.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Most distinct key ids whose handles a route keeps; more (a JWKS that
/// rotates often) are still counted, through a label lookup.
const MAX_KEY_HANDLES: usize = 32;

/// A route's series (or those of requests no route matched).
pub struct RouteMetrics {
    name: String,
    /// By [`outcome_index`].
    requests: Box<[IntCounter]>,
    /// Time hookgate itself spent on a request.
    pub overhead: Histogram,
    /// Time until the upstream's response header arrived.
    pub upstream_latency: Histogram,
    /// Request body bytes received.
    pub bytes_in: IntCounter,
    /// Requests resent on a fresh connection.
    pub upstream_retries: IntCounter,
    /// Failed upstream connection attempts.
    pub upstream_connect_errors: IntCounter,
    /// By [`CLASSES`].
    upstream_responses: [IntCounter; 5],
    /// By [`ReplayResult::ALL`].
    replay: [IntCounter; 7],
    signatures: KeyCounters,
}

/// Where an outcome's counter sits in [`RouteMetrics::requests`].
fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Forwarded => 0,
        Outcome::Duplicate => 1,
        Outcome::Handshake => 2,
        Outcome::Queued => 3,
        Outcome::Rejected(r) => 4 + r as usize,
    }
}

/// Every outcome, in [`outcome_index`] order.
fn all_outcomes() -> impl Iterator<Item = Outcome> {
    [
        Outcome::Forwarded,
        Outcome::Duplicate,
        Outcome::Handshake,
        Outcome::Queued,
    ]
    .into_iter()
    .chain(Reason::ALL.into_iter().map(Outcome::Rejected))
}

impl RouteMetrics {
    /// Resolve (and so create, at zero) every series of route `name`.
    pub fn new(m: &Metrics, name: &str) -> Self {
        let one = |vec: &IntCounterVec, label: &str| vec.with_label_values(&[name, label]);
        RouteMetrics {
            name: name.to_string(),
            requests: all_outcomes()
                .map(|o| one(&m.requests, o.label()))
                .collect(),
            overhead: m.overhead.with_label_values(&[name]),
            upstream_latency: m.upstream_latency.with_label_values(&[name]),
            bytes_in: m.bytes_in.with_label_values(&[name]),
            upstream_retries: m.upstream_retries.with_label_values(&[name]),
            upstream_connect_errors: m.upstream_connect_errors.with_label_values(&[name]),
            upstream_responses: CLASSES.map(|c| one(&m.upstream_responses, c)),
            replay: ReplayResult::ALL.map(|r| one(&m.replay, r.label())),
            signatures: KeyCounters {
                vec: m.signatures_verified.clone(),
                held: ArcSwap::from_pointee(Vec::new()),
            },
        }
    }

    /// The series of requests no route matched (`route="none"`).
    pub fn no_route(m: &Metrics) -> Self {
        RouteMetrics::new(m, NO_ROUTE)
    }

    /// The route label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Count one finished request.
    pub fn count(&self, outcome: Outcome) {
        if let Some(c) = self.requests.get(outcome_index(outcome)) {
            c.inc();
        }
    }

    /// Requests counted with `outcome` so far.
    pub fn requests(&self, outcome: Outcome) -> u64 {
        self.requests
            .get(outcome_index(outcome))
            .map_or(0, IntCounter::get)
    }

    /// Count an upstream answer by its status class.
    pub fn upstream_response(&self, status: u16) {
        let class = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        self.upstream_responses[class].inc();
    }

    /// Count a replay-step result.
    pub fn replay(&self, result: ReplayResult) {
        self.replay[result as usize].inc();
    }

    /// Count a signature verified with `key_id`.
    pub fn signature_verified(&self, key_id: &str) {
        self.signatures.inc(&self.name, key_id);
    }
}

/// `hookgate_signatures_verified_total{route,key}`: key ids are known only
/// once a signature verifies (keys fetched from a JWKS too), so handles are
/// kept as they are first seen.
struct KeyCounters {
    vec: IntCounterVec,
    held: ArcSwap<Vec<(Box<str>, IntCounter)>>,
}

impl KeyCounters {
    fn inc(&self, route: &str, key_id: &str) {
        if let Some((_, c)) = self.held.load().iter().find(|(k, _)| **k == *key_id) {
            c.inc();
            return;
        }
        let c = self.vec.with_label_values(&[route, key_id]);
        c.inc();
        self.held.rcu(|held| {
            let mut next = Vec::clone(held);
            if next.len() < MAX_KEY_HANDLES && !next.iter().any(|(k, _)| **k == *key_id) {
                next.push((key_id.into(), c.clone()));
            }
            Arc::new(next)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_count_into_the_labelled_series_and_survive_a_reload() {
        let m = Metrics::new().unwrap();
        let before = RouteMetrics::new(&m, "gh");
        before.count(Outcome::Forwarded);
        before.count(Outcome::Rejected(Reason::SignatureInvalid));
        before.replay(ReplayResult::Committed);
        before.upstream_response(503);
        before.signature_verified("k1");
        before.signature_verified("k1");
        // A reload builds the route again: the same series carry on.
        let after = RouteMetrics::new(&m, "gh");
        after.count(Outcome::Forwarded);
        after.signature_verified("k1");
        let get = |vec: &IntCounterVec, labels: &[&str]| vec.with_label_values(labels).get();
        assert_eq!(get(&m.requests, &["gh", "forwarded"]), 2);
        assert_eq!(get(&m.requests, &["gh", "signature_invalid"]), 1);
        assert_eq!(get(&m.requests, &["gh", "duplicate"]), 0);
        assert_eq!(get(&m.replay, &["gh", "committed"]), 1);
        assert_eq!(get(&m.upstream_responses, &["gh", "5xx"]), 1);
        assert_eq!(get(&m.signatures_verified, &["gh", "k1"]), 3);
        assert_eq!(after.requests(Outcome::Forwarded), 2);
    }

    #[test]
    fn every_outcome_has_its_own_series() {
        let m = Metrics::new().unwrap();
        let r = RouteMetrics::new(&m, "x");
        let outcomes: Vec<Outcome> = all_outcomes().collect();
        for (i, o) in outcomes.iter().enumerate() {
            assert_eq!(outcome_index(*o), i, "{o:?}");
            r.count(*o);
        }
        for o in &outcomes {
            assert_eq!(m.requests.with_label_values(&["x", o.label()]).get(), 1);
        }
    }
}
