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

/// Sweep until `store` holds `n` keys, for at most 10 s: expired keys are
/// reclaimed lazily and by the periodic sweep.
async fn swept_to(store: &MemoryStore, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        store.sweep();
        if store.keys_held() == Some(n) {
            return;
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
    swept_to(&store, 1).await;
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
        // Load only once gh:short has expired (expiries round up to the
        // next millisecond, once on write and once on load).
        while committed.elapsed() <= Duration::from_millis(10) {
            std::thread::yield_now();
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
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the snapshot holds the hash key");
    std::fs::write(&path, "garbage").unwrap();
    let err = MemoryStore::new(10, Some(path.clone())).err().unwrap();
    assert!(err.contains("line 1: corrupt replay snapshot"), "{err}");
}

#[tokio::test]
async fn a_snapshot_of_plain_keys_is_read_and_rewritten_as_digests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.snapshot");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // The format before digests: Unix expiry ms, tab, hex of the key.
    let old = format!(
        "{}\t{}\n{}\t{}\n",
        now + 3_600_000,
        hex::encode("gh:id:delivered"),
        now - 1,
        hex::encode("gh:id:expired")
    );
    std::fs::write(&path, old).unwrap();
    let store = MemoryStore::new(10, Some(path.clone())).unwrap();
    assert_eq!(store.keys_held(), Some(1));
    assert_eq!(
        store.reserve("gh:id:delivered", LONG).await.unwrap(),
        ReserveOutcome::Duplicate
    );
    store.flush().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("hookgate-replay-snapshot 2 "), "{text}");
    assert!(!text.contains(&hex::encode("gh:id:delivered")), "{text}");
    drop(store);
    let store = MemoryStore::new(10, Some(path)).unwrap();
    assert_eq!(
        store.reserve("gh:id:delivered", LONG).await.unwrap(),
        ReserveOutcome::Duplicate,
        "the digest and its hash key survive a second restart"
    );
    assert!(matches!(
        store.reserve("gh:id:expired", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
}

#[tokio::test]
async fn thousands_of_keys_expire_and_their_capacity_returns() {
    let n = 5000;
    let retain = Duration::from_millis(500);
    let store = MemoryStore::new(n, None).unwrap();
    let filled = std::time::Instant::now();
    for i in 0..n {
        let r = reserved(store.reserve(&format!("r:{i}"), LONG).await.unwrap());
        store.commit(&r, retain).await.unwrap();
    }
    if filled.elapsed() < retain {
        assert_eq!(store.keys_held(), Some(n as u64));
        assert_eq!(store.reserve("r:new", LONG).await, Err(StoreError::Full));
    }
    swept_to(&store, 0).await;
    // Expired, not forgotten early: a fresh key is accepted again.
    assert!(matches!(
        store.reserve("r:new", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
}

#[tokio::test]
async fn a_storm_of_released_reservations_keeps_the_index_bounded() {
    let store = MemoryStore::new(100, None).unwrap();
    for _ in 0..100_000 {
        let r = reserved(store.reserve("r:retried", LONG).await.unwrap());
        store.release(&r).await.unwrap();
    }
    assert_eq!(store.keys_held(), Some(0));
    assert!(
        store.filed() <= 16 * 1025,
        "{} digests filed",
        store.filed()
    );
}

/// Reserve `key` until the store lets it go, asserting on every attempt that
/// finished before `live_until` that the store still answered `held`.
async fn reserve_once_expired(
    store: &MemoryStore,
    key: &str,
    live_until: std::time::Instant,
    held: ReserveOutcome,
) -> Reservation {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let outcome = store.reserve(key, LONG).await.unwrap();
        let answered = std::time::Instant::now();
        if answered < live_until {
            assert_eq!(outcome, held, "{key} let go before it expired");
        }
        if let ReserveOutcome::Reserved(r) = outcome {
            return r;
        }
        assert!(answered < deadline, "{key} never expired");
        store.sweep();
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn delivered_keys_stay_duplicates_until_their_own_expiry() {
    // Retains from 25 ms to 1 s: keys pass through coarse and 1 ms buckets.
    let store = MemoryStore::new(100, None).unwrap();
    let mut keys = Vec::new();
    for i in 1..=40u64 {
        let key = format!("r:{i}");
        let r = reserved(store.reserve(&key, LONG).await.unwrap());
        let retain = Duration::from_millis(25 * i);
        let before = std::time::Instant::now();
        store.commit(&r, retain).await.unwrap();
        keys.push((key, before + retain));
    }
    for (key, live_until) in keys.iter().rev() {
        reserve_once_expired(&store, key, *live_until, ReserveOutcome::Duplicate).await;
    }
    assert_eq!(
        store.keys_held(),
        Some(40),
        "each key now held by its new reservation"
    );
}

#[tokio::test]
async fn full_counts_only_unexpired_keys() {
    let store = MemoryStore::new(10, None).unwrap();
    for i in 0..9 {
        let r = reserved(store.reserve(&format!("r:{i}"), LONG).await.unwrap());
        store.commit(&r, LONG).await.unwrap();
    }
    // 3 s: long enough to be filed in a coarse bucket first.
    let retain = Duration::from_secs(3);
    let r = reserved(store.reserve("r:short", LONG).await.unwrap());
    store.commit(&r, retain).await.unwrap();
    let committed = tokio::time::Instant::now();
    assert_eq!(store.reserve("r:new", LONG).await, Err(StoreError::Full));
    // Waiting for the clock, not for another task: expiries round up to
    // the millisecond, so 2 ms after the retain the key has expired. The
    // last stretch is polled so the check runs within the slack of a
    // coarse bucket (16 ms here), which must not delay the key's release.
    let expired = committed + retain + Duration::from_millis(2);
    tokio::time::sleep_until(expired - Duration::from_millis(20)).await;
    while tokio::time::Instant::now() < expired {
        std::thread::yield_now();
    }
    assert!(
        matches!(
            store.reserve("r:new", LONG).await,
            Ok(ReserveOutcome::Reserved(_))
        ),
        "an expired key still counted against max_keys"
    );
    assert_eq!(store.keys_held(), Some(10));
}

#[tokio::test]
async fn a_stale_holder_can_neither_keep_nor_release_a_taken_over_reservation() {
    let store = MemoryStore::new(10, None).unwrap();
    let ttl = Duration::from_millis(200);
    let before = std::time::Instant::now();
    let stale = reserved(store.reserve("r:k", ttl).await.unwrap());
    let holder = reserve_once_expired(&store, "r:k", before + ttl, ReserveOutcome::InFlight).await;
    // The stale release, and one forged to share the holder's random bits,
    // leave the new reservation in place.
    let lookalike = Reservation {
        key: "r:k".into(),
        token: stale.token & !0xff_ffff | holder.token & 0xff_ffff,
    };
    for r in [&stale, &lookalike] {
        store.release(r).await.unwrap();
        assert_eq!(
            store.reserve("r:k", LONG).await.unwrap(),
            ReserveOutcome::InFlight
        );
    }
    store.commit(&holder, LONG).await.unwrap();
    for r in [&stale, &holder] {
        store.release(r).await.unwrap();
        assert_eq!(
            store.reserve("r:k", LONG).await.unwrap(),
            ReserveOutcome::Duplicate
        );
    }
    assert_eq!(store.keys_held(), Some(1));
}

#[tokio::test]
async fn expiries_moved_earlier_keep_the_index_bounded() {
    // Each expiry moved earlier files the key again: four times here.
    let n = 50_000;
    let store = MemoryStore::new(n, None).unwrap();
    for i in 0..n {
        let r = reserved(store.reserve(&format!("r:{i}"), LONG).await.unwrap());
        for shorter in [2, 3, 4] {
            store.commit(&r, LONG / shorter).await.unwrap();
        }
    }
    let held = store.keys_held().unwrap() as usize;
    assert_eq!(held, n);
    assert!(
        store.filed() <= 2 * held + 16 * 1025,
        "{} digests filed for {held} keys",
        store.filed()
    );
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
