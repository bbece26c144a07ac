//! Shared pieces of the queue store tests: fresh stores of both kinds (on
//! the harness's `RedisServer` with AOF), a scripted loopback HTTP upstream
//! that records every attempt, and a test-only HTTP deliverer for driving
//! the workers without a gateway (the gateway's own deliverer is tested end
//! to end in `durable`).
#![allow(dead_code)] // each queue test module uses a different part

use crate::harness::RedisServer;
use async_trait::async_trait;
use hookgate::queue::embedded::EmbeddedStore;
use hookgate::queue::policy::{parse_retry_after, AttemptResult, DeliveryResult};
use hookgate::queue::redis::{RedisOptions, RedisQueue};
use hookgate::queue::{Deliver, DeliveryId, NewDelivery, OutgoingAttempt, QueueStore};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A directory on the target's disk (not tmpfs), so fsync costs what it costs.
pub fn disk_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Which store a contract test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Embedded,
    Redis,
}

/// A fresh, empty store and what keeps it alive.
pub struct Fixture {
    pub store: Arc<dyn QueueStore>,
    /// Lease takeover delay (Redis); the embedded store releases at once.
    pub claim_idle: Duration,
    pub kind: Kind,
    pub redis: Option<RedisServer>,
    pub dir: tempfile::TempDir,
}

/// Having a `Drop` makes closures and async blocks capture a fixture whole
/// (edition 2021 captures only the fields used otherwise, which would drop
/// the Redis server and the directory while the store is still in use).
impl Drop for Fixture {
    fn drop(&mut self) {}
}

pub const TEST_CLAIM_IDLE: Duration = Duration::from_secs(1);

pub async fn fixture(kind: Kind, max_bytes: u64) -> Fixture {
    let dir = disk_dir();
    match kind {
        Kind::Embedded => {
            let path = dir.path().join("queue.redb");
            let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(&path, max_bytes))
                .await
                .unwrap()
                .unwrap();
            Fixture {
                store: Arc::new(store),
                claim_idle: Duration::ZERO,
                kind,
                redis: None,
                dir,
            }
        }
        Kind::Redis => {
            let redis = RedisServer::start_persistent();
            let store = redis_store(&redis, max_bytes, "test-consumer").await;
            Fixture {
                store: Arc::new(store),
                claim_idle: TEST_CLAIM_IDLE,
                kind,
                redis: Some(redis),
                dir,
            }
        }
    }
}

pub async fn redis_store(redis: &RedisServer, max_bytes: u64, consumer: &str) -> RedisQueue {
    RedisQueue::connect(
        &redis.url(),
        RedisOptions {
            max_bytes,
            claim_idle: TEST_CLAIM_IDLE,
            consumer: consumer.to_string(),
            ..RedisOptions::default()
        },
    )
    .await
    .unwrap()
}

pub fn open_embedded(path: &Path, max_bytes: u64) -> EmbeddedStore {
    EmbeddedStore::open(path, max_bytes).unwrap()
}

/// A delivery with recognisable bytes.
pub fn delivery(route: &str, body: &[u8]) -> NewDelivery {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("x-github-delivery", "abc-123".parse().unwrap());
    headers.append("x-multi", "one".parse().unwrap());
    headers.append("x-multi", "two".parse().unwrap());
    NewDelivery {
        id: DeliveryId::new(),
        route: route.to_string(),
        method: "POST".into(),
        path: format!("/hooks/{route}?q=1"),
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

/// A multi-threaded runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Poll `f` until it returns `Some`, failing after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// === a scripted upstream ===

/// One attempt as the upstream received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn delivery_id(&self) -> String {
        self.headers["x-hookgate-delivery-id"]
            .to_str()
            .unwrap()
            .to_string()
    }
    pub fn attempt(&self) -> u32 {
        self.headers["x-hookgate-attempt"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// Decides each answer: status and extra headers, given the request and how
/// many earlier attempts of the same delivery id it saw.
pub type Script = dyn Fn(&Received, usize) -> (u16, Vec<(&'static str, String)>) + Send + Sync;

/// A loopback HTTP/1 upstream answering by script and recording every request.
pub struct ScriptedUpstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedUpstream {
    pub async fn start(script: Arc<Script>) -> ScriptedUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen2 = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (seen, script) = (seen2.clone(), script.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (seen, script) = (seen.clone(), script.clone());
                        async move {
                            let at = Instant::now();
                            let path = req
                                .uri()
                                .path_and_query()
                                .map_or("/".into(), |p| p.to_string());
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await?.to_bytes();
                            let r = Received {
                                at,
                                path,
                                headers,
                                body,
                            };
                            let earlier = {
                                let mut seen = seen.lock().unwrap();
                                let n = seen
                                    .iter()
                                    .filter(|s| s.delivery_id() == r.delivery_id())
                                    .count();
                                seen.push(r.clone());
                                n
                            };
                            let (status, extra) = script(&r, earlier);
                            let mut resp = Response::builder().status(status);
                            for (k, v) in extra {
                                resp = resp.header(k, v);
                            }
                            Ok::<_, hyper::Error>(
                                resp.body(Full::new(Bytes::from_static(b"ok"))).unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        ScriptedUpstream { addr, seen, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// Attempts per delivery id, in arrival order.
    pub fn by_delivery(&self) -> HashMap<String, Vec<Received>> {
        let mut m: HashMap<String, Vec<Received>> = HashMap::new();
        for r in self.received() {
            m.entry(r.delivery_id()).or_default().push(r);
        }
        m
    }
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Delivers over real HTTP to one address per route (the gateway plugs in its
/// own upstream forwarder; this is the test and benchmark one).
pub struct HttpDeliver {
    pub client: reqwest::Client,
    pub upstreams: HashMap<String, SocketAddr>,
}

impl HttpDeliver {
    pub fn new(upstreams: &[(&str, SocketAddr)]) -> Arc<Self> {
        Arc::new(HttpDeliver {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(1))
                .build()
                .unwrap(),
            upstreams: upstreams.iter().map(|(r, a)| (r.to_string(), *a)).collect(),
        })
    }
}

#[async_trait]
impl Deliver for HttpDeliver {
    async fn deliver(&self, route: &str, a: &OutgoingAttempt) -> DeliveryResult {
        let Some(addr) = self.upstreams.get(route) else {
            return DeliveryResult {
                result: AttemptResult::Unreachable(format!("no upstream for {route}")),
                retry_after: None,
            };
        };
        let method = reqwest::Method::from_bytes(a.method.as_bytes()).unwrap();
        let resp = self
            .client
            .request(method, format!("http://{addr}{}", a.path))
            .headers(a.headers.clone())
            .body(a.body.clone())
            .send()
            .await;
        match resp {
            Ok(r) => DeliveryResult {
                result: AttemptResult::Status(r.status().as_u16()),
                retry_after: r
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(v, SystemTime::now())),
            },
            Err(e) if e.is_timeout() => DeliveryResult {
                result: AttemptResult::Timeout,
                retry_after: None,
            },
            Err(e) => DeliveryResult {
                result: AttemptResult::Unreachable(e.to_string()),
                retry_after: None,
            },
        }
    }
}

/// Path of this test binary, for child-process tests.
pub fn this_test_binary() -> PathBuf {
    std::env::current_exe().unwrap()
}
