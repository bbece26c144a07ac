//! The embedded store: one redb file, for a single hookgate instance.
//!
//! **Group commit.** Every change goes through one writer thread. It takes
//! whatever is waiting in its channel (up to [`MAX_BATCH`] changes), applies
//! them in one write transaction and commits it with `Durability::Immediate`
//! (an fsync) before answering any of them. Concurrent requests therefore
//! share one fsync, and no delivery is acknowledged before it is on disk.
//! redb's copy-on-write commit makes the file crash-safe: after `kill -9` or
//! a power loss it reopens at the last committed transaction.
//!
//! **Leases** live in memory: a process that dies holds none, so every
//! delivery it was working on is due again when it restarts. The attempt a
//! lease starts is counted in the file first (one more group-committed
//! write), so attempts that crash the process still use up `max_attempts`. A lease dropped
//! unsettled (a panicking worker) is released at once. Leasing holds the
//! lease-set lock while it reads, so a delivery settled and released just
//! before can never be seen in an older snapshot and leased twice.
//!
//! **Budget.** `max_bytes` counts every stored delivery (pending and dead)
//! with [`super::stored_size`]; the count lives in the file next to the
//! data, so it is exact after a crash. redb adds page overhead on top (see
//! the `queue` benchmark for bytes on disk per delivery).
//!
//! **The file** is opened and, after an I/O error such as a full disk,
//! reopened by [`RedbFile`]: the store recovers on its own once the disk has
//! room again, and refuses an empty or damaged file at start.

use super::redb_file::RedbFile;
use super::{
    from_millis, headers, stored_size, to_millis, DeliveryId, DeliveryState, Lease, LeaseHandle,
    LeaseResult, NewDelivery, QueueError, QueueStore, QueuedDelivery, RetryTarget, RouteStats,
    StateFilter, Stats, Summary,
};
use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot, Notify};

/// Metadata of a delivery: route, received ms, since ms, attempts, state
/// (0 pending, 1 dead), due-or-dead-at ms, note (last error or dead reason),
/// method, path, stored size.
type MetaOf<'a> = (
    &'a str,
    u64,
    u64,
    u32,
    u8,
    u64,
    &'a str,
    &'a str,
    &'a str,
    u64,
);
/// The table's value type.
type Meta = MetaOf<'static>;
/// Id → metadata (small: list and stats never read bodies).
const META: TableDefinition<u128, Meta> = TableDefinition::new("meta");
/// Id → (encoded headers, body).
const BODIES: TableDefinition<u128, (&[u8], &[u8])> = TableDefinition::new("bodies");
/// Pending deliveries by (route, due ms, id): leasing reads the first due one.
const DUE: TableDefinition<(&str, u64, u128), ()> = TableDefinition::new("due");
/// Pending deliveries by (route, id): ids are time-ordered, so oldest first.
const OPEN: TableDefinition<(&str, u128), ()> = TableDefinition::new("open");
/// Dead letters by (route, dead-at ms, id): purge by age is a range.
const DEAD: TableDefinition<(&str, u64, u128), ()> = TableDefinition::new("dead");
/// Counters: `bytes`, `p/<route>` (pending), `d/<route>` (dead).
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

const PENDING: u8 = 0;
const DEAD_STATE: u8 = 1;

/// Most changes committed in one transaction.
pub const MAX_BATCH: usize = 512;
/// Changes waiting for the writer; senders wait (within their deadline) beyond it.
const CHANNEL: usize = 4096;
/// redb's page cache: bounded, far below its 1 GiB default.
const CACHE_BYTES: usize = 32 << 20;
/// Deadline on every store call.
pub const DEFAULT_DEADLINE: Duration = super::STORE_DEADLINE;
/// Dead letters moved or purged per transaction, so one operator command
/// never builds an unbounded transaction.
const CHUNK: usize = 1000;

