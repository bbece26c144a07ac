//! The Redis Streams store: persistence check, takeover between instances,
//! and failing closed when Redis is gone.

use crate::harness::RedisServer;
use crate::queue_support::*;
use hookgate::queue::redis::{RedisOptions, RedisQueue};
use hookgate::queue::{DeliveryId, LeaseResult, QueueError, QueueStore};
use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

#[test]
fn a_redis_without_persistence_is_refused_unless_allowed() {
    let redis = RedisServer::start();
    runtime().block_on(async {
        let err = RedisQueue::connect(&redis.url(), RedisOptions::default())
            .await
            .err()
            .expect("appendonly no is refused");
        assert!(matches!(err, QueueError::Volatile(_)), "{err:?}");
        assert!(err.to_string().contains("allow_volatile"), "{err}");
        let ok = RedisQueue::connect(
            &redis.url(),
            RedisOptions {
                allow_volatile: true,
                ..RedisOptions::default()
            },
        )
        .await;
        assert!(ok.is_ok());
    });
}

#[test]
fn an_unreachable_redis_is_unavailable_within_the_deadline() {
    let mut redis = RedisServer::start_persistent();
    runtime().block_on(async {
        let store = redis_store(&redis, 1 << 30, "a").await;
        store.enqueue(delivery("a", b"x")).await.unwrap();
        redis.kill();
        let started = Instant::now();
        let err = store.enqueue(delivery("a", b"y")).await.unwrap_err();
        assert!(matches!(err, QueueError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            store.lease("a", SystemTime::now()).await,
            Err(QueueError::Unavailable(_))
        ));
    });
}

#[test]
fn another_instance_takes_over_leases_after_claim_idle() {
    let redis = RedisServer::start_persistent();
    runtime().block_on(async {
        let a = redis_store(&redis, 1 << 30, "instance-a").await;
        let b = redis_store(&redis, 1 << 30, "instance-b").await;
        let mut ids = HashSet::new();
        for i in 0..5 {
            ids.insert(
                a.enqueue(delivery("r", format!("{i}").as_bytes()))
                    .await
                    .unwrap(),
            );
        }
        // A leases three and dies holding them (its connection goes away).
        let mut held = HashSet::new();
        for _ in 0..3 {
            match a.lease("r", SystemTime::now()).await.unwrap() {
                LeaseResult::Leased(l) => held.insert(l.delivery.id),
                LeaseResult::Idle(_) => panic!("due"),
            };
        }
        let died = Instant::now();
        drop(a);
        // B gets the two free ones at once, and not A's before claim_idle.
        let mut got: HashSet<DeliveryId> = HashSet::new();
        while let LeaseResult::Leased(l) = b.lease("r", SystemTime::now()).await.unwrap() {
            assert!(!held.contains(&l.delivery.id) || died.elapsed() >= TEST_CLAIM_IDLE);
            got.insert(l.delivery.id);
            std::mem::forget(l); // keep them leased by B
            if got.len() == 2 {
                break;
            }
        }
        assert_eq!(got.len(), 2);
        assert!(got.is_disjoint(&held));
        let deadline = Instant::now() + Duration::from_secs(15);
        while got.len() < 5 {
            assert!(
                Instant::now() < deadline,
                "B never claimed A's leases: {got:?}"
            );
            if let LeaseResult::Leased(l) = b.lease("r", SystemTime::now()).await.unwrap() {
                assert!(
                    died.elapsed() >= TEST_CLAIM_IDLE,
                    "claimed before claim_idle"
                );
                got.insert(l.delivery.id);
                std::mem::forget(l);
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        assert!(
            died.elapsed() >= TEST_CLAIM_IDLE,
            "claimed only after claim_idle"
        );
        assert_eq!(got, ids, "every delivery reached B once A died");
    });
}

#[test]
fn a_long_attempt_keeps_its_lease_by_touching_it() {
    let redis = RedisServer::start_persistent();
    runtime().block_on(async {
        let a = redis_store(&redis, 1 << 30, "instance-a").await;
        let b = redis_store(&redis, 1 << 30, "instance-b").await;
        a.enqueue(delivery("r", b"slow")).await.unwrap();
        let LeaseResult::Leased(l) = a.lease("r", SystemTime::now()).await.unwrap() else {
            panic!("due")
        };
        let until = Instant::now() + TEST_CLAIM_IDLE * 3;
        while Instant::now() < until {
            a.touch(&l).await.unwrap();
            assert!(
                matches!(
                    b.lease("r", SystemTime::now()).await.unwrap(),
                    LeaseResult::Idle(_)
                ),
                "a touched lease is not taken over"
            );
            tokio::time::sleep(TEST_CLAIM_IDLE / 4).await;
        }
        a.complete(*l).await.unwrap();
    });
}
