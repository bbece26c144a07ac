//! Replay protection that drops replayed deliveries and never loses a real one.
//!
//! A delivery's key is *reserved* when a verified request arrives,
//! *committed* when the upstream answers 2xx, and *released* when it fails,
//! so the sender's honest retry goes through while a captured copy of a
//! delivered request does not. Reservations expire so a crash cannot block a
//! key for ever. Stores never forget an unexpired committed key: when full,
//! they refuse new deliveries instead (fail closed).
//!
//! [`memory::MemoryStore`] serves one instance; [`redis::RedisStore`] is shared
//! by several (atomic `SET NX PX` reservations).

pub mod config;
pub mod memory;
pub mod redis;

pub use config::{KeySource, OnDuplicate, ReplaySettings, RouteReplay, StoreKind};

use async_trait::async_trait;
use std::time::Duration;

/// A held reservation: the namespaced key and a token only its holder knows,
/// so a late release cannot delete someone else's reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// `<route>:<delivery key>`.
    pub key: String,
    /// Random token identifying this holder (see [`crate::ids`]).
    pub token: u128,
}

/// What a reserve attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// The key was free and is now ours.
    Reserved(Reservation),
    /// Another request with this key is being forwarded right now.
    InFlight,
    /// The key was already delivered successfully.
    Duplicate,
}

/// Why the store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store holds `max_keys` unexpired keys and will not forget any.
    #[error("replay store is full")]
    Full,
    /// The store (Redis) could not be reached in time.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
}

/// A replay store.
#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Atomically reserve `key` for `ttl` unless it is reserved or committed.
    async fn reserve(&self, key: &str, ttl: Duration) -> Result<ReserveOutcome, StoreError>;
    /// Mark the delivery done; remember it for `retain`.
    async fn commit(&self, r: &Reservation, retain: Duration) -> Result<(), StoreError>;
    /// Forget our reservation (the upstream failed) so a retry can go through.
    async fn release(&self, r: &Reservation) -> Result<(), StoreError>;
    /// `memory` or `redis`, for metric labels.
    fn kind(&self) -> &'static str;
    /// Keys held, when known locally.
    fn keys_held(&self) -> Option<u64>;
    /// Reclaim expired keys (memory store; Redis expires keys itself).
    fn sweep(&self) {}
    /// Persist what must survive a restart (memory store with `persist_path`).
    fn flush(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A fresh random reservation token.
pub fn token() -> u128 {
    crate::ids::token()
}

#[cfg(test)]
mod tests;