/// A change to the file, applied by the writer thread.
enum Op {
    Enqueue(NewDelivery),
    /// An attempt starts: count it before it runs.
    Start(u128),
    Complete(u128),
    Retry {
        id: u128,
        due: u64,
        error: String,
    },
    Dead {
        id: u128,
        reason: String,
        at: u64,
    },
    Revive {
        route: String,
        target: RetryTarget,
        now: u64,
    },
    Purge {
        route: String,
        before: u64,
    },
}

struct Command {
    op: Op,
    reply: oneshot::Sender<Result<u64, QueueError>>,
}

/// The redb-backed store.
pub struct EmbeddedStore {
    db: Arc<RedbFile>,
    writer: Option<mpsc::Sender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
    leases: Arc<Mutex<HashSet<u128>>>,
    commits: Arc<AtomicU64>,
    signal: Arc<Notify>,
    max_bytes: u64,
    deadline: Duration,
}

/// Releases an in-memory lease when dropped.
pub struct LeaseGuard {
    leases: Arc<Mutex<HashSet<u128>>>,
    signal: Arc<Notify>,
    id: u128,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.leases.lock().remove(&self.id);
        // A delivery released unsettled is due again: wake an idle worker.
        self.signal.notify_waiters();
    }
}

/// A redb failure, boxed: redb's error is large and every call returns it.
#[derive(Debug)]
struct DbError(Box<redb::Error>);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! db_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> Self {
                DbError(Box::new(e.into()))
            }
        }
    )*};
}
db_error_from!(
    redb::Error,
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError
);

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl EmbeddedStore {
    /// Open (or create) the queue file. Blocking: call from a blocking context.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, QueueError> {
        let db = Arc::new(RedbFile::open(path, CACHE_BYTES, create_tables)?);
        let commits = Arc::new(AtomicU64::new(0));
        let signal = Arc::new(Notify::new());
        let (tx, rx) = mpsc::channel(CHANNEL);
        let thread = {
            let (db, commits, signal) = (db.clone(), commits.clone(), signal.clone());
            std::thread::Builder::new()
                .name("hookgate-queue-writer".into())
                .spawn(move || writer_loop(&db, rx, max_bytes, &commits, &signal))
                .map_err(|e| QueueError::Open {
                    path: path.display().to_string(),
                    message: format!("cannot start writer thread: {e}"),
                })?
        };
        Ok(EmbeddedStore {
            db,
            writer: Some(tx),
            thread: Some(thread),
            leases: Arc::new(Mutex::new(HashSet::new())),
            commits,
            signal,
            max_bytes,
            deadline: DEFAULT_DEADLINE,
        })
    }

    /// Write transactions committed so far: with group commit, many
    /// concurrent changes share one.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Send a change to the writer and wait for its commit, within the deadline.
    async fn write(&self, op: Op) -> Result<u64, QueueError> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| unavailable("store closed"))?;
        let (reply, rx) = oneshot::channel();
        let call = async {
            writer
                .send(Command { op, reply })
                .await
                .map_err(|_| unavailable("writer stopped"))?;
            rx.await.map_err(|_| unavailable("writer stopped"))?
        };
        tokio::time::timeout(self.deadline, call)
            .await
            .map_err(|_| unavailable("write deadline exceeded"))?
    }

    /// Run a read on a blocking thread, within the deadline.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let file = self.db.clone();
        let task = tokio::task::spawn_blocking(move || {
            let db = file.get()?;
            f(&db).map_err(|e| {
                file.failed(&db, &e.0);
                unavailable(e)
            })
        });
        tokio::time::timeout(self.deadline, task)
            .await
            .map_err(|_| unavailable("read deadline exceeded"))?
            .map_err(unavailable)?
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer after its last batch; joining
        // it releases the file lock before a reopen.
        self.writer.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Create the tables a new file lacks, in one committed transaction.
