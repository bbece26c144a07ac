//! Workers against a real loopback HTTP upstream: what it receives, retries,
//! backoff, Retry-After, dead letters and the operator's retry.

use crate::queue_support::*;
use async_trait::async_trait;
use hookgate::queue::policy::DeliveryResult;
use hookgate::queue::worker::QueueRoute;
use hookgate::queue::{
    Deliver, DeliveryPolicy, DeliveryState, OutgoingAttempt, QueueMetrics, RetryTarget,
    StateFilter, WorkerPool,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn policy(max_attempts: u32, initial_ms: u64, max_ms: u64) -> DeliveryPolicy {
    DeliveryPolicy {
        backoff_initial: Duration::from_millis(initial_ms),
        backoff_max: Duration::from_millis(max_ms),
        max_attempts,
        concurrency: 4,
        ..DeliveryPolicy::default()
    }
}

fn route(policy: DeliveryPolicy) -> Vec<QueueRoute> {
    vec![QueueRoute {
        name: "r".into(),
        policy,
    }]
}

/// Route `r`'s first dead letter, once there is one (within `within`).
async fn first_dead(fx: &Fixture, within: Duration) -> hookgate::queue::Summary {
    eventually(within, "a dead letter", || async {
        fx.store
            .list("r", StateFilter::Dead, 10)
            .await
            .unwrap()
            .into_iter()
            .next()
    })
    .await
}

fn metric(registry: &prometheus::Registry, line_start: &str) -> f64 {
    let mut buf = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &registry.gather(),
        &mut buf,
    )
    .unwrap();
    let text = String::from_utf8(buf).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(line_start)
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no series {line_start} in\n{text}"))
}

/// `worker_test!(name, |kind| async body)` → `name::embedded` and `name::redis`.
macro_rules! both_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn embedded() {
                runtime().block_on($body(Kind::Embedded))
            }
            #[test]
            fn redis() {
                runtime().block_on($body(Kind::Redis))
            }
        }
    };
}

both_stores!(
    deliveries_arrive_byte_exact_with_a_stable_id,
    |kind| async move {
        let fx = fixture(kind, 1 << 30).await;
        let up = ScriptedUpstream::start(Arc::new(|_: &Received, _| (200, vec![]))).await;
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(QueueMetrics::register(&registry, &["r".into()]).unwrap());
        let pool = WorkerPool::start(
            fx.store.clone(),
            HttpDeliver::new(&[("r", up.addr)]),
            route(policy(5, 10, 100)),
            Some(metrics),
        );
        let mut sent = std::collections::HashMap::new();
        for i in 0..20u8 {
            let body: Vec<u8> = (0..=255u8)
                .map(|b| b ^ i)
                .cycle()
                .take(3000 + i as usize)
                .collect();
            let d = delivery("r", &body);
            sent.insert(fx.store.enqueue(d.clone()).await.unwrap().to_string(), d);
        }
        eventually(Duration::from_secs(20), "20 deliveries", || async {
            (up.received().len() >= 20).then_some(())
        })
        .await;
        let got = up.by_delivery();
        assert_eq!(got.len(), 20);
        for (id, attempts) in &got {
            assert_eq!(attempts.len(), 1, "delivered once");
            let (a, d) = (&attempts[0], &sent[id]);
            assert_eq!(a.body, d.body, "byte-exact");
            assert_eq!(a.path, "/hooks/r?q=1");
            assert_eq!(a.attempt(), 1);
            assert_eq!(a.headers["content-type"], "application/json");
            let multi: Vec<_> = a.headers.get_all("x-multi").iter().collect();
            assert_eq!(multi, ["one", "two"]);
        }
        eventually(Duration::from_secs(10), "an empty queue", || async {
            let s = fx
                .store
                .stats(&["r".into()], SystemTime::now())
                .await
                .unwrap();
            (s.routes[0].1.pending == 0).then_some(())
        })
        .await;
        eventually(
            Duration::from_secs(10),
            "the depth gauge to follow",
            || async {
                (metric(
                    &registry,
                    "hookgate_queue_depth{route=\"r\",state=\"pending\"}",
                ) == 0.0)
                    .then_some(())
            },
        )
        .await;
        assert_eq!(
            metric(
                &registry,
                "hookgate_delivery_attempts_total{result=\"delivered\",route=\"r\"}"
            ),
            20.0
        );
        pool.shutdown(Duration::from_secs(5)).await;
    }
);

