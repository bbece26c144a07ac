//! The embedded store: sharded maps of 128-bit key digests with a cascading
//! expiry wheel, bounded by key count.
//!
//! Deliberately not a cache: a size-bounded cache evicts or refuses to admit
//! keys when full and then accepts the replays of what it forgot. This store
//! only ever drops *expired* keys; when `max_keys` unexpired keys are held it
//! answers [`StoreError::Full`] and hookgate refuses the delivery (503).
//!
//! **What is held per key: about 70 bytes**, whatever the key's length.
//! - The key is not stored: its 128-bit SipHash-2-4 digest is, keyed with
//!   128 random bits drawn when the store is created (or read back from its
//!   snapshot). SipHash is a keyed pseudo-random function, so a sender who
//!   does not know the key cannot make two delivery keys collide on purpose,
//!   and by chance two of a million live keys collide with probability
//!   about 2⁻⁸⁸. A collision could only make a new delivery look like a
//!   duplicate, never a replay look new: the same key always has the same
//!   digest.
//! - The value is one `u64`: expiry (milliseconds since the store started,
//!   rounded up, 40 bits) and, for a reservation, 24 random bits (0 marks a
//!   delivered key). A reservation's token carries that whole word, so a
//!   late release matches only the very reservation it was given: one that
//!   took over after it expired always expires later.
//! - Expiry is indexed by a wheel (a `BTreeMap` from bucket end to digests,
//!   one entry per key). A bucket spans about 1/256 of the time a key had
//!   left when it was filed and comes due *before* its keys expire; keys
//!   still live then are filed again, in a finer bucket, down to 1 ms. So a
//!   key is dropped within the millisecond it expires, `max_keys` counts
//!   only unexpired keys, and each key moves through about four buckets in
//!   its life. Digests left behind by releases are bounded: when they
//!   outnumber the keys, the shard's wheel is rebuilt from its map.
//!
//! The snapshot (`persist_path`, mode 0600) holds the hash key and, per
//! delivered key, its expiry (Unix milliseconds) and digest. Snapshots
//! written before digests (one hex-encoded key per line) are still read.

use super::{ReplayStore, Reservation, ReserveOutcome, StoreError};
use async_trait::async_trait;
use parking_lot::Mutex;
use siphasher::sip128::{Hasher128, SipHasher24};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SHARDS: usize = 16;
/// First line of a snapshot of digests; the hash key follows it.
const SNAPSHOT_V2: &str = "hookgate-replay-snapshot 2";
/// Bits of a reservation token kept in an entry.
const TOKEN_BITS: u32 = 24;
const TOKEN_MASK: u64 = (1 << TOKEN_BITS) - 1;
/// Latest expiry an entry can hold (40 bits of milliseconds: 34 years).
const MAX_EXPIRY: u64 = (1 << 40) - 1;
/// A bucket spans about 1/256 (at most 1/128) of the time a key has left
/// when it is filed.
const BUCKET_DIVISOR: u64 = 256;

/// A key's 128-bit digest (two words, so an entry packs into 24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest(u64, u64);

impl Hash for Digest {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already a keyed hash: the map uses one word of it as is.
        state.write_u64(self.0);
    }
}

/// Hashes a [`Digest`] to its first word.
#[derive(Default)]
struct FirstWord(u64);

impl Hasher for FirstWord {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Expiry and token tag, packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry(u64);

impl Entry {
    fn committed(expires_ms: u64) -> Self {
        Entry(expires_ms.min(MAX_EXPIRY) << TOKEN_BITS)
    }
    /// A reservation tagged with the low bits of `random`, never 0 (which
    /// marks delivered).
    fn reserved(expires_ms: u64, random: u64) -> Self {
        let tag = (random & TOKEN_MASK).max(1);
        Entry(expires_ms.min(MAX_EXPIRY) << TOKEN_BITS | tag)
    }
    fn expires_ms(self) -> u64 {
        self.0 >> TOKEN_BITS
    }
    fn is_reservation(self) -> bool {
        self.0 & TOKEN_MASK != 0
    }
}

/// The end of the bucket a key expiring at `expires` is filed in at `now`:
/// at most 1/128 of the time left before it, and after `now` while the key
/// is live, so a due bucket never holds a key that was filed live in it.
fn bucket_end(expires: u64, now: u64) -> u64 {
    let width = (expires.saturating_sub(now) / BUCKET_DIVISOR)
        .max(1)
        .next_power_of_two();
    expires / width * width
}

#[derive(Default)]
struct Shard {
    map: HashMap<Digest, Entry, BuildHasherDefault<FirstWord>>,
    /// Bucket end (ms) → digests filed there; see the module docs. Every
    /// key in `map` is filed in a bucket ending at or before its expiry.
    wheel: BTreeMap<u64, Vec<Digest>>,
    /// Digests in `wheel` (some may be stale).
    filed: usize,
}

impl Shard {
    /// The live entry for `d`, if any.
    fn live(&self, d: Digest, now: u64) -> Option<Entry> {
        self.map.get(&d).copied().filter(|e| e.expires_ms() > now)
    }