fn create_tables(db: &Database) -> Result<(), String> {
    let create = || -> Result<(), DbError> {
        let txn = db.begin_write()?;
        txn.open_table(META)?;
        txn.open_table(BODIES)?;
        txn.open_table(DUE)?;
        txn.open_table(OPEN)?;
        txn.open_table(DEAD)?;
        txn.open_table(COUNTERS)?;
        txn.commit()?;
        Ok(())
    };
    create().map_err(|e| e.to_string())
}

// === the writer ===

fn writer_loop(
    file: &RedbFile,
    mut rx: mpsc::Receiver<Command>,
    max_bytes: u64,
    commits: &AtomicU64,
    signal: &Notify,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let applied = file.get().and_then(|db| {
            apply_batch(&db, &batch, max_bytes).map_err(|e| {
                tracing::error!(error = %e, "queue store write failed; nothing in the batch was stored");
                file.failed(&db, &e.0);
                unavailable(e)
            })
        });
        let results = match applied {
            Ok(results) => {
                commits.fetch_add(1, Ordering::Relaxed);
                results
            }
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        };
        let wake = batch
            .iter()
            .any(|c| matches!(c.op, Op::Enqueue(_) | Op::Revive { .. }));
        for (c, r) in batch.into_iter().zip(results) {
            let _ = c.reply.send(r);
        }
        if wake {
            signal.notify_waiters();
        }
    }
}

/// Apply every change in one transaction and commit it durably. An `Err`
/// means nothing was committed; per-change refusals (`Full`) are in the `Ok`.
fn apply_batch(
    db: &Database,
    batch: &[Command],
    max_bytes: u64,
) -> Result<Vec<Result<u64, QueueError>>, DbError> {
    let txn = db.begin_write()?;
    let results = {
        let mut t = Tables::open(&txn)?;
        let mut out = Vec::with_capacity(batch.len());
        for c in batch {
            out.push(t.apply(&c.op, max_bytes)?);
        }
        out
    };
    txn.commit()?;
    Ok(results)
}

struct Tables<'t> {
    meta: redb::Table<'t, u128, Meta>,
    bodies: redb::Table<'t, u128, (&'static [u8], &'static [u8])>,
    due: redb::Table<'t, (&'static str, u64, u128), ()>,
    open: redb::Table<'t, (&'static str, u128), ()>,
    dead: redb::Table<'t, (&'static str, u64, u128), ()>,
    counters: redb::Table<'t, &'static str, u64>,
}

/// A metadata row, owned.
struct Row {
    route: String,
    received: u64,
    since: u64,
    attempts: u32,
    state: u8,
    when: u64,
    note: String,
    method: String,
    path: String,
    size: u64,
}

impl Row {
    fn from_meta(m: MetaOf<'_>) -> Row {
        Row {
            route: m.0.to_string(),
            received: m.1,
            since: m.2,
            attempts: m.3,
            state: m.4,
            when: m.5,
            note: m.6.to_string(),
            method: m.7.to_string(),
            path: m.8.to_string(),
            size: m.9,
        }
    }

    fn as_meta(&self) -> MetaOf<'_> {
        (
            &self.route,
            self.received,
            self.since,
            self.attempts,
            self.state,
            self.when,
            &self.note,
            &self.method,
            &self.path,
            self.size,
        )
    }

    fn summary(&self, id: u128, body_len: u64) -> Summary {
        Summary {
            id: DeliveryId(id),
            route: self.route.clone(),
            received: from_millis(self.received),
            attempts: self.attempts,
            state: self.state(),
            last_error: self.last_error(),
            body_len,
        }
    }

    fn state(&self) -> DeliveryState {
        if self.state == DEAD_STATE {
            DeliveryState::Dead {
                reason: self.note.clone(),
                at: from_millis(self.when),
            }
        } else {
            DeliveryState::Pending {
                due: from_millis(self.when),
            }
        }
    }

    fn last_error(&self) -> Option<String> {
        (self.state == PENDING && !self.note.is_empty()).then(|| self.note.clone())
    }
}

