//! `[replay]` and `[route.replay]`: TOML types and their validated forms.

use crate::config::units::Dur;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[replay]`: the store shared by every route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReplay {
    /// `memory` (default) or `redis`.
    pub store: Option<String>,
    /// Memory store: most keys held (default 1,000,000). Full = refuse, never forget.
    pub max_keys: Option<usize>,
    /// How long a reservation lives if its request never finishes (default 60s).
    pub reservation_ttl: Option<Dur>,
    /// Memory store: snapshot file so a restart does not reopen the replay window.
    pub persist_path: Option<PathBuf>,
    /// Redis: `redis://host:port/db` (or `rediss://`).
    pub redis_url: Option<String>,
    /// Redis: prefix for every key (default `hookgate:`).
    pub key_prefix: Option<String>,
    /// Redis: connect timeout (default 1s).
    pub connect_timeout: Option<Dur>,
    /// Redis: per-command timeout (default 500ms).
    pub command_timeout: Option<Dur>,
    /// Forward without replay protection when the store is unreachable (default false: 503).
    pub fail_open: Option<bool>,
}

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

impl FileReplay {
    /// Validate; errors are `(key, message)`.
    pub fn validate(&self) -> Result<ReplaySettings, (String, String)> {
        let err = |k: &str, m: String| (format!("replay.{k}"), m);
        let store = match self.store.as_deref().unwrap_or("memory") {
            "memory" => {
                if self.redis_url.is_some() {
                    return Err(err(
                        "redis_url",
                        "set store = \"redis\" to use Redis".into(),
                    ));
                }
                let max_keys = self.max_keys.unwrap_or(1_000_000);
                if max_keys == 0 {
                    return Err(err("max_keys", "must be greater than zero".into()));
                }
                StoreKind::Memory {
                    max_keys,
                    persist_path: self.persist_path.clone(),
                }
            }
            "redis" => {
                let url = self
                    .redis_url
                    .clone()
                    .ok_or_else(|| err("redis_url", "required with store = \"redis\"".into()))?;
                ::redis::Client::open(url.as_str())
                    .map_err(|e| err("redis_url", format!("invalid Redis URL: {e}")))?;
                if self.persist_path.is_some() || self.max_keys.is_some() {
                    return Err(err(
                        "store",
                        "max_keys and persist_path apply to the memory store only".into(),
                    ));
                }
                StoreKind::Redis {
                    url,
                    prefix: self
                        .key_prefix
                        .clone()
                        .unwrap_or_else(|| "hookgate:".into()),
                    connect_timeout: self.connect_timeout.map_or(Duration::from_secs(1), |d| d.0),
                    command_timeout: self
                        .command_timeout
                        .map_or(Duration::from_millis(500), |d| d.0),
                }
            }
            other => {
                return Err(err(
                    "store",
                    format!("unknown store {other:?} (memory, redis)"),
                ))
            }
        };
        Ok(ReplaySettings {
            store,
            reservation_ttl: self
                .reservation_ttl
                .map_or(Duration::from_secs(60), |d| d.0),
            fail_open: self.fail_open.unwrap_or(false),
        })
    }
}

/// `[route.replay]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRouteReplay {
    /// `header:NAME`, `signature` (digest of the verified signature) or `none`.
    pub key: Option<String>,
    /// How long a delivered key is remembered for schemes without timestamps (default 72h).
    pub ttl: Option<Dur>,
    /// `ack` (default: 200 `{"status":"duplicate"}`) or `reject` (409 `replay_detected`).
    pub on_duplicate: Option<String>,
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

/// Answer to a delivery already made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// 200 `{"status":"duplicate"}` so the sender stops retrying.
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
            KeySource::SignatureDigest => signature_digest.map(|d| format!("sig:{d}")),
            KeySource::Header(names) => {
                let v = names.iter().find_map(|h| headers.get(h))?.as_bytes();
                if v.is_empty() {
                    return None;
                }
                if v.len() <= MAX_KEY_HEADER && v.iter().all(|b| b.is_ascii_graphic()) {
                    Some(format!("id:{}", String::from_utf8_lossy(v)))
                } else {
                    use sha2::Digest;
                    Some(format!("idh:{}", hex::encode(sha2::Sha256::digest(v))))
                }
            }
        }
    }
}

/// Clock skew allowed on top of twice the tolerance (a timestamp may be
/// `tolerance` in the future when first seen and stays acceptable until it is
/// `tolerance` in the past).
pub const SKEW: Duration = Duration::from_secs(60);

impl FileRouteReplay {
    /// Validate against the route's verifier. Returns `None` for `key = "none"`
    /// and when the scheme's default is no replay protection.
    ///
    /// The default key comes from the preset's row and obeys one rule: it
    /// never makes two distinct real deliveries collide, so it is never a
    /// shared token or credential (`key = "signature"` is refused for those).
    pub fn validate(
        &self,
        verifier: Option<&crate::verify::Verifier>,
    ) -> Result<Option<RouteReplay>, (String, String)> {
        use crate::verify::DefaultKey;
        let err = |k: &str, m: String| (format!("replay.{k}"), m);
        let tolerance = verifier.and_then(|v| v.tolerance());
        let key = match self.key.as_deref() {
            Some("none") => return Ok(None),
            Some("signature") => match verifier {
                None => {
                    return Err(err(
                        "key",
                        "\"signature\" needs a [route.verify] table".into(),
                    ))
                }
                Some(v) if v.credential_only() => {
                    return Err(err(
                        "key",
                        format!(
                            "\"signature\": {} sends the same token or credentials on every delivery, so every delivery after the first would be dropped as a duplicate; use \"header:NAME\" or \"none\"",
                            v.scheme_name()
                        ),
                    ))
                }
                Some(_) => KeySource::SignatureDigest,
            },
            Some(k) if k.starts_with("header:") => KeySource::Header(vec![
                http::HeaderName::from_bytes(&k.as_bytes()["header:".len()..])
                    .map_err(|_| err("key", format!("{k:?}: invalid header name")))?,
            ]),
            Some(k) => {
                return Err(err(
                    "key",
                    format!("{k:?}: use \"header:NAME\", \"signature\" or \"none\""),
                ))
            }
            None => match verifier.map(|v| v.default_replay_key()) {
                Some(DefaultKey::Header(names, _)) => KeySource::Header(names.clone()),
                Some(DefaultKey::Signature) => KeySource::SignatureDigest,
                Some(DefaultKey::None) | None => return Ok(None),
            },
        };
        let retain = match (tolerance, self.ttl) {
            (Some(t), None) => t * 2 + SKEW,
            (Some(t), Some(ttl)) if ttl.0 < t * 2 + SKEW => {
                return Err(err(
                    "ttl",
                    format!(
                        "must cover twice the timestamp tolerance plus skew ({:?})",
                        t * 2 + SKEW
                    ),
                ))
            }
            (_, Some(ttl)) => ttl.0,
            (None, None) => Duration::from_secs(72 * 3600),
        };
        let on_duplicate = match self.on_duplicate.as_deref().unwrap_or("ack") {
            "ack" => OnDuplicate::Ack,
            "reject" => OnDuplicate::Reject,
            other => {
                return Err(err(
                    "on_duplicate",
                    format!("{other:?}: use \"ack\" or \"reject\""),
                ))
            }
        };
        Ok(Some(RouteReplay {
            key,
            retain,
            on_duplicate,
        }))
    }
}