    /// Insert or overwrite; true if `d` was not held. A key is filed when
    /// it enters or when its expiry moves earlier; when it moves later, its
    /// filing stays valid (due before the new expiry) and is refiled then.
    fn put(&mut self, d: Digest, e: Entry, now: u64) -> bool {
        let old = self.map.insert(d, e);
        if old.is_none_or(|o| e.expires_ms() < o.expires_ms()) {
            self.file(d, e.expires_ms(), now);
        }
        old.is_none()
    }

    fn file(&mut self, d: Digest, expires: u64, now: u64) {
        self.wheel
            .entry(bucket_end(expires, now))
            .or_default()
            .push(d);
        self.filed += 1;
        if self.filed > 2 * self.map.len() + 1024 {
            self.refile(now);
        }
    }

    /// Rebuild the wheel from the map: releases and earlier expiries leave
    /// stale digests behind; this keeps them fewer than the keys held.
    fn refile(&mut self, now: u64) {
        let Shard { map, wheel, filed } = self;
        wheel.clear();
        *filed = map.len();
        for (d, e) in map.iter() {
            wheel
                .entry(bucket_end(e.expires_ms(), now))
                .or_default()
                .push(*d);
        }
    }

    /// Our reservation, if `token` is the one handed out for the entry held.
    fn remove_reservation(&mut self, d: Digest, token: u128) -> bool {
        let ours = self
            .map
            .get(&d)
            .is_some_and(|e| e.is_reservation() && e.0 == token as u64);
        ours && self.map.remove(&d).is_some()
    }

    /// Drop every expired entry (each sits in a due bucket) and refile the
    /// live ones found there in finer buckets; returns how many were dropped.
    fn sweep(&mut self, now: u64) -> usize {
        let mut dropped = 0;
        while let Some(entry) = self.wheel.first_entry() {
            if *entry.key() > now {
                break;
            }
            let due = entry.remove();
            self.filed -= due.len();
            for d in due {
                match self.map.get(&d).map(|e| e.expires_ms()) {
                    Some(expires) if expires <= now => {
                        self.map.remove(&d);
                        dropped += 1;
                    }
                    Some(expires) => self.file(d, expires, now),
                    None => {}
                }
            }
        }
        dropped
    }
}

/// In-memory replay store.
pub struct MemoryStore {
    shards: Vec<Mutex<Shard>>,
    count: AtomicUsize,
    max_keys: usize,
    persist: Option<PathBuf>,
    /// SipHash key of the digests.
    key: (u64, u64),
    /// Expiries are milliseconds since this instant.
    epoch: Instant,
}

impl MemoryStore {
    /// A store holding at most `max_keys` unexpired keys.
    pub fn new(max_keys: usize, persist: Option<PathBuf>) -> Result<Self, String> {
        let snapshot = match &persist {
            Some(path) => read_snapshot(path)?,
            None => None,
        };
        let key = match &snapshot {
            Some(Snapshot::Digests { key, .. }) => *key,
            _ => {
                let k = crate::ids::token();
                ((k >> 64) as u64, k as u64)
            }
        };
        let store = MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            count: AtomicUsize::new(0),
            max_keys,
            persist,
            key,
            epoch: Instant::now(),
        };
        if let Some(s) = snapshot {
            store.load(s);
        }
        Ok(store)
    }

    fn digest(&self, key: &str) -> Digest {
        let mut h = SipHasher24::new_with_keys(self.key.0, self.key.1);
        h.write(key.as_bytes());
        let d = h.finish128();
        Digest(d.h1, d.h2)
    }

    fn shard(&self, d: Digest) -> &Mutex<Shard> {
        &self.shards[(d.1 >> 60) as usize % SHARDS]
    }

    /// Milliseconds since the store started, rounded down: a key is live
    /// while this is below its expiry.
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The expiry of something that lives for `d` from now, rounded up, so
    /// it is never dropped before its time (and a later one is later).
    fn expiry(&self, d: Duration) -> u64 {
        let at = self.epoch.elapsed().saturating_add(d);
        (at.as_nanos().div_ceil(1_000_000)).min(u128::from(MAX_EXPIRY)) as u64
    }

    /// Digests filed in the expiry index, stale ones included.
    #[cfg(test)]
    pub(crate) fn filed(&self) -> usize {
        self.shards.iter().map(|s| s.lock().filed).sum()
    }