fn pending_key(route: &str) -> String {
    format!("p/{route}")
}

fn dead_key(route: &str) -> String {
    format!("d/{route}")
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, DbError> {
        Ok(Tables {
            meta: txn.open_table(META)?,
            bodies: txn.open_table(BODIES)?,
            due: txn.open_table(DUE)?,
            open: txn.open_table(OPEN)?,
            dead: txn.open_table(DEAD)?,
            counters: txn.open_table(COUNTERS)?,
        })
    }

    fn apply(&mut self, op: &Op, max_bytes: u64) -> Result<Result<u64, QueueError>, DbError> {
        match op {
            Op::Enqueue(d) => self.enqueue(d, max_bytes),
            Op::Start(id) => self.start(*id).map(Ok),
            Op::Complete(id) => self.complete(*id).map(Ok),
            Op::Retry { id, due, error } => self.retry(*id, *due, error).map(Ok),
            Op::Dead { id, reason, at } => self.kill(*id, reason, *at).map(Ok),
            Op::Revive { route, target, now } => self.revive(route, *target, *now).map(Ok),
            Op::Purge { route, before } => self.purge(route, *before).map(Ok),
        }
    }

    fn counter(&self, key: &str) -> Result<u64, DbError> {
        Ok(self.counters.get(key)?.map_or(0, |v| v.value()))
    }

    fn bump(&mut self, key: &str, delta: i64) -> Result<(), DbError> {
        let v = self.counter(key)?.saturating_add_signed(delta);
        self.counters.insert(key, v)?;
        Ok(())
    }

    fn row(&self, id: u128) -> Result<Option<Row>, DbError> {
        Ok(self.meta.get(id)?.map(|g| Row::from_meta(g.value())))
    }

    fn enqueue(
        &mut self,
        d: &NewDelivery,
        max_bytes: u64,
    ) -> Result<Result<u64, QueueError>, DbError> {
        let hdrs = headers::encode(&d.headers);
        let size = stored_size(&d.route, &d.method, &d.path, &hdrs, &d.body);
        let used = self.counter("bytes")?;
        if used.saturating_add(size) > max_bytes {
            return Ok(Err(QueueError::Full {
                used,
                max: max_bytes,
            }));
        }
        let now = to_millis(SystemTime::now());
        let id = d.id.0;
        let row = Row {
            route: d.route.clone(),
            received: now,
            since: now,
            attempts: 0,
            state: PENDING,
            when: now,
            note: String::new(),
            method: d.method.clone(),
            path: d.path.clone(),
            size,
        };
        self.meta.insert(id, row.as_meta())?;
        self.bodies.insert(id, (hdrs.as_slice(), &d.body[..]))?;
        self.due.insert((d.route.as_str(), now, id), ())?;
        self.open.insert((d.route.as_str(), id), ())?;
        self.bump("bytes", size as i64)?;
        self.bump(&pending_key(&d.route), 1)?;
        Ok(Ok(1))
    }

    /// Remove a pending delivery's index entries.
    fn unindex_pending(&mut self, id: u128, row: &Row) -> Result<(), DbError> {
        self.due.remove((row.route.as_str(), row.when, id))?;
        self.open.remove((row.route.as_str(), id))?;
        Ok(())
    }

    fn start(&mut self, id: u128) -> Result<u64, DbError> {
        let Some(mut row) = self.row(id)?.filter(|r| r.state == PENDING) else {
            return Ok(0);
        };
        row.attempts = row.attempts.saturating_add(1);
        self.meta.insert(id, row.as_meta())?;
        Ok(1)
    }

    fn complete(&mut self, id: u128) -> Result<u64, DbError> {
        let Some(row) = self.row(id)?.filter(|r| r.state == PENDING) else {
            return Ok(0);
        };
        self.unindex_pending(id, &row)?;
        self.forget(id, &row)?;
        self.bump(&pending_key(&row.route), -1)?;
        Ok(1)
    }

    fn forget(&mut self, id: u128, row: &Row) -> Result<(), DbError> {
        self.meta.remove(id)?;
        self.bodies.remove(id)?;
        self.bump("bytes", -(row.size as i64))
    }

    fn retry(&mut self, id: u128, due: u64, error: &str) -> Result<u64, DbError> {
        let Some(mut row) = self.row(id)?.filter(|r| r.state == PENDING) else {
            return Ok(0);
        };
        self.due.remove((row.route.as_str(), row.when, id))?;
        row.when = due;
        row.note = error.to_string();
        self.due.insert((row.route.as_str(), due, id), ())?;
        self.meta.insert(id, row.as_meta())?;
        Ok(1)
    }

    fn kill(&mut self, id: u128, reason: &str, at: u64) -> Result<u64, DbError> {
        let Some(mut row) = self.row(id)?.filter(|r| r.state == PENDING) else {
            return Ok(0);
        };
        self.unindex_pending(id, &row)?;
        row.state = DEAD_STATE;
        row.when = at;
        row.note = reason.to_string();
        self.dead.insert((row.route.as_str(), at, id), ())?;
        self.meta.insert(id, row.as_meta())?;
        self.bump(&pending_key(&row.route), -1)?;
        self.bump(&dead_key(&row.route), 1)?;
        Ok(1)
    }

    fn revive(&mut self, route: &str, target: RetryTarget, now: u64) -> Result<u64, DbError> {
        let ids: Vec<u128> = match target {
            RetryTarget::One(id) => vec![id.0],
            RetryTarget::AllDead => self
                .dead
                .range((route, 0, 0)..=(route, u64::MAX, u128::MAX))?
                .take(CHUNK)
                .map(|e| e.map(|(k, _)| k.value().2))
                .collect::<Result<_, _>>()?,
        };
        let mut moved = 0;
        for id in ids {
            let Some(mut row) = self
                .row(id)?
                .filter(|r| r.state == DEAD_STATE && r.route == route)
            else {
                continue;
            };
            self.dead.remove((row.route.as_str(), row.when, id))?;
            row.state = PENDING;
            row.attempts = 0;
            row.since = now;
            row.when = now;
            row.note = String::new();
            self.due.insert((row.route.as_str(), now, id), ())?;
            self.open.insert((row.route.as_str(), id), ())?;
            self.meta.insert(id, row.as_meta())?;
            moved += 1;
        }
        self.bump(&pending_key(route), moved as i64)?;
        self.bump(&dead_key(route), -(moved as i64))?;
        Ok(moved)
    }

    fn purge(&mut self, route: &str, before: u64) -> Result<u64, DbError> {
        let keys: Vec<(u64, u128)> = self
            .dead
            .range((route, 0, 0)..(route, before, 0))?
            .take(CHUNK)
            .map(|e| e.map(|(k, _)| (k.value().1, k.value().2)))
            .collect::<Result<_, _>>()?;
        let mut purged = 0;
        for (at, id) in keys {
            self.dead.remove((route, at, id))?;
            if let Some(row) = self.row(id)? {
                self.forget(id, &row)?;
            }
            purged += 1;
        }
        self.bump(&dead_key(route), -(purged as i64))?;
        Ok(purged)
    }
}

