//! The replay stores' semantics, one suite run against the memory store and a
//! real `redis-server` on a loopback port; Redis outages and recovery.

use crate::harness::{eventually, RedisServer};
use hookgate::replay::memory::MemoryStore;
use hookgate::replay::redis::RedisStore;
use hookgate::replay::{ReplayStore, Reservation, ReserveOutcome, StoreError};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_millis(100);

fn redis_store(r: &RedisServer) -> RedisStore {
    RedisStore::new(
        &r.url(),
        "test:",
        Duration::from_millis(500),
        Duration::from_millis(500),
    )
    .unwrap()
}

fn reserved(o: ReserveOutcome) -> Reservation {
    match o {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected Reserved, got {other:?}"),
    }
}

/// Poll until `key` can be reserved again (it expired), within a bound.
async fn until_reservable(store: &Arc<dyn ReplayStore>, key: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let ReserveOutcome::Reserved(_) = store.reserve(key, LONG).await.unwrap() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{key} never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The lossless semantics, for any store.
async fn semantics(store: Arc<dyn ReplayStore>) {
    // reserve → in flight → commit → duplicate
    let r = reserved(store.reserve("route:a", LONG).await.unwrap());
    assert_eq!(
        store.reserve("route:a", LONG).await.unwrap(),
        ReserveOutcome::InFlight
    );
    store.commit(&r, LONG).await.unwrap();
    assert_eq!(
        store.reserve("route:a", LONG).await.unwrap(),
        ReserveOutcome::Duplicate
    );
    // keys are namespaced by route
    reserved(store.reserve("other:a", LONG).await.unwrap());

    // reserve → release → the retry gets through
    let r = reserved(store.reserve("route:b", LONG).await.unwrap());
    store.release(&r).await.unwrap();
    let r2 = reserved(store.reserve("route:b", LONG).await.unwrap());
    // a stale release (old token) does not free someone else's reservation
    store.release(&r).await.unwrap();
    assert_eq!(
        store.reserve("route:b", LONG).await.unwrap(),
        ReserveOutcome::InFlight
    );
    store.commit(&r2, LONG).await.unwrap();

    // reservations expire (a crashed request does not block the key for ever)
    reserved(store.reserve("route:c", SHORT).await.unwrap());
    assert_eq!(
        store.reserve("route:c", LONG).await.unwrap(),
        ReserveOutcome::InFlight
    );
    until_reservable(&store, "route:c").await;

    // committed keys expire after their retention, not before
    let r = reserved(store.reserve("route:d", LONG).await.unwrap());
    store.commit(&r, SHORT).await.unwrap();
    assert_eq!(
        store.reserve("route:d", LONG).await.unwrap(),
        ReserveOutcome::Duplicate
    );
    until_reservable(&store, "route:d").await;

    // 64 concurrent identical reserves: exactly one wins
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.reserve("route:race", LONG).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), ReserveOutcome::Reserved(_)) {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_semantics() {
    semantics(Arc::new(MemoryStore::new(1000, None).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_semantics() {
    let server = RedisServer::start();
    semantics(Arc::new(redis_store(&server))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_unavailable_and_recovers() {
    let server = RedisServer::start();
    let port = server.port;
    let store = redis_store(&server);
    reserved(store.reserve("k:1", LONG).await.unwrap());
    drop(server);
    let e = store.reserve("k:2", LONG).await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    let _again = RedisServer::start_on(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match store.reserve("k:3", LONG).await {
            Ok(o) => {
                reserved(o);
                break;
            }
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("no recovery: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_is_unavailable_within_the_command_timeout() {
    let server = RedisServer::start();
    let store = redis_store(&server);
    reserved(store.reserve("k:1", LONG).await.unwrap());
    // Connected, then every write of every client is held for 30 s.
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(30_000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    let asked = std::time::Instant::now();
    let e = store.reserve("k:2", LONG).await.unwrap_err();
    assert_eq!(e, StoreError::Unavailable("command timed out".into()));
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "waited out the pause instead of the 500 ms command timeout"
    );
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    assert!(matches!(
        store.reserve("k:3", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
}

#[tokio::test]
async fn redis_not_running_at_start_is_not_fatal() {
    let port = crate::harness::free_port();
    let store = RedisStore::new(
        &format!("redis://127.0.0.1:{port}"),
        "t:",
        Duration::from_millis(200),
        Duration::from_millis(200),
    )
    .unwrap();
    assert!(matches!(
        store.reserve("k", LONG).await,
        Err(StoreError::Unavailable(_))
    ));
}

/// Polling helper is shared with the gateway tests; keep it exercised here.
#[test]
fn eventually_reports_what_never_happened() {
    let r = std::panic::catch_unwind(|| {
        eventually(Duration::from_millis(50), "the impossible", || false)
    });
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(msg.contains("the impossible"), "{msg}");
}
