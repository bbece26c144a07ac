//! Durable delivery: accept a verified webhook once it is safely stored,
//! deliver it when the app is back, lose nothing.
//!
//! ```text
//! request path ──enqueue (durable)──▶ QueueStore ──lease──▶ worker ──Deliver──▶ upstream
//!                                        ▲   │                  │
//!                                        │   └── dead letters ◀─┤ 4xx / max_attempts / max_age
//!                                        └──── retry_later ◀────┘ 408/425/429/5xx/connect/timeout
//! ```
//!
//! A delivery is acknowledged to the sender only after [`QueueStore::enqueue`]
//! returned, i.e. after it was made durable (an fsync on the embedded store,
//! batched across concurrent requests); the request path's side is
//! [`crate::proxy::enqueue`]. Workers then *lease* it (counting the attempt),
//! deliver it through the gateway's own forwarder
//! ([`crate::proxy::deliverer`]), and settle the lease: complete, retry
//! later, or dead-letter. A lease that is never settled (a crashed worker or
//! instance) makes the delivery due again, so it is retried, never lost:
//! delivery is at-least-once, and the main duplicate window is between the
//! upstream's 2xx and the store recording the completion (README "Durable
//! delivery" lists every case).
//!
//! [`embedded::EmbeddedStore`] (redb, one file) serves one instance;
//! [`redis::RedisQueue`] (Redis Streams and a consumer group) is shared by
//! several. Both pass the same contract tests. [`service::QueueService`]
//! runs the store and the workers inside hookgate; [`ops`] holds the
//! operator actions behind the CLI and the admin API.

pub mod cli;
pub mod config;
pub mod embedded;
pub mod headers;
pub mod metrics;
pub mod ops;
pub mod policy;
pub mod redb_file;
pub mod redis;
pub mod service;
pub mod worker;

pub use config::{Delivery, DeliveryPolicy, QueueSettings, StoreSettings};
pub use metrics::QueueMetrics;
pub use policy::{AttemptResult, DeliveryResult};
pub use worker::{Deliver, OutgoingAttempt, WorkerPool};

use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest any store call may take before it counts as unavailable: what
/// a sender waits at most for its acknowledgement, beyond the request itself.
pub const STORE_DEADLINE: Duration = Duration::from_secs(5);

/// Header naming the delivery on every attempt: stable, so the app can deduplicate.
pub const DELIVERY_ID_HEADER: &str = "x-hookgate-delivery-id";
/// Header numbering the attempt (1 for the first).
pub const ATTEMPT_HEADER: &str = "x-hookgate-attempt";

/// A delivery's identity: a UUID v7, so ids sort by the time they were queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub u128);

impl DeliveryId {
    /// A fresh id for a delivery queued now.
    pub fn new() -> Self {
        DeliveryId(uuid::Uuid::now_v7().as_u128())
    }

    /// Parse the form printed by `Display` (any UUID spelling).
    pub fn parse(s: &str) -> Option<Self> {
        uuid::Uuid::parse_str(s.trim())
            .ok()
            .map(|u| DeliveryId(u.as_u128()))
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        uuid::Uuid::from_u128(self.0).hyphenated().fmt(f)
    }
}

/// What the request path hands to [`QueueStore::enqueue`]: the exact verified
/// body and the headers hookgate would have forwarded.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Assigned by the caller so it can answer the sender with it.
    pub id: DeliveryId,
    /// Route name (a queue-mode route).
    pub route: String,
    /// Request method, e.g. `POST`.
    pub method: String,
    /// Path and query as forwarded.
    pub path: String,
    /// Headers as forwarded (hop-by-hop removed, `X-Forwarded-*` set).
    pub headers: http::HeaderMap,
    /// The exact verified body.
    pub body: Bytes,
}

/// Where a stored delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for (another) attempt, not before `due`.
    Pending {
        /// Earliest time of the next attempt.
        due: SystemTime,
    },
    /// Given up; kept until an operator retries or purges it.
    Dead {
        /// Why (`status 400`, `max_attempts`, `max_age`).
        reason: String,
        /// When it was given up.
        at: SystemTime,
    },
}

/// Which deliveries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateFilter {
    /// Waiting, leased or scheduled for a retry.
    Pending,
    /// Dead letters.
    Dead,
}

