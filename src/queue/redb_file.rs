//! The embedded store's redb file: opened only when it can be trusted, and
//! reopened after an I/O error.
//!
//! **Opening.** An existing file that is empty is refused: redb would take it
//! for a new database and start with an empty queue, silently dropping every
//! delivery the file once held (a truncated file). A damaged file that makes
//! redb panic while opening it (it asserts on a truncated file) is refused
//! with a reason too, instead of an opaque task failure.
//!
//! **Reopening.** After any I/O error (a full disk, a file-size limit) redb
//! refuses every further call, reads included, until the database is closed
//! and opened again. Without a reopen, one transient disk-full event would
//! stop the queue for good: every new delivery refused and nothing queued
//! delivered until an operator restarted hookgate. So a failing call retires
//! the database; the next call (a write, or a worker asking for work) reopens
//! the file once every reader has let go of the old handle, at most once per
//! [`REOPEN_PAUSE`]. Reopening recovers the last committed transaction, which
//! holds every delivery ever acknowledged. Meanwhile calls fail as
//! unavailable, so senders get `503` and `Retry-After`: fail closed.

use super::QueueError;
use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use redb::Database;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shortest time between two attempts to reopen the file.
pub const REOPEN_PAUSE: Duration = Duration::from_millis(500);

/// Prepares a freshly opened database (creates the tables); an error is the reason.
pub type Prepare = fn(&Database) -> Result<(), String>;

/// The open database, or the one being replaced after an I/O error.
pub struct RedbFile {
    path: PathBuf,
    cache_bytes: usize,
    prepare: Prepare,
    current: ArcSwapOption<Database>,
    /// Serialises reopening; holds the retired handle and the last attempt.
    reopen: Mutex<Reopen>,
}

#[derive(Default)]
struct Reopen {
    /// The failed handle, closed once no reader holds it.
    retired: Option<Arc<Database>>,
    last_try: Option<Instant>,
    /// The I/O error that retired the database, for the recovery log line.
    cause: String,
    /// What callers are told while the file is not open.
    why: String,
}

impl RedbFile {
    /// Open (or create) the file at `path`. Blocking.
    pub fn open(path: &Path, cache_bytes: usize, prepare: Prepare) -> Result<Self, QueueError> {
        let open_err = |message: String| QueueError::Open {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create directory: {e}")))?;
        }
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(open_err(
                "the file exists but is empty (truncated?): refusing to start on it, since an \
                 empty queue could silently replace acknowledged deliveries; restore it, or \
                 move it away to start with an empty queue"
                    .into(),
            ));
        }
        let db = open_database(path, cache_bytes, prepare).map_err(|e| match e {
            OpenFailure::InUse => QueueError::InUse(path.display().to_string()),
            OpenFailure::Other(m) => open_err(m),
        })?;
        Ok(RedbFile {
            path: path.to_path_buf(),
            cache_bytes,
            prepare,
            current: ArcSwapOption::from_pointee(db),
            reopen: Mutex::new(Reopen::default()),
        })
    }

    /// The database to use now: the open one, or the file reopened after an
    /// I/O error retired it. Blocking (a reopen reads the file).
    pub fn get(&self) -> Result<Arc<Database>, QueueError> {
        if let Some(db) = self.current.load_full() {
            return Ok(db);
        }
        // Another thread is reopening: do not queue up behind it.
        let Some(mut r) = self.reopen.try_lock() else {
            return Err(unavailable("the queue file is being reopened"));
        };
        if let Some(db) = self.current.load_full() {
            return Ok(db);
        }
        if r.last_try.is_some_and(|t| t.elapsed() < REOPEN_PAUSE) {
            return Err(unavailable(&r.why));
        }
        r.last_try = Some(Instant::now());
        if let Some(old) = r.retired.take() {
            match Arc::try_unwrap(old) {
                // Closing it releases the file lock, so it can be opened again.
                Ok(db) => drop(db),
                Err(still_read) => {
                    r.retired = Some(still_read);
                    return Err(unavailable(&r.why));
                }
            }
        }
        match open_database(&self.path, self.cache_bytes, self.prepare) {
            Ok(db) => {
                let db = Arc::new(db);
                self.current.store(Some(db.clone()));
                tracing::warn!(path = %self.path.display(), error = %r.cause, "queue file reopened after an I/O error; deliveries are accepted again");
                Ok(db)
            }
            Err(e) => {
                let m = match e {
                    OpenFailure::InUse => "the old handle still holds the file".to_string(),
                    OpenFailure::Other(m) => m,
                };
                let why = format!("reopening the queue file after an I/O error failed: {m}");
                // Once per distinct reason, not once per attempt (twice a second).
                if why != r.why {
                    tracing::error!(path = %self.path.display(), reason = %m, "queue file cannot be reopened yet; new deliveries are refused with 503");
                    r.why = why;
                }
                Err(unavailable(&r.why))
            }
        }
    }

    /// A call on `db` failed with `e`: after an I/O error, retire it so the
    /// next [`RedbFile::get`] reopens the file.
    pub fn failed(&self, db: &Arc<Database>, e: &redb::Error) {
        if !matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo) {
            return;
        }
        let is_current = || {
            let current = self.current.load();
            current.as_ref().is_some_and(|c| Arc::ptr_eq(c, db))
        };
        // Already retired (and maybe reopened) by another caller: checked
        // before locking too, so a failed reader does not wait out a reopen.
        if !is_current() {
            return;
        }
        let mut r = self.reopen.lock();
        if !is_current() {
            return;
        }
        self.current.store(None);
        // `last_try` is kept: a file that fails again right after a reopen
        // (the disk still full) is reopened only after the pause.
        r.retired = Some(db.clone());
        r.cause = e.to_string();
        r.why = format!("queue file I/O error ({e}); it will be reopened");
        tracing::error!(path = %self.path.display(), error = %e, "queue file I/O error (disk full?): new deliveries are refused with 503 until it is reopened");
    }
}