// === reads ===

fn load(db: &Database, id: u128) -> Result<Option<QueuedDelivery>, DbError> {
    let txn = db.begin_read()?;
    let Some(row) = txn
        .open_table(META)?
        .get(id)?
        .map(|g| Row::from_meta(g.value()))
    else {
        return Ok(None);
    };
    let bodies = txn.open_table(BODIES)?;
    let (hdrs, body) = match bodies.get(id)? {
        Some(g) => {
            let (h, b) = g.value();
            (
                headers::decode(h).unwrap_or_default(),
                Bytes::copy_from_slice(b),
            )
        }
        None => Default::default(),
    };
    Ok(Some(QueuedDelivery {
        id: DeliveryId(id),
        route: row.route.clone(),
        received: from_millis(row.received),
        since: from_millis(row.since),
        attempts: row.attempts,
        state: row.state(),
        last_error: row.last_error(),
        method: row.method,
        path: row.path,
        headers: hdrs,
        body,
    }))
}

/// The route's first due delivery nobody holds, or when the next one is due.
fn next_due(
    db: &Database,
    route: &str,
    now: u64,
    leased: &HashSet<u128>,
) -> Result<Result<u128, Option<u64>>, DbError> {
    let txn = db.begin_read()?;
    let due = txn.open_table(DUE)?;
    for entry in due.range((route, 0, 0)..=(route, u64::MAX, u128::MAX))? {
        let (key, _) = entry?;
        let (_, at, id) = key.value();
        if at > now {
            return Ok(Err(Some(at)));
        }
        if !leased.contains(&id) {
            return Ok(Ok(id));
        }
    }
    Ok(Err(None))
}