impl StateFilter {
    /// Metric label and display name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Pending => "pending",
            StateFilter::Dead => "dead",
        }
    }
}

/// A stored delivery.
#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    /// Stable id.
    pub id: DeliveryId,
    /// Route name.
    pub route: String,
    /// When the sender was acknowledged.
    pub received: SystemTime,
    /// Start of the current series of attempts (`received`, or the operator's retry):
    /// `max_age` counts from here.
    pub since: SystemTime,
    /// Attempts started in the current series (counted when leased).
    pub attempts: u32,
    /// Pending or dead.
    pub state: DeliveryState,
    /// The last attempt's failure, if any.
    pub last_error: Option<String>,
    /// Request method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Forwarded headers.
    pub headers: http::HeaderMap,
    /// Exact body.
    pub body: Bytes,
}

/// One line of `queue list`: a delivery without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Stable id.
    pub id: DeliveryId,
    /// Route name.
    pub route: String,
    /// When it was acknowledged.
    pub received: SystemTime,
    /// Attempts made in the current series.
    pub attempts: u32,
    /// Pending or dead.
    pub state: DeliveryState,
    /// Last failure.
    pub last_error: Option<String>,
    /// Body size in bytes.
    pub body_len: u64,
}

/// Depth of one route's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Deliveries waiting, leased or scheduled for a retry.
    pub pending: u64,
    /// Dead letters.
    pub dead: u64,
    /// Age of the oldest pending delivery (zero when none).
    pub oldest_pending: Duration,
}

/// What `queue stats` shows and the metrics export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per route, in name order.
    pub routes: Vec<(String, RouteStats)>,
    /// Bytes counted against `max_bytes` (pending and dead deliveries).
    pub bytes: u64,
    /// The budget.
    pub max_bytes: u64,
}

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// `max_bytes` reached: the request path answers 503 + `Retry-After` and
    /// acknowledges nothing.
    #[error("queue store is full ({used} of {max} bytes used)")]
    Full {
        /// Bytes in use.
        used: u64,
        /// The budget.
        max: u64,
    },
    /// The store could not be reached or did not answer in time (503 + `Retry-After`).
    #[error("queue store unavailable: {0}")]
    Unavailable(String),
    /// Redis runs without `appendonly yes` and `allow_volatile` is not set.
    #[error("Redis at {0} does not persist (appendonly is not \"yes\"): acknowledged deliveries would be lost on a restart; enable appendonly or set [queue] allow_volatile = true")]
    Volatile(String),
    /// The embedded file is held by another process: a running hookgate,
    /// whose admin API operates it.
    #[error("queue store {0} is open in another process (a running hookgate?)")]
    InUse(String),
    /// The file could not be opened or is not a queue file.
    #[error("queue store {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// A leased delivery: the caller delivers it, then settles the lease with
/// [`QueueStore::complete`], [`QueueStore::retry_later`] or
/// [`QueueStore::dead_letter`]. Dropping it unsettled (a panicking worker)
/// makes the delivery due again at once on the embedded store, and after
/// `claim_idle` on Redis.
pub struct Lease {
    /// The delivery, body included.
    pub delivery: QueuedDelivery,
    /// Store-specific handle (Redis stream entry id; embedded release guard).
    pub(crate) handle: LeaseHandle,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("id", &self.delivery.id)
            .field("route", &self.delivery.route)
            .finish()
    }
}

/// How each store tracks a lease.
pub(crate) enum LeaseHandle {
    /// Embedded: released from the in-memory lease set on drop.
    Embedded(#[allow(dead_code)] embedded::LeaseGuard),
    /// Redis: the stream entry held in this consumer's pending list.
    Redis(String),
}

/// Result of asking for work.
#[derive(Debug)]
pub enum LeaseResult {
    /// A due delivery, now ours.
    Leased(Box<Lease>),
    /// Nothing due; the next retry is due at this time, if any is scheduled.
    Idle(Option<SystemTime>),
}

/// Which dead letters `retry` moves back to pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryTarget {
    /// One delivery.
    One(DeliveryId),
    /// Every dead letter of the route.
    AllDead,
}