both_stores!(
    exhausted_retries_dead_letter_then_queue_retry_delivers,
    |kind| async move {
        let fx = fixture(kind, 1 << 30).await;
        let accept = Arc::new(AtomicBool::new(false));
        let a2 = accept.clone();
        let up = ScriptedUpstream::start(Arc::new(move |_: &Received, _| {
            (if a2.load(Ordering::SeqCst) { 200 } else { 503 }, vec![])
        }))
        .await;
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(QueueMetrics::register(&registry, &["r".into()]).unwrap());
        let pool = WorkerPool::start(
            fx.store.clone(),
            HttpDeliver::new(&[("r", up.addr)]),
            route(policy(3, 10, 50)),
            Some(metrics),
        );
        let id = fx.store.enqueue(delivery("r", b"{\"n\":1}")).await.unwrap();
        let dead = first_dead(&fx, Duration::from_secs(20)).await;
        assert_eq!(dead.id, id);
        assert!(
            matches!(&dead.state, DeliveryState::Dead { reason, .. } if reason == "max_attempts (3) reached; last: status 503"),
            "{:?}",
            dead.state
        );
        let attempts: Vec<u32> = up.received().iter().map(|r| r.attempt()).collect();
        assert_eq!(attempts, [1, 2, 3], "exactly max_attempts attempts");
        assert_eq!(
            metric(&registry, "hookgate_dead_letters_total{route=\"r\"}"),
            1.0
        );
        assert_eq!(
            metric(
                &registry,
                "hookgate_delivery_attempts_total{result=\"retryable_status\",route=\"r\"}"
            ),
            3.0
        );

        // The app is fixed; the operator retries the dead letter.
        accept.store(true, Ordering::SeqCst);
        assert_eq!(
            fx.store
                .retry_dead("r", RetryTarget::AllDead, SystemTime::now())
                .await
                .unwrap(),
            1
        );
        eventually(Duration::from_secs(20), "the retried delivery", || async {
            (up.received().len() == 4).then_some(())
        })
        .await;
        let last = up.received().pop().unwrap();
        assert_eq!(
            last.delivery_id(),
            id.to_string(),
            "same delivery id after a retry"
        );
        assert_eq!(last.attempt(), 1, "a fresh series of attempts");
        assert_eq!(&last.body[..], b"{\"n\":1}");
        eventually(Duration::from_secs(10), "the dead letter gone", || async {
            fx.store.show(id).await.unwrap().is_none().then_some(())
        })
        .await;
        pool.shutdown(Duration::from_secs(5)).await;
    }
);

#[test]
fn a_client_error_is_dead_at_once() {
    runtime().block_on(async {
        let fx = fixture(Kind::Embedded, 1 << 30).await;
        let up = ScriptedUpstream::start(Arc::new(|_: &Received, _| (400, vec![]))).await;
        let pool = WorkerPool::start(
            fx.store.clone(),
            HttpDeliver::new(&[("r", up.addr)]),
            route(policy(20, 10, 50)),
            None,
        );
        fx.store.enqueue(delivery("r", b"bad")).await.unwrap();
        let dead = first_dead(&fx, Duration::from_secs(20)).await;
        assert!(
            matches!(&dead.state, DeliveryState::Dead { reason, .. } if reason == "status 400")
        );
        assert_eq!(up.received().len(), 1, "4xx is not retried");
        pool.shutdown(Duration::from_secs(5)).await;
    });
}

/// The gap between a delivery's first and second attempt when the first
/// answer is 503 with this `Retry-After`.
async fn gap_after_retry_after(value: impl Fn() -> String + Send + Sync + 'static) -> Duration {
    let fx = fixture(Kind::Embedded, 1 << 30).await;
    let up = ScriptedUpstream::start(Arc::new(move |_: &Received, earlier| {
        if earlier == 0 {
            (503, vec![("retry-after", value())])
        } else {
            (200, vec![])
        }
    }))
    .await;
    let pool = WorkerPool::start(
        fx.store.clone(),
        HttpDeliver::new(&[("r", up.addr)]),
        route(policy(5, 10, 60_000)),
        None,
    );
    fx.store.enqueue(delivery("r", b"x")).await.unwrap();
    eventually(Duration::from_secs(30), "the second attempt", || async {
        (up.received().len() == 2).then_some(())
    })
    .await;
    pool.shutdown(Duration::from_secs(5)).await;
    let r = up.received();
    r[1].at - r[0].at
}

#[test]
fn retry_after_seconds_is_honoured() {
    let gap = runtime().block_on(gap_after_retry_after(|| "2".into()));
    println!("Retry-After: 2 -> second attempt after {gap:?}");
    assert!(gap >= Duration::from_millis(1990), "{gap:?}");
    assert!(gap < Duration::from_secs(12), "{gap:?}");
}

#[test]
fn retry_after_http_date_is_honoured() {
    let gap = runtime().block_on(gap_after_retry_after(|| {
        httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3))
    }));
    println!("Retry-After: <now + 3s> -> second attempt after {gap:?}");
    // HTTP-dates have whole seconds: at least 2 s of the 3 remain.
    assert!(gap >= Duration::from_secs(2), "{gap:?}");
    assert!(gap < Duration::from_secs(13), "{gap:?}");
}