fn list(
    db: &Database,
    route: &str,
    state: StateFilter,
    limit: usize,
) -> Result<Vec<Summary>, DbError> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let ids: Vec<u128> = match state {
        StateFilter::Pending => txn
            .open_table(OPEN)?
            .range((route, 0)..=(route, u128::MAX))?
            .take(limit)
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?,
        StateFilter::Dead => txn
            .open_table(DEAD)?
            .range((route, 0, 0)..=(route, u64::MAX, u128::MAX))?
            .take(limit)
            .map(|e| e.map(|(k, _)| k.value().2))
            .collect::<Result<_, _>>()?,
    };
    let bodies = txn.open_table(BODIES)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = meta.get(id)?.map(|g| Row::from_meta(g.value())) {
            let body_len = bodies.get(id)?.map_or(0, |g| g.value().1.len() as u64);
            out.push(row.summary(id, body_len));
        }
    }
    Ok(out)
}

fn stats(
    db: &Database,
    routes: &[String],
    now: SystemTime,
) -> Result<(Vec<(String, RouteStats)>, u64), DbError> {
    let txn = db.begin_read()?;
    let counters = txn.open_table(COUNTERS)?;
    let open = txn.open_table(OPEN)?;
    let meta = txn.open_table(META)?;
    // Configured routes, plus any route that still has deliveries stored.
    let mut names: BTreeSet<String> = routes.iter().cloned().collect();
    for e in counters.iter()? {
        let (k, v) = e?;
        if let Some(r) = k
            .value()
            .strip_prefix("p/")
            .or_else(|| k.value().strip_prefix("d/"))
        {
            if v.value() > 0 {
                names.insert(r.to_string());
            }
        }
    }
    let count = |k: String| -> Result<u64, DbError> {
        Ok(counters.get(k.as_str())?.map_or(0, |v| v.value()))
    };
    let mut out = Vec::with_capacity(names.len());
    for route in names {
        let oldest = match open
            .range((route.as_str(), 0)..=(route.as_str(), u128::MAX))?
            .next()
        {
            Some(e) => {
                let id = e?.0.value().1;
                meta.get(id)?
                    .map(|g| {
                        now.duration_since(from_millis(g.value().1))
                            .unwrap_or_default()
                    })
                    .unwrap_or_default()
            }
            None => Duration::ZERO,
        };
        let s = RouteStats {
            pending: count(pending_key(&route))?,
            dead: count(dead_key(&route))?,
            oldest_pending: oldest,
        };
        out.push((route, s));
    }
    let bytes = counters.get("bytes")?.map_or(0, |v| v.value());
    Ok((out, bytes))
}

