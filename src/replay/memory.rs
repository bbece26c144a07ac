//! The embedded store: sharded maps with expiry indexes, bounded by key count.
//!
//! Deliberately not a cache: a size-bounded cache evicts or refuses to admit
//! keys when full and then accepts the replays of what it forgot. This store
//! only ever drops *expired* keys; when `max_keys` unexpired keys are held it
//! answers [`StoreError::Full`] and hookgate refuses the delivery (503).
//! Memory is bounded by `max_keys` × (key ≤ ~330 bytes + overhead).

use super::{token, ReplayStore, Reservation, ReserveOutcome, StoreError};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SHARDS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Reserved(u128),
    Committed,
}

#[derive(Default)]
struct Shard {
    map: HashMap<String, (State, Instant)>,
    /// (expiry, key): expired keys are reclaimed in expiry order, O(expired).
    by_expiry: BTreeSet<(Instant, String)>,
}

impl Shard {
    fn remove(&mut self, key: &str) -> bool {
        match self.map.remove(key) {
            Some((_, exp)) => {
                self.by_expiry.remove(&(exp, key.to_string()));
                true
            }
            None => false,
        }
    }

    fn insert(&mut self, key: &str, state: State, exp: Instant) -> bool {
        let fresh = !self.remove(key);
        self.map.insert(key.to_string(), (state, exp));
        self.by_expiry.insert((exp, key.to_string()));
        fresh
    }

    /// Drop expired entries; returns how many.
    fn sweep(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while let Some((exp, key)) = self.by_expiry.first().cloned() {
            if exp > now {
                break;
            }
            self.by_expiry.pop_first();
            self.map.remove(&key);
            n += 1;
        }
        n
    }
}

/// In-memory replay store.
pub struct MemoryStore {
    shards: Vec<Mutex<Shard>>,
    count: AtomicUsize,
    max_keys: usize,
    persist: Option<PathBuf>,
}

impl MemoryStore {
    /// A store holding at most `max_keys` unexpired keys.
    pub fn new(max_keys: usize, persist: Option<PathBuf>) -> Result<Self, String> {
        let store = MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            count: AtomicUsize::new(0),
            max_keys,
            persist,
        };
        store.load()?;
        Ok(store)
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        use std::hash::{Hash, Hasher};
        // A fixed hasher keeps a key in one shard for the store's life.
        let mut fixed = std::hash::DefaultHasher::new();
        key.hash(&mut fixed);
        &self.shards[(fixed.finish() as usize) % SHARDS]
    }

    /// Load committed keys from the snapshot, skipping expired ones.
    fn load(&self) -> Result<(), String> {
        let Some(path) = &self.persist else {
            return Ok(());
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let now_unix = unix_ms(SystemTime::now());
        let now = Instant::now();
        for (i, line) in text.lines().enumerate() {
            let bad = || {
                format!(
                    "{}: line {}: corrupt replay snapshot",
                    path.display(),
                    i + 1
                )
            };
            let (exp, key) = line.split_once('\t').ok_or_else(bad)?;
            let exp: u64 = exp.parse().map_err(|_| bad())?;
            let key = String::from_utf8(hex::decode(key).map_err(|_| bad())?).map_err(|_| bad())?;
            if exp > now_unix {
                let at = now + Duration::from_millis(exp - now_unix);
                if self.shard(&key).lock().insert(&key, State::Committed, at) {
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[async_trait]
impl ReplayStore for MemoryStore {
    async fn reserve(&self, key: &str, ttl: Duration) -> Result<ReserveOutcome, StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(key).lock();
        if let Some((state, exp)) = shard.map.get(key) {
            if *exp > now {
                return Ok(match state {
                    State::Reserved(_) => ReserveOutcome::InFlight,
                    State::Committed => ReserveOutcome::Duplicate,
                });
            }
        }
        let swept = shard.sweep(now);
        self.count.fetch_sub(swept, Ordering::Relaxed);
        if self.count.load(Ordering::Relaxed) >= self.max_keys {
            drop(shard);
            // Other shards may hold expired keys: reclaim before refusing.
            ReplayStore::sweep(self);
            if self.count.load(Ordering::Relaxed) >= self.max_keys {
                return Err(StoreError::Full);
            }
            shard = self.shard(key).lock();
        }
        let t = token();
        if shard.insert(key, State::Reserved(t), now + ttl) {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ReserveOutcome::Reserved(Reservation {
            key: key.to_string(),
            token: t,
        }))
    }

    /// Committed regardless of whether our reservation is still the one held:
    /// the delivery happened and must be remembered.
    async fn commit(&self, r: &Reservation, retain: Duration) -> Result<(), StoreError> {
        if self
            .shard(&r.key)
            .lock()
            .insert(&r.key, State::Committed, Instant::now() + retain)
        {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn release(&self, r: &Reservation) -> Result<(), StoreError> {
        let mut shard = self.shard(&r.key).lock();
        if matches!(shard.map.get(&r.key), Some((State::Reserved(t), _)) if *t == r.token)
            && shard.remove(&r.key)
        {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn sweep(&self) {
        let now = Instant::now();
        for s in &self.shards {
            let n = s.lock().sweep(now);
            self.count.fetch_sub(n, Ordering::Relaxed);
        }
    }

    fn keys_held(&self) -> Option<u64> {
        Some(self.count.load(Ordering::Relaxed) as u64)
    }

    /// Write committed, unexpired keys to `persist_path` (temp file + rename).
    fn flush(&self) -> Result<(), String> {
        let Some(path) = &self.persist else {
            return Ok(());
        };
        let now = Instant::now();
        let now_unix = unix_ms(SystemTime::now());
        let mut out = String::new();
        for s in &self.shards {
            let s = s.lock();
            for (key, (state, exp)) in &s.map {
                if *state == State::Committed && *exp > now {
                    let left = exp.duration_since(now).as_millis() as u64;
                    out.push_str(&format!("{}\t{}\n", now_unix + left, hex::encode(key)));
                }
            }
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, out).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}