/// A durable queue of deliveries. Every call has a deadline: a store that
/// does not answer in time is [`QueueError::Unavailable`].
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// `embedded` or `redis`.
    fn kind(&self) -> &'static str;

    /// Store a delivery durably; return once it will survive a crash. Fails
    /// with [`QueueError::Full`] past `max_bytes`, without storing anything.
    async fn enqueue(&self, d: NewDelivery) -> Result<DeliveryId, QueueError>;

    /// Take the route's next due delivery, if any, and durably count the
    /// attempt about to start: the lease's `delivery.attempts` includes it.
    /// Counting at the start (not when the attempt is settled) means a
    /// delivery whose attempts crash the process still runs out of attempts.
    async fn lease(&self, route: &str, now: SystemTime) -> Result<LeaseResult, QueueError>;

    /// Keep a lease from being taken over while a slow attempt runs.
    async fn touch(&self, lease: &Lease) -> Result<(), QueueError>;

    /// The upstream accepted it: forget it.
    async fn complete(&self, lease: Lease) -> Result<(), QueueError>;

    /// Schedule another attempt at `due` (the attempt was counted by `lease`).
    async fn retry_later(
        &self,
        lease: Lease,
        due: SystemTime,
        error: &str,
    ) -> Result<(), QueueError>;

    /// Give up: keep it as a dead letter until an operator acts.
    async fn dead_letter(
        &self,
        lease: Lease,
        reason: &str,
        now: SystemTime,
    ) -> Result<(), QueueError>;

    /// Up to `limit` deliveries of a route in a state, oldest first.
    async fn list(
        &self,
        route: &str,
        state: StateFilter,
        limit: usize,
    ) -> Result<Vec<Summary>, QueueError>;

    /// One delivery, body included.
    async fn show(&self, id: DeliveryId) -> Result<Option<QueuedDelivery>, QueueError>;

    /// Move dead letters back to pending with a fresh attempt budget; returns how many.
    async fn retry_dead(
        &self,
        route: &str,
        target: RetryTarget,
        now: SystemTime,
    ) -> Result<u64, QueueError>;

    /// Delete a route's dead letters given up before `before` (all when `None`); returns how many.
    async fn purge_dead(&self, route: &str, before: Option<SystemTime>) -> Result<u64, QueueError>;

    /// Depth per route (for `routes`), bytes used and the budget.
    async fn stats(&self, routes: &[String], now: SystemTime) -> Result<Stats, QueueError>;

    /// Woken when this instance queues or revives work, so idle workers start at once.
    fn work_signal(&self) -> Arc<tokio::sync::Notify>;

    /// How often a worker must [`QueueStore::touch`] a lease during a long
    /// attempt (`None`: leases do not expire).
    fn heartbeat(&self) -> Option<Duration> {
        None
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn to_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the Unix epoch.
pub(crate) fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Bytes a delivery counts against `max_bytes`: what is stored plus a fixed
/// allowance for its metadata and index entries.
pub(crate) fn stored_size(
    route: &str,
    method: &str,
    path: &str,
    headers: &[u8],
    body: &[u8],
) -> u64 {
    const METADATA: usize = 128;
    (route.len() + method.len() + path.len() + headers.len() + body.len() + METADATA) as u64
}

/// Open the store named by the settings (connecting to Redis and checking
/// persistence when `store = "redis"`).
pub async fn open(settings: &QueueSettings) -> Result<Arc<dyn QueueStore>, QueueError> {
    match &settings.store {
        StoreSettings::Embedded { path } => {
            let path = path.clone();
            let max = settings.max_bytes;
            let store =
                tokio::task::spawn_blocking(move || embedded::EmbeddedStore::open(&path, max))
                    .await
                    .map_err(|e| QueueError::Unavailable(e.to_string()))??;
            Ok(Arc::new(store))
        }
        StoreSettings::Redis {
            url,
            allow_volatile,
        } => {
            let store = redis::RedisQueue::connect(
                url,
                redis::RedisOptions {
                    max_bytes: settings.max_bytes,
                    claim_idle: settings.claim_idle,
                    allow_volatile: *allow_volatile,
                    ..redis::RedisOptions::default()
                },
            )
            .await?;
            Ok(Arc::new(store))
        }
    }
}