    /// Committed keys from a snapshot, expired ones skipped.
    fn load(&self, snapshot: Snapshot) {
        let now_unix = unix_ms(SystemTime::now());
        let now = self.now_ms();
        let entries: Vec<(Digest, u64)> = match snapshot {
            Snapshot::Digests { entries, .. } => entries,
            Snapshot::Keys(keys) => keys
                .into_iter()
                .map(|(exp, key)| (self.digest(&key), exp))
                .collect(),
        };
        for (d, exp_unix) in entries {
            if exp_unix > now_unix {
                // +1: the clocks are read to the millisecond, rounded down.
                let e = Entry::committed(now + (exp_unix - now_unix) + 1);
                if self.shard(d).lock().put(d, e, now) {
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// What a snapshot file held.
enum Snapshot {
    /// Version 2: the hash key, then (digest, Unix expiry ms).
    Digests {
        key: (u64, u64),
        entries: Vec<(Digest, u64)>,
    },
    /// Version 1: (Unix expiry ms, key).
    Keys(Vec<(u64, String)>),
}

fn read_snapshot(path: &std::path::Path) -> Result<Option<Snapshot>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let bad = |i: usize| {
        format!(
            "{}: line {}: corrupt replay snapshot",
            path.display(),
            i + 1
        )
    };
    let mut lines = text.lines().enumerate().peekable();
    let v2_key = match lines.peek() {
        Some((_, first)) if first.starts_with(SNAPSHOT_V2) => {
            let key = first[SNAPSHOT_V2.len()..].trim();
            let key = u128::from_str_radix(key, 16).map_err(|_| bad(0))?;
            lines.next();
            Some(((key >> 64) as u64, key as u64))
        }
        _ => None,
    };
    let mut digests = Vec::new();
    let mut keys = Vec::new();
    for (i, line) in lines {
        let (exp, rest) = line.split_once('\t').ok_or_else(|| bad(i))?;
        let exp: u64 = exp.parse().map_err(|_| bad(i))?;
        if v2_key.is_some() {
            let d = u128::from_str_radix(rest, 16).map_err(|_| bad(i))?;
            digests.push((Digest((d >> 64) as u64, d as u64), exp));
        } else {
            let key = hex::decode(rest).map_err(|_| bad(i))?;
            keys.push((exp, String::from_utf8(key).map_err(|_| bad(i))?));
        }
    }
    Ok(Some(match v2_key {
        Some(key) => Snapshot::Digests {
            key,
            entries: digests,
        },
        None => Snapshot::Keys(keys),
    }))
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[async_trait]
impl ReplayStore for MemoryStore {
    async fn reserve(&self, key: &str, ttl: Duration) -> Result<ReserveOutcome, StoreError> {
        let d = self.digest(key);
        let now = self.now_ms();
        let mut shard = self.shard(d).lock();
        if let Some(e) = shard.live(d, now) {
            return Ok(match e.is_reservation() {
                false => ReserveOutcome::Duplicate,
                true => ReserveOutcome::InFlight,
            });
        }
        // Drops `d` too if it expired here: what follows inserts afresh.
        let swept = shard.sweep(now);
        self.count.fetch_sub(swept, Ordering::Relaxed);
        if self.count.load(Ordering::Relaxed) >= self.max_keys {
            drop(shard);
            // Other shards may hold expired keys: reclaim before refusing.
            ReplayStore::sweep(self);
            if self.count.load(Ordering::Relaxed) >= self.max_keys {
                return Err(StoreError::Full);
            }
            shard = self.shard(d).lock();
        }
        let random = crate::ids::token();
        let e = Entry::reserved(self.expiry(ttl), random as u64);
        if shard.put(d, e, now) {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        // The entry word itself is the token the store checks on release;
        // the random high half keeps tokens unguessable like Redis's.
        let token = (random >> 64) << 64 | u128::from(e.0);
        Ok(ReserveOutcome::Reserved(Reservation {
            key: key.to_string(),
            token,
        }))
    }

    /// Committed regardless of whether our reservation is still the one held:
    /// the delivery happened and must be remembered.
    async fn commit(&self, r: &Reservation, retain: Duration) -> Result<(), StoreError> {
        let d = self.digest(&r.key);
        let e = Entry::committed(self.expiry(retain));
        let now = self.now_ms();
        if self.shard(d).lock().put(d, e, now) {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn release(&self, r: &Reservation) -> Result<(), StoreError> {
        let d = self.digest(&r.key);
        if self.shard(d).lock().remove_reservation(d, r.token) {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn sweep(&self) {
        let now = self.now_ms();
        for s in &self.shards {
            let n = s.lock().sweep(now);
            self.count.fetch_sub(n, Ordering::Relaxed);
        }
    }

    fn keys_held(&self) -> Option<u64> {
        Some(self.count.load(Ordering::Relaxed) as u64)
    }

    /// Write the hash key and the committed, unexpired digests to
    /// `persist_path` (temp file + rename).
    fn flush(&self) -> Result<(), String> {
        use std::fmt::Write;
        let Some(path) = &self.persist else {
            return Ok(());
        };
        let now = self.now_ms();
        let now_unix = unix_ms(SystemTime::now());
        let key = u128::from(self.key.0) << 64 | u128::from(self.key.1);
        let mut out = format!("{SNAPSHOT_V2} {key:032x}\n");
        for s in &self.shards {
            let s = s.lock();
            for (d, e) in &s.map {
                if !e.is_reservation() && e.expires_ms() > now {
                    let digest = u128::from(d.0) << 64 | u128::from(d.1);
                    let exp = now_unix + (e.expires_ms() - now) + 1;
                    let _ = writeln!(out, "{exp}\t{digest:032x}");
                }
            }
        }
        let tmp = path.with_extension("tmp");
        write_private(&tmp, out.as_bytes()).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Write a file only its owner can read: it holds the digests' hash key.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
