//! The store contract: the same test bodies run on the embedded (redb) store
//! and on the Redis Streams store (a real `redis-server` with AOF).

use crate::queue_support::*;
use hookgate::queue::{
    DeliveryId, DeliveryState, Lease, LeaseResult, QueueError, QueueStore, RetryTarget, StateFilter,
};
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

/// `contract!(name, |fx| async body)` → `name::embedded` and `name::redis`.
macro_rules! contract {
    ($name:ident, $max:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn embedded() {
                runtime().block_on(async { $body(fixture(Kind::Embedded, $max).await).await })
            }
            #[test]
            fn redis() {
                runtime().block_on(async { $body(fixture(Kind::Redis, $max).await).await })
            }
        }
    };
}

const BIG: u64 = 1 << 30;
const HOUR: Duration = Duration::from_secs(3600);

async fn lease(store: &dyn QueueStore, route: &str, now: SystemTime) -> Option<Lease> {
    match store.lease(route, now).await.unwrap() {
        LeaseResult::Leased(l) => Some(*l),
        LeaseResult::Idle(_) => None,
    }
}

contract!(
    enqueue_then_lease_returns_the_exact_request,
    BIG,
    |fx: Fixture| async move {
        let body: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let d = delivery("a", &body);
        let id = fx.store.enqueue(d.clone()).await.unwrap();
        assert_eq!(id, d.id);
        let l = lease(fx.store.as_ref(), "a", SystemTime::now())
            .await
            .expect("due at once");
        let got = &l.delivery;
        assert_eq!(got.id, id);
        assert_eq!(got.route, "a");
        assert_eq!(got.method, "POST");
        assert_eq!(got.path, "/hooks/a?q=1");
        assert_eq!(&got.body[..], &body[..], "byte-exact body");
        assert_eq!(got.headers, d.headers, "headers in order, repeats kept");
        assert_eq!(got.attempts, 1, "the attempt is counted when it starts");
        assert!(matches!(got.state, DeliveryState::Pending { .. }));
        // Held: nobody else gets it.
        assert!(lease(fx.store.as_ref(), "a", SystemTime::now())
            .await
            .is_none());
        // Other routes are separate queues.
        assert!(lease(fx.store.as_ref(), "b", SystemTime::now())
            .await
            .is_none());
        fx.store.complete(l).await.unwrap();
        assert!(fx.store.show(id).await.unwrap().is_none());
        let s = fx
            .store
            .stats(&["a".into()], SystemTime::now())
            .await
            .unwrap();
        assert_eq!(s.routes[0].1.pending, 0);
        assert_eq!(s.bytes, 0, "completed deliveries free their bytes");
    }
);

contract!(
    retry_later_waits_until_due_and_counts_the_attempt,
    BIG,
    |fx: Fixture| async move {
        let id = fx.store.enqueue(delivery("a", b"x")).await.unwrap();
        let now = SystemTime::now();
        let l = lease(fx.store.as_ref(), "a", now).await.unwrap();
        let due = now + HOUR;
        fx.store.retry_later(l, due, "status 503").await.unwrap();
        match fx.store.lease("a", now).await.unwrap() {
            LeaseResult::Idle(Some(next)) => {
                let off = next.duration_since(due).unwrap_or_else(|e| e.duration());
                assert!(
                    off < Duration::from_millis(2),
                    "next due reported: {next:?} vs {due:?}"
                );
            }
            other => panic!("not due yet, expected Idle(Some): {other:?}"),
        }
        let l = lease(fx.store.as_ref(), "a", now + 2 * HOUR)
            .await
            .expect("due later");
        assert_eq!(l.delivery.id, id);
        assert_eq!(l.delivery.attempts, 2, "the first attempt and this one");
        assert_eq!(l.delivery.last_error.as_deref(), Some("status 503"));
        let listed = fx.store.list("a", StateFilter::Pending, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].body_len, 1);
    }
);

contract!(
    dead_letters_are_listed_retried_and_purged,
    BIG,
    |fx: Fixture| async move {
        let store = fx.store.as_ref();
        let id = store.enqueue(delivery("a", b"dead")).await.unwrap();
        let now = SystemTime::now();
        let l = lease(store, "a", now).await.unwrap();
        store.dead_letter(l, "status 400", now).await.unwrap();
        assert!(
            lease(store, "a", now + HOUR).await.is_none(),
            "dead letters are not delivered"
        );
        let dead = store.list("a", StateFilter::Dead, 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, id);
        assert!(
            matches!(&dead[0].state, DeliveryState::Dead { reason, .. } if reason == "status 400")
        );
        assert!(store
            .list("a", StateFilter::Pending, 10)
            .await
            .unwrap()
            .is_empty());
        let s = store.stats(&["a".into()], now).await.unwrap();
        assert_eq!((s.routes[0].1.pending, s.routes[0].1.dead), (0, 1));

        // Retry one: pending again with a fresh attempt budget.
        assert_eq!(
            store
                .retry_dead("b", RetryTarget::One(id), now)
                .await
                .unwrap(),
            0,
            "wrong route"
        );
        assert_eq!(
            store
                .retry_dead("a", RetryTarget::One(id), now)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .retry_dead("a", RetryTarget::One(id), now)
                .await
                .unwrap(),
            0,
            "no longer dead"
        );
        let l = lease(store, "a", SystemTime::now()).await.expect("revived");
        assert_eq!(l.delivery.attempts, 1, "a fresh attempt budget");
        assert_eq!(&l.delivery.body[..], b"dead");

        // Dead again, then purge: not before its time, then for good.
        store
            .dead_letter(l, "status 410", SystemTime::now())
            .await
            .unwrap();
        let an_hour_ago = SystemTime::now() - HOUR;
        assert_eq!(store.purge_dead("a", Some(an_hour_ago)).await.unwrap(), 0);
        assert_eq!(
            store.list("a", StateFilter::Dead, 10).await.unwrap().len(),
            1
        );
        assert_eq!(store.purge_dead("a", None).await.unwrap(), 1);
        assert!(store.show(id).await.unwrap().is_none());
        let s = store.stats(&["a".into()], SystemTime::now()).await.unwrap();
        assert_eq!((s.routes[0].1.dead, s.bytes), (0, 0));
    }
);

