//! Durable delivery: how many deliveries per second the embedded store
//! acknowledges (each one fsynced before its acknowledgement, concurrent ones
//! sharing a commit), and how many bytes of disk one queued 1 KiB delivery takes.
//!
//! Targets (read from the numbers, never asserted): with group commit, 64
//! concurrent senders get far more acknowledgements per second than one
//! (which pays a whole fsync per delivery). The goal, queue-mode
//! acknowledgements ≥ 0.5× direct mode's req/s, is measured end to end by
//! `make bench`. The file's overhead over the 1 KiB body is printed first,
//! as `bytes on disk per queued 1 KiB delivery`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark with a broken fixture should stop loudly

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use hookgate::queue::embedded::EmbeddedStore;
use hookgate::queue::{DeliveryId, NewDelivery, QueueStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A GitHub-like delivery: 1 KiB body and the headers hookgate forwards.
fn delivery() -> NewDelivery {
    let mut headers = http::HeaderMap::new();
    for (k, v) in [
        ("content-type", "application/json"),
        ("user-agent", "GitHub-Hookshot/abc1234"),
        ("x-github-event", "push"),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("x-github-hook-id", "292430182"),
        (
            "x-hub-signature-256",
            "sha256=6b3fa1e0a5d5a2f7f7fb1c2a4a3d3e6e1f0c9b8a7d6e5f4a3b2c1d0e9f8a7b6c",
        ),
        ("x-forwarded-for", "140.82.115.10"),
        ("x-forwarded-proto", "https"),
        ("x-hookgate-verified", "github; key=0"),
    ] {
        headers.insert(k, v.parse().unwrap());
    }
    NewDelivery {
        id: DeliveryId::new(),
        route: "github".into(),
        method: "POST".into(),
        path: "/hooks/github".into(),
        headers,
        body: Bytes::from(vec![b'x'; 1024]),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A store in the target directory (a real disk, so fsync costs what it costs).
fn store(dir: &tempfile::TempDir) -> Arc<EmbeddedStore> {
    Arc::new(EmbeddedStore::open(&dir.path().join("q.redb"), 1 << 40).unwrap())
}

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap()
}

/// `n` enqueues from `tasks` concurrent senders; the time until all were acknowledged.
async fn enqueue_all(store: &Arc<EmbeddedStore>, n: usize, tasks: usize) -> Duration {
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        let share = n / tasks + usize::from(t < n % tasks);
        handles.push(tokio::spawn(async move {
            for _ in 0..share {
                store.enqueue(delivery()).await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    started.elapsed()
}

fn bytes_per_delivery() {
    const N: usize = 20_000;
    let dir = bench_dir();
    let s = store(&dir);
    let rt = runtime();
    rt.block_on(enqueue_all(&s, N, 64));
    let commits = s.commits();
    drop(s);
    let size = std::fs::metadata(dir.path().join("q.redb")).unwrap().len();
    println!(
        "queue: bytes on disk per queued 1 KiB delivery: {} ({N} deliveries, file {size} bytes, {commits} commits)",
        size / N as u64
    );
}

fn enqueue_throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("queue_enqueue_fsync");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    const BATCH: usize = 512;
    g.throughput(Throughput::Elements(BATCH as u64));
    for tasks in [1, 8, 64] {
        let dir = bench_dir();
        let s = store(&dir);
        g.bench_with_input(
            BenchmarkId::new("concurrent_senders", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += enqueue_all(&s, BATCH, tasks).await;
                        }
                        total
                    })
                })
            },
        );
        let per_commit = {
            let before = s.commits();
            rt.block_on(enqueue_all(&s, BATCH, tasks));
            BATCH as f64 / (s.commits() - before).max(1) as f64
        };
        println!("queue: {tasks} concurrent senders: {per_commit:.1} deliveries per fsync");
    }
    g.finish();
}

fn main() {
    // `cargo test --all-targets` runs benchmarks once as a smoke test: skip the
    // 20,000-delivery disk measurement there.
    if std::env::args().any(|a| a == "--bench") {
        bytes_per_delivery();
    }
    let mut c = Criterion::default().configure_from_args();
    enqueue_throughput(&mut c);
    c.final_summary();
}