#[test]
fn backoff_grows_and_is_jittered() {
    runtime().block_on(async {
        let fx = fixture(Kind::Embedded, 1 << 30).await;
        // Each delivery fails four times, then succeeds.
        let up = ScriptedUpstream::start(Arc::new(|_: &Received, earlier| {
            (if earlier < 4 { 503 } else { 200 }, vec![])
        }))
        .await;
        let p = DeliveryPolicy {
            concurrency: 10,
            ..policy(10, 50, 10_000)
        };
        let pool = WorkerPool::start(
            fx.store.clone(),
            HttpDeliver::new(&[("r", up.addr)]),
            route(p),
            None,
        );
        for i in 0..10 {
            fx.store
                .enqueue(delivery("r", format!("{i}").as_bytes()))
                .await
                .unwrap();
        }
        eventually(Duration::from_secs(60), "50 attempts", || async {
            (up.received().len() == 50).then_some(())
        })
        .await;
        pool.shutdown(Duration::from_secs(5)).await;
        // gaps[k] = delays after attempt k+1, whose jitter range is 0 ..= 50 ms × 2^k.
        let mut gaps: Vec<Vec<Duration>> = vec![Vec::new(); 4];
        for (_, attempts) in up.by_delivery() {
            assert_eq!(attempts.len(), 5);
            for k in 0..4 {
                gaps[k].push(attempts[k + 1].at - attempts[k].at);
            }
        }
        let mean = |v: &Vec<Duration>| v.iter().sum::<Duration>() / v.len() as u32;
        for (k, g) in gaps.iter().enumerate() {
            let cap = Duration::from_millis(50 << k);
            println!(
                "after attempt {}: cap {cap:?}, mean {:?}, gaps {g:?}",
                k + 1,
                mean(g)
            );
            for d in g {
                assert!(
                    *d <= cap + Duration::from_secs(2),
                    "gap {d:?} beyond {cap:?} + slack"
                );
            }
        }
        // 10 samples each of U(0, 50 ms) and U(0, 400 ms): the order of the
        // means fails by chance with probability ~1e-9.
        assert!(mean(&gaps[3]) > mean(&gaps[0]), "backoff grows");
        let (lo, hi) = (gaps[3].iter().min().unwrap(), gaps[3].iter().max().unwrap());
        assert!(
            *hi - *lo > Duration::from_millis(20),
            "jittered: {lo:?} .. {hi:?}"
        );
    });
}

/// Panics on the first attempt of every delivery, then delivers.
struct PanicsOnce {
    inner: Arc<HttpDeliver>,
    calls: AtomicUsize,
}

#[async_trait]
impl Deliver for PanicsOnce {
    async fn deliver(&self, route: &str, a: &OutgoingAttempt) -> DeliveryResult {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("deliverer crashed mid-attempt");
        }
        self.inner.deliver(route, a).await
    }
}

#[test]
fn a_crashing_worker_loses_nothing() {
    runtime().block_on(async {
        let fx = fixture(Kind::Embedded, 1 << 30).await;
        let up = ScriptedUpstream::start(Arc::new(|_: &Received, _| (200, vec![]))).await;
        let deliver = Arc::new(PanicsOnce {
            inner: HttpDeliver::new(&[("r", up.addr)]),
            calls: AtomicUsize::new(0),
        });
        let p = DeliveryPolicy {
            concurrency: 1,
            ..policy(5, 10, 50)
        };
        let pool = WorkerPool::start(fx.store.clone(), deliver.clone(), route(p), None);
        let id = fx.store.enqueue(delivery("r", b"precious")).await.unwrap();
        eventually(
            Duration::from_secs(20),
            "the delivery after the crash",
            || async { (up.received().len() == 1).then_some(()) },
        )
        .await;
        assert_eq!(up.received()[0].delivery_id(), id.to_string());
        assert_eq!(
            deliver.calls.load(Ordering::SeqCst),
            2,
            "crashed once, then delivered"
        );
        // The single worker survived its crash and keeps working.
        fx.store.enqueue(delivery("r", b"next")).await.unwrap();
        eventually(Duration::from_secs(20), "the next delivery", || async {
            (up.received().len() == 2).then_some(())
        })
        .await;
        pool.shutdown(Duration::from_secs(5)).await;
    });
}

/// Crashes on every attempt, like a delivery that kills the process each time.
struct AlwaysPanics(AtomicUsize);

#[async_trait]
impl Deliver for AlwaysPanics {
    async fn deliver(&self, _: &str, _: &OutgoingAttempt) -> DeliveryResult {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("this delivery crashes its attempt every time");
    }
}

both_stores!(
    attempts_that_never_finish_still_dead_letter_after_max_attempts,
    |kind| async move {
        let fx = fixture(kind, 1 << 30).await;
        let deliver = Arc::new(AlwaysPanics(AtomicUsize::new(0)));
        let p = DeliveryPolicy {
            concurrency: 1,
            ..policy(3, 10, 50)
        };
        let pool = WorkerPool::start(fx.store.clone(), deliver.clone(), route(p), None);
        let id = fx.store.enqueue(delivery("r", b"poison")).await.unwrap();
        let dead = first_dead(&fx, Duration::from_secs(30) + fx.claim_idle * 4).await;
        assert_eq!(dead.id, id);
        let DeliveryState::Dead { reason, .. } = &dead.state else {
            panic!("{dead:?}")
        };
        assert!(
            reason.starts_with("max_attempts (3) reached; last: attempt 3 never finished"),
            "{reason}"
        );
        assert_eq!(
            deliver.0.load(Ordering::SeqCst),
            3,
            "three attempts, no fourth"
        );
        pool.shutdown(Duration::from_secs(5)).await;
    }
);