contract!(
    retry_all_dead_revives_every_dead_letter_of_the_route,
    BIG,
    |fx: Fixture| async move {
        let store = fx.store.as_ref();
        let mut ids = HashSet::new();
        for i in 0..5 {
            ids.insert(
                store
                    .enqueue(delivery("a", format!("d{i}").as_bytes()))
                    .await
                    .unwrap(),
            );
        }
        let other = store.enqueue(delivery("b", b"other")).await.unwrap();
        let now = SystemTime::now();
        for route in ["a", "a", "a", "a", "a", "b"] {
            let l = lease(store, route, now).await.unwrap();
            store.dead_letter(l, "status 400", now).await.unwrap();
        }
        assert_eq!(
            store
                .retry_dead("a", RetryTarget::AllDead, now)
                .await
                .unwrap(),
            5
        );
        let pending: HashSet<DeliveryId> = store
            .list("a", StateFilter::Pending, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(pending, ids);
        let b_dead = store.list("b", StateFilter::Dead, 10).await.unwrap();
        assert_eq!(
            b_dead.iter().map(|s| s.id).collect::<Vec<_>>(),
            [other],
            "other routes untouched"
        );
    }
);

contract!(
    full_store_refuses_and_keeps_what_it_acknowledged,
    64 << 10,
    |fx: Fixture| async move {
        let store = fx.store.as_ref();
        let mut acked = Vec::new();
        let err = loop {
            let d = delivery("a", &[7u8; 1024]);
            match store.enqueue(d.clone()).await {
                Ok(id) => acked.push(id),
                Err(e) => break e,
            }
            assert!(acked.len() < 1000, "the budget is never reached");
        };
        assert!(
            matches!(err, QueueError::Full { max, .. } if max == 64 << 10),
            "{err:?}"
        );
        assert!(
            acked.len() >= 40,
            "64 KiB holds ~50 deliveries of 1 KiB: {}",
            acked.len()
        );
        let s = store.stats(&["a".into()], SystemTime::now()).await.unwrap();
        assert_eq!(
            s.routes[0].1.pending,
            acked.len() as u64,
            "the refused one was not stored"
        );
        assert!(s.bytes <= 64 << 10);
        for id in &acked {
            let d = store
                .show(*id)
                .await
                .unwrap()
                .expect("acknowledged delivery kept");
            assert_eq!(&d.body[..], &[7u8; 1024][..]);
        }
        // Delivering one frees room for the next.
        let l = lease(store, "a", SystemTime::now()).await.unwrap();
        store.complete(l).await.unwrap();
        store.enqueue(delivery("a", &[7u8; 1024])).await.unwrap();
    }
);

contract!(
    an_unsettled_lease_comes_back,
    BIG,
    |fx: Fixture| async move {
        let id = fx.store.enqueue(delivery("a", b"x")).await.unwrap();
        let l = lease(fx.store.as_ref(), "a", SystemTime::now())
            .await
            .unwrap();
        drop(l); // a crashed worker
        let started = std::time::Instant::now();
        let again = eventually(
            fx.claim_idle + Duration::from_secs(10),
            "the delivery to come back",
            || async { lease(fx.store.as_ref(), "a", SystemTime::now()).await },
        )
        .await;
        assert_eq!(again.delivery.id, id);
        assert_eq!(again.delivery.attempts, 2, "the unfinished attempt counts");
        assert!(started.elapsed() >= fx.claim_idle.saturating_sub(Duration::from_millis(100)));
    }
);

contract!(
    concurrent_enqueues_are_all_stored,
    BIG,
    |fx: Fixture| async move {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = fx.store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .enqueue(delivery("a", format!("body-{i}").as_bytes()))
                    .await
                    .unwrap()
            }));
        }
        let mut ids = HashSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap());
        }
        let listed: HashSet<DeliveryId> = fx
            .store
            .list("a", StateFilter::Pending, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, ids);
        let s = fx
            .store
            .stats(&["a".into()], SystemTime::now())
            .await
            .unwrap();
        assert_eq!(s.routes, vec![("a".to_string(), s.routes[0].1.clone())]);
        assert_eq!(s.routes[0].1.pending, 200);
        assert!(s.routes[0].1.oldest_pending < Duration::from_secs(60));
        assert!(s.bytes > 200 * 6);
    }
);

contract!(
    stats_report_every_route_holding_deliveries,
    BIG,
    |fx: Fixture| async move {
        fx.store.enqueue(delivery("a", b"1")).await.unwrap();
        fx.store.enqueue(delivery("gone", b"2")).await.unwrap();
        let later = SystemTime::now() + Duration::from_secs(30);
        let s = fx
            .store
            .stats(&["a".into(), "idle".into()], later)
            .await
            .unwrap();
        let names: Vec<&str> = s.routes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["a", "gone", "idle"],
            "configured routes and routes with leftovers"
        );
        let a = &s.routes[0].1;
        assert_eq!(a.pending, 1);
        assert!(
            a.oldest_pending >= Duration::from_secs(29),
            "{:?}",
            a.oldest_pending
        );
        assert_eq!(s.routes[2].1.pending, 0);
    }
);
