//! Memory-store bounds and snapshots, and delivery-key extraction. The
//! semantics shared with Redis run against both stores in the integration
//! tests (`tests/it/replay_store.rs`), next to the one `RedisServer` helper.

use super::memory::MemoryStore;
use super::*;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

fn reserved(o: ReserveOutcome) -> Reservation {
    match o {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected Reserved, got {other:?}"),
    }
}

#[tokio::test]
async fn full_memory_store_refuses_and_never_forgets() {
    let store = MemoryStore::new(100, None).unwrap();
    for i in 0..100 {
        let r = reserved(store.reserve(&format!("r:{i}"), LONG).await.unwrap());
        store.commit(&r, LONG).await.unwrap();
    }
    assert_eq!(store.reserve("r:new", LONG).await, Err(StoreError::Full));
    for i in 0..100 {
        assert_eq!(
            store.reserve(&format!("r:{i}"), LONG).await.unwrap(),
            ReserveOutcome::Duplicate,
            "key {i} forgotten"
        );
    }
    assert_eq!(store.keys_held(), Some(100));
}

#[tokio::test]
async fn expired_keys_free_capacity() {
    let store = MemoryStore::new(10, None).unwrap();
    for i in 0..10 {
        let r = reserved(store.reserve(&format!("r:{i}"), LONG).await.unwrap());
        store.commit(&r, Duration::from_millis(50)).await.unwrap();
    }
    assert_eq!(store.reserve("r:x", LONG).await, Err(StoreError::Full));
    // Full until the committed keys expire; then there is room again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match store.reserve("r:x", LONG).await {
            Ok(o) => break assert!(matches!(o, ReserveOutcome::Reserved(_))),
            Err(StoreError::Full) => assert!(std::time::Instant::now() < deadline, "never freed"),
            Err(e) => panic!("{e:?}"),
        }
        tokio::task::yield_now().await;
    }
    // Expired keys are reclaimed lazily and by the periodic sweep.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        store.sweep();
        if store.keys_held() == Some(1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?} held",
            store.keys_held()
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn snapshot_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.snapshot");
    {
        let store = MemoryStore::new(10, Some(path.clone())).unwrap();
        let r = reserved(store.reserve("gh:delivered", LONG).await.unwrap());
        store.commit(&r, LONG).await.unwrap();
        let r = reserved(store.reserve("gh:short", LONG).await.unwrap());
        store.commit(&r, Duration::from_millis(1)).await.unwrap();
        let committed = std::time::Instant::now();
        let _in_flight = reserved(store.reserve("gh:in-flight", LONG).await.unwrap());
        store.flush().unwrap();
        // Load only once gh:short has expired.
        while committed.elapsed() <= Duration::from_millis(2) {
            std::hint::spin_loop();
        }
    }
    let store = MemoryStore::new(10, Some(path.clone())).unwrap();
    assert_eq!(
        store.keys_held(),
        Some(1),
        "only the delivered key is loaded"
    );
    assert_eq!(
        store.reserve("gh:delivered", LONG).await.unwrap(),
        ReserveOutcome::Duplicate
    );
    assert!(
        matches!(
            store.reserve("gh:short", LONG).await.unwrap(),
            ReserveOutcome::Reserved(_)
        ),
        "expired keys not loaded"
    );
    assert!(
        matches!(
            store.reserve("gh:in-flight", LONG).await.unwrap(),
            ReserveOutcome::Reserved(_)
        ),
        "reservations not persisted"
    );
    std::fs::write(&path, "garbage").unwrap();
    let err = MemoryStore::new(10, Some(path.clone())).err().unwrap();
    assert!(err.contains("line 1: corrupt replay snapshot"), "{err}");
}

#[test]
fn key_extraction_is_bounded() {
    let mut h = http::HeaderMap::new();
    h.insert("x-id", "abc".parse().unwrap());
    let k = KeySource::Header(vec![http::HeaderName::from_static("x-id")]);
    assert_eq!(k.extract(&h, None).as_deref(), Some("id:abc"));
    h.insert("x-id", "a".repeat(5000).parse().unwrap());
    let long = k.extract(&h, None).unwrap();
    assert!(long.starts_with("idh:") && long.len() == 68);
    assert_eq!(
        KeySource::SignatureDigest
            .extract(&h, Some("ff"))
            .as_deref(),
        Some("sig:ff")
    );
}