#[async_trait]
impl QueueStore for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn enqueue(&self, d: NewDelivery) -> Result<DeliveryId, QueueError> {
        let id = d.id;
        self.write(Op::Enqueue(d)).await.map(|_| id)
    }

    async fn lease(&self, route: &str, now: SystemTime) -> Result<LeaseResult, QueueError> {
        let (leases, route, now_ms) = (self.leases.clone(), route.to_string(), to_millis(now));
        let found = self
            .read(move |db| {
                // Lock before the snapshot: see the module doc.
                let mut held = leases.lock();
                match next_due(db, &route, now_ms, &held)? {
                    Ok(id) => {
                        held.insert(id);
                        Ok(Ok(id))
                    }
                    Err(next) => Ok(Err(next)),
                }
            })
            .await?;
        let id = match found {
            Ok(id) => id,
            Err(next) => return Ok(LeaseResult::Idle(next.map(from_millis))),
        };
        let guard = LeaseGuard {
            leases: self.leases.clone(),
            signal: self.signal.clone(),
            id,
        };
        // Durably, before the attempt runs: see `QueueStore::lease`.
        if self.write(Op::Start(id)).await? == 0 {
            return Ok(LeaseResult::Idle(None));
        }
        match self.read(move |db| load(db, id)).await? {
            Some(delivery) => Ok(LeaseResult::Leased(Box::new(Lease {
                delivery,
                handle: LeaseHandle::Embedded(guard),
            }))),
            // Settled between the two reads by a lease-less operator command.
            None => Ok(LeaseResult::Idle(None)),
        }
    }

    async fn touch(&self, _lease: &Lease) -> Result<(), QueueError> {
        Ok(())
    }

    async fn complete(&self, lease: Lease) -> Result<(), QueueError> {
        self.write(Op::Complete(lease.delivery.id.0))
            .await
            .map(|_| ())
    }

    async fn retry_later(
        &self,
        lease: Lease,
        due: SystemTime,
        error: &str,
    ) -> Result<(), QueueError> {
        self.write(Op::Retry {
            id: lease.delivery.id.0,
            due: to_millis(due),
            error: error.to_string(),
        })
        .await
        .map(|_| ())
    }

    async fn dead_letter(
        &self,
        lease: Lease,
        reason: &str,
        now: SystemTime,
    ) -> Result<(), QueueError> {
        self.write(Op::Dead {
            id: lease.delivery.id.0,
            reason: reason.to_string(),
            at: to_millis(now),
        })
        .await
        .map(|_| ())
    }

    async fn list(
        &self,
        route: &str,
        state: StateFilter,
        limit: usize,
    ) -> Result<Vec<Summary>, QueueError> {
        let route = route.to_string();
        self.read(move |db| list(db, &route, state, limit)).await
    }

    async fn show(&self, id: DeliveryId) -> Result<Option<QueuedDelivery>, QueueError> {
        self.read(move |db| load(db, id.0)).await
    }

    async fn retry_dead(
        &self,
        route: &str,
        target: RetryTarget,
        now: SystemTime,
    ) -> Result<u64, QueueError> {
        let mut total = 0;
        loop {
            let moved = self
                .write(Op::Revive {
                    route: route.to_string(),
                    target,
                    now: to_millis(now),
                })
                .await?;
            total += moved;
            if target != RetryTarget::AllDead || moved < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    async fn purge_dead(&self, route: &str, before: Option<SystemTime>) -> Result<u64, QueueError> {
        let before = before.map_or(u64::MAX, to_millis);
        let mut total = 0;
        loop {
            let purged = self
                .write(Op::Purge {
                    route: route.to_string(),
                    before,
                })
                .await?;
            total += purged;
            if purged < CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    async fn stats(&self, routes: &[String], now: SystemTime) -> Result<Stats, QueueError> {
        let routes = routes.to_vec();
        let (routes, bytes) = self.read(move |db| stats(db, &routes, now)).await?;
        Ok(Stats {
            routes,
            bytes,
            max_bytes: self.max_bytes,
        })
    }

    fn work_signal(&self) -> Arc<Notify> {
        self.signal.clone()
    }
}
