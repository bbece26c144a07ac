//! The memory replay store's cost per delivery: one reserve and one commit,
//! with 1 and with 1,000,000 live keys already held.
//!
//! Steady state, as in production: each committed key expires at once and is
//! swept by a later reserve, so the store stays at its starting size while
//! the benchmark runs (criterion runs millions of iterations; a store that
//! grew by each of them would measure the allocator, and exhaust memory).
//! Target (read from the numbers, never asserted by a timed test): well under
//! 1 µs per delivery at both sizes, i.e. free next to the ≈ 25 µs a proxied
//! request costs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark with a broken fixture should stop loudly

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hookgate::replay::memory::MemoryStore;
use hookgate::replay::{ReplayStore, ReserveOutcome};
use std::fmt::Write;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

const RESERVATION_TTL: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(3600);

/// The memory store never waits: poll its futures once, on the caller's stack.
fn ready<F: Future>(f: F) -> F::Output {
    match std::pin::pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the memory store returned Pending"),
    }
}

/// Reserve and commit `key`, kept for `retain`.
fn deliver(store: &MemoryStore, key: &str, retain: Duration) {
    match ready(store.reserve(key, RESERVATION_TTL)).unwrap() {
        ReserveOutcome::Reserved(r) => ready(store.commit(&r, retain)).unwrap(),
        other => panic!("{key}: expected a fresh reservation, got {other:?}"),
    }
}

fn key_into(buf: &mut String, prefix: &str, i: u64) {
    buf.clear();
    write!(buf, "github:id:{prefix}-{i:016x}").unwrap();
}

fn reserve_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_store/reserve_commit");
    for held in [1u64, 1_000_000] {
        let store = MemoryStore::new(2_000_000, None).unwrap();
        let mut key = String::new();
        for i in 0..held {
            key_into(&mut key, "held", i);
            deliver(&store, &key, LONG);
        }
        let mut n = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(held), &held, |b, _| {
            b.iter(|| {
                n += 1;
                key_into(&mut key, "new", n);
                deliver(&store, &key, Duration::ZERO);
            })
        });
        assert!(store.keys_held().unwrap() <= held + 64, "the store grew");
    }
    group.finish();
}

criterion_group!(benches, reserve_commit);
criterion_main!(benches);
