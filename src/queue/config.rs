//! `[queue]` and `[route.delivery]` as validated at load (by
//! [`crate::config::queue`]): what the store, the request path and the
//! workers run with.

use crate::config::defaults::{
    DEFAULT_ACK_STATUS, DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_CONCURRENCY,
    DEFAULT_MAX_AGE, DEFAULT_MAX_ATTEMPTS,
};
use crate::config::units::{ByteSize, Show};
use std::path::PathBuf;
use std::time::Duration;

/// Which store, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// redb file.
    Embedded {
        /// The file, resolved against the config's directory.
        path: PathBuf,
    },
    /// Redis Streams.
    Redis {
        /// Connection URL.
        url: String,
        /// Run on a Redis without persistence.
        allow_volatile: bool,
    },
}

/// Validated `[queue]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// The store.
    pub store: StoreSettings,
    /// Budget in bytes.
    pub max_bytes: u64,
    /// Redis lease takeover delay.
    pub claim_idle: Duration,
}

impl QueueSettings {
    /// One line for `check`: store, budget and takeover delay (never the
    /// Redis password).
    pub fn describe(&self) -> String {
        match &self.store {
            StoreSettings::Embedded { path } => format!(
                "embedded {} (max_bytes {})",
                path.display(),
                ByteSize(self.max_bytes)
            ),
            StoreSettings::Redis {
                url,
                allow_volatile,
            } => format!(
                "redis {} (max_bytes {}, claim_idle {}{})",
                crate::check::redact_url(url),
                ByteSize(self.max_bytes),
                Show::show(&self.claim_idle),
                if *allow_volatile {
                    ", allow_volatile"
                } else {
                    ""
                }
            ),
        }
    }
}

/// Validated retry and acknowledgement policy of a queue-mode route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Answer to the sender once queued.
    pub ack_status: http::StatusCode,
    /// First retry delay (before jitter).
    pub backoff_initial: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Attempts before a dead letter.
    pub max_attempts: u32,
    /// Age before a dead letter.
    pub max_age: Duration,
    /// Concurrent deliveries per instance.
    pub concurrency: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            ack_status: DEFAULT_ACK_STATUS,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_age: DEFAULT_MAX_AGE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// How a route delivers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Forward while the sender waits.
    #[default]
    Direct,
    /// Queue, acknowledge, deliver later.
    Queue(DeliveryPolicy),
}

impl Delivery {
    /// The queue policy, when the route queues.
    pub fn queued(&self) -> Option<&DeliveryPolicy> {
        match self {
            Delivery::Direct => None,
            Delivery::Queue(p) => Some(p),
        }
    }
}

impl DeliveryPolicy {
    /// One line for `check`: acknowledgement and retry policy.
    pub fn describe(&self) -> String {
        format!(
            "queue: ack {}, backoff {} .. {} with full jitter, dead after {} attempts or {}, concurrency {}",
            self.ack_status.as_u16(),
            Show::show(&self.backoff_initial),
            Show::show(&self.backoff_max),
            self.max_attempts,
            Show::show(&self.max_age),
            self.concurrency
        )
    }
}
