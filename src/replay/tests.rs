//! One semantics suite run against both stores (memory, and a real
//! `redis-server` on a loopback port), plus memory-only bounds.

use super::memory::MemoryStore;
use super::redis::RedisStore;
use super::*;
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

/// A `redis-server` on an ephemeral loopback port, killed on drop.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start_on(port: u16) -> RedisServer {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is not installed: `make test` installs Debian's redis-server");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer { child, port }
    }

    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    assert!(matches!(
        store.reserve("other:a", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));

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
    let _ = reserved(
        store
            .reserve("route:c", Duration::from_millis(100))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        store.reserve("route:c", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));

    // committed keys expire after their retention
    let r = reserved(store.reserve("route:d", LONG).await.unwrap());
    store.commit(&r, Duration::from_millis(100)).await.unwrap();
    assert_eq!(
        store.reserve("route:d", LONG).await.unwrap(),
        ReserveOutcome::Duplicate
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        store.reserve("route:d", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));

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
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(matches!(
        store.reserve("r:x", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
    // Expired keys are reclaimed lazily and by the periodic sweep.
    store.sweep();
    assert_eq!(store.keys_held(), Some(1));
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
        let _in_flight = reserved(store.reserve("gh:in-flight", LONG).await.unwrap());
        store.flush().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let store = MemoryStore::new(10, Some(path.clone())).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_unavailable_and_recovers() {
    let server = RedisServer::start();
    let port = server.port;
    let store = redis_store(&server);
    assert!(matches!(
        store.reserve("k:1", LONG).await.unwrap(),
        ReserveOutcome::Reserved(_)
    ));
    drop(server);
    let e = store.reserve("k:2", LONG).await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    let _again = RedisServer::start_on(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match store.reserve("k:3", LONG).await {
            Ok(o) => {
                assert!(matches!(o, ReserveOutcome::Reserved(_)));
                break;
            }
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("no recovery: {e:?}"),
        }
    }
}

#[tokio::test]
async fn redis_not_running_at_start_is_not_fatal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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

fn verifier(table: &str) -> crate::verify::Verifier {
    let f: crate::verify::FileVerify = toml::from_str(table).unwrap();
    crate::verify::Verifier::from_file(&f, std::path::Path::new("."), "r").unwrap()
}

#[test]
fn route_policy_defaults() {
    let f = FileRouteReplay::default();
    // A signed delivery id is the key; retention covers the timestamp window.
    let sw = verifier(
        "scheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]",
    );
    let p = f.validate(Some(&sw)).unwrap().unwrap();
    assert_eq!(
        p.key,
        KeySource::Header(vec![http::HeaderName::from_static("webhook-id")])
    );
    assert_eq!(p.retain, Duration::from_secs(660));
    // Signed bytes unique per delivery: the signature digest; no timestamp: 72h.
    let cb = verifier("scheme = \"coinbase\"\nsecrets = [\"s\"]");
    let p = f.validate(Some(&cb)).unwrap().unwrap();
    assert_eq!(p.key, KeySource::SignatureDigest);
    assert_eq!(p.retain, Duration::from_secs(72 * 3600));
    assert_eq!(p.on_duplicate, OnDuplicate::Ack);
    // Unauthenticated routes have nothing to key on unless told.
    assert_eq!(f.validate(None).unwrap(), None);
    let short = FileRouteReplay {
        ttl: Some(crate::config::units::Dur(Duration::from_secs(10))),
        ..Default::default()
    };
    assert!(short
        .validate(Some(&sw))
        .unwrap_err()
        .1
        .contains("twice the timestamp tolerance"));
    let bad = FileRouteReplay {
        key: Some("cookie:x".into()),
        ..Default::default()
    };
    assert_eq!(bad.validate(Some(&cb)).unwrap_err().0, "replay.key");
}

/// D1: a shared token or Basic credential is the same on every delivery, so
/// it can never be the replay key: neither by default nor when asked for.
#[test]
fn token_and_basic_schemes_never_key_on_the_credential() {
    for table in [
        "scheme = \"gitlab\"\nsecrets = [\"t\"]",
        "scheme = \"okta\"\nsecrets = [\"t\"]",
        "scheme = \"basic-auth\"\nsecrets = [\"u:p\"]",
        "scheme = \"postmark\"\nsecrets = [\"u:p\"]",
    ] {
        let v = verifier(table);
        let p = FileRouteReplay::default().validate(Some(&v)).unwrap();
        assert!(
            !matches!(
                p,
                Some(RouteReplay {
                    key: KeySource::SignatureDigest,
                    ..
                })
            ),
            "{table}"
        );
        let asked = FileRouteReplay {
            key: Some("signature".into()),
            ..Default::default()
        };
        assert!(
            asked
                .validate(Some(&v))
                .unwrap_err()
                .1
                .contains("every delivery after the first"),
            "{table}"
        );
    }
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
