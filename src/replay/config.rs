//! The validated forms of `[replay]` and `[route.replay]` (the config layer
//! builds them; their TOML shapes live in `config::file`).

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// In-process.
    Memory {
        /// Capacity.
        max_keys: usize,
        /// Snapshot file.
        persist_path: Option<PathBuf>,
    },
    /// Shared Redis.
    Redis {
        /// Connection URL.
        url: String,
        /// Key prefix.
        prefix: String,
        /// Connect timeout.
        connect_timeout: Duration,
        /// Command timeout.
        command_timeout: Duration,
    },
}

/// Validated `[replay]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaySettings {
    /// The store.
    pub store: StoreKind,
    /// Reservation lifetime.
    pub reservation_ttl: Duration,
    /// Forward when the store is unreachable.
    pub fail_open: bool,
}

/// What identifies a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A header's value (bounded), e.g. `webhook-id`: the first of the names present
    /// (Svix senders use `svix-id` or, white-labelled, `webhook-id`).
    Header(Vec<http::HeaderName>),
    /// SHA-256 of the verified signature bytes.
    SignatureDigest,
}

/// Answer to a delivery already made (`on_duplicate`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    /// 200 `{"status":"duplicate"}` so the sender stops retrying.
    #[default]
    Ack,
    /// 409 `replay_detected`.
    Reject,
}

/// Validated per-route replay policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteReplay {
    /// Where the key comes from.
    pub key: KeySource,
    /// How long a committed key is kept.
    pub retain: Duration,
    /// Duplicate answer.
    pub on_duplicate: OnDuplicate,
}

/// Longest header value used as a key; longer ones are hashed.
const MAX_KEY_HEADER: usize = 256;

impl KeySource {
    /// The delivery key for a request, or `None` when the header is absent.
    pub fn extract(
        &self,
        headers: &http::HeaderMap,
        signature_digest: Option<&str>,
    ) -> Option<String> {
        match self {
            KeySource::SignatureDigest => signature_digest.map(|d| ["sig:", d].concat()),
            KeySource::Header(names) => {
                let v = names.iter().find_map(|h| headers.get(h))?.as_bytes();
                if v.is_empty() {
                    return None;
                }
                let printable = v.len() <= MAX_KEY_HEADER && v.iter().all(|b| b.is_ascii_graphic());
                match std::str::from_utf8(v) {
                    Ok(id) if printable => Some(["id:", id].concat()),
                    _ => {
                        use sha2::Digest;
                        Some(format!("idh:{}", hex::encode(sha2::Sha256::digest(v))))
                    }
                }
            }
        }
    }
}

/// Clock skew allowed on top of twice the tolerance (a timestamp may be
/// `tolerance` in the future when first seen and stays acceptable until it is
/// `tolerance` in the past).
pub const SKEW: Duration = Duration::from_secs(60);