fn unavailable(why: &str) -> QueueError {
    QueueError::Unavailable(why.to_string())
}

enum OpenFailure {
    InUse,
    Other(String),
}

/// Open the file and prepare it. redb panics on some damaged files (an
/// assertion on a truncated one): that is a damaged file, not a crash.
fn open_database(
    path: &Path,
    cache_bytes: usize,
    prepare: Prepare,
) -> Result<Database, OpenFailure> {
    let opened = catch_unwind(AssertUnwindSafe(|| {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => OpenFailure::InUse,
                e => OpenFailure::Other(e.to_string()),
            })?;
        prepare(&db).map_err(OpenFailure::Other)?;
        Ok(db)
    }));
    opened.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(OpenFailure::Other(format!(
            "the file is damaged (truncated or corrupted): redb: {what}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableDefinition;

    const T: TableDefinition<u64, u64> = TableDefinition::new("t");

    fn prepare(db: &Database) -> Result<(), String> {
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(T).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())
    }

    fn disk_full() -> redb::Error {
        redb::Error::Io(std::io::Error::other("No space left on device"))
    }

    /// Poll `get` until it hands out a database, within a bounded deadline.
    fn reopened(file: &RedbFile) -> Arc<Database> {
        let deadline = Instant::now() + REOPEN_PAUSE * 20;
        loop {
            match file.get() {
                Ok(db) => return db,
                Err(e) => assert!(Instant::now() < deadline, "not reopened: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_retired_file_is_reopened_only_once_its_readers_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let file = RedbFile::open(&dir.path().join("q.redb"), 1 << 20, prepare).unwrap();
        let first = file.get().unwrap();
        let txn = first.begin_write().unwrap();
        txn.open_table(T).unwrap().insert(1, 42).unwrap();
        txn.commit().unwrap();

        // A reader still holds the failed handle: nothing is reopened (its
        // file lock would make the open fail), callers are told unavailable.
        file.failed(&first, &disk_full());
        let refused = file.get().map(|_| ()).unwrap_err();
        assert!(
            matches!(&refused, QueueError::Unavailable(m) if m.contains("No space left on device")),
            "{refused}"
        );
        let held = first.clone();
        drop(first);
        assert!(file.get().is_err(), "still held by a reader");
        drop(held);

        let second = reopened(&file);
        let read = second.begin_read().unwrap();
        assert_eq!(
            read.open_table(T)
                .unwrap()
                .get(1)
                .unwrap()
                .map(|v| v.value()),
            Some(42),
            "the committed data is intact"
        );
    }

    #[test]
    fn a_second_report_of_the_same_failure_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = RedbFile::open(&dir.path().join("q.redb"), 1 << 20, prepare).unwrap();
        let (a, b) = (file.get().unwrap(), file.get().unwrap());
        file.failed(&a, &disk_full());
        // Another reader of the same handle fails too, later: the file is
        // already retired, the reason stays the first one.
        file.failed(&b, &redb::Error::Io(std::io::Error::other("second")));
        let why = file.get().map(|_| ()).unwrap_err().to_string();
        assert!(
            why.contains("No space left on device") && !why.contains("second"),
            "{why}"
        );
        drop((a, b));
        let reopened = reopened(&file);
        // And a failure that is not an I/O error does not retire the file.
        file.failed(&reopened, &redb::Error::TableDoesNotExist("t".into()));
        assert!(Arc::ptr_eq(&file.get().unwrap(), &reopened));
        // Nor does a late report about the old handle (none can exist while
        // a reader holds it, but the check is by identity, not by time).
        let other = Arc::new(Database::create(dir.path().join("other.redb")).unwrap());
        file.failed(&other, &disk_full());
        assert!(Arc::ptr_eq(&file.get().unwrap(), &reopened));
    }
}
