//! `[queue]` and `[route.delivery]`: TOML types and their validated forms.
//!
//! Every duration, size and count has a documented range enforced here, so a
//! value that passes `check` cannot overflow a deadline at run time.

use crate::config::units::{ByteSize, Dur};
use serde::Deserialize;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default `[queue] max_bytes`: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Allowed `[queue] max_bytes`: 1 MiB ..= 1 TiB.
pub const MAX_BYTES_RANGE: RangeInclusive<u64> = (1 << 20)..=(1 << 40);
/// Default `[queue] claim_idle`: a Redis delivery leased by an instance that
/// stopped answering is taken over after this long.
pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_secs(60);
/// Allowed `[queue] claim_idle`: 1 s ..= 1 h.
pub const CLAIM_IDLE_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(3600);
/// Default `[route.delivery] ack_status`.
pub const DEFAULT_ACK_STATUS: u16 = 202;
/// Default first retry delay (before jitter).
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Default longest retry delay.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(600);
/// Allowed backoff delays: 10 ms ..= 24 h.
pub const BACKOFF_RANGE: RangeInclusive<Duration> =
    Duration::from_millis(10)..=Duration::from_secs(24 * 3600);
/// Default attempts before a delivery becomes a dead letter.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;
/// Allowed `max_attempts`: 1 ..= 1000.
pub const MAX_ATTEMPTS_RANGE: RangeInclusive<u32> = 1..=1000;
/// Default age after which a failing delivery becomes a dead letter: 72 h.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(72 * 3600);
/// Allowed `max_age`: 1 s ..= 30 days.
pub const MAX_AGE_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(30 * 24 * 3600);
/// Default concurrent deliveries per route and instance.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Allowed `concurrency`: 1 ..= 256.
pub const CONCURRENCY_RANGE: RangeInclusive<usize> = 1..=256;

/// Presets whose sender waits for the app's own answer, which a queue cannot
/// give: the 2xx it would send carries no content. Kept here, next to the
/// rule it feeds, until the preset table grows a column for it.
const NEEDS_APP_ANSWER: [(&str, &str); 3] = [
    (
        "discord",
        "Discord interactions are answered with the app's response (PING needs PONG, commands need their reply)",
    ),
    (
        "slack",
        "Slack slash commands and interactivity are answered with the app's response",
    ),
    (
        "twilio",
        "Twilio voice and messaging webhooks are answered with the app's TwiML",
    ),
];

/// Why a route verified by `scheme` cannot be queued, if it cannot.
pub fn queue_refusal(scheme: &str) -> Option<&'static str> {
    NEEDS_APP_ANSWER
        .iter()
        .find(|(name, _)| *name == scheme)
        .map(|(_, why)| *why)
}

/// `store = "embedded" | "redis"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreName {
    /// One redb file under `path`.
    #[default]
    Embedded,
    /// Redis Streams shared by several instances.
    Redis,
}

/// `[queue]`: the store shared by every queue-mode route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQueue {
    /// `embedded` (default) or `redis`.
    #[serde(default)]
    pub store: StoreName,
    /// Embedded: the queue file (required). Relative to the config file.
    pub path: Option<PathBuf>,
    /// Most bytes of queued deliveries (default 1GiB); past it senders get 503.
    pub max_bytes: Option<ByteSize>,
    /// Redis: `redis://host:port/db` (or `rediss://`).
    pub redis_url: Option<String>,
    /// Redis: take over a delivery another instance leased and left idle this long (default 60s).
    pub claim_idle: Option<Dur>,
    /// Redis: accept a Redis without `appendonly yes` (acknowledged deliveries
    /// are lost if it restarts). Default false.
    pub allow_volatile: Option<bool>,
}

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

/// An error as `(key, message)`, key relative to the file's root.
type KeyError = (String, String);

fn err(key: &str, message: impl Into<String>) -> KeyError {
    (format!("queue.{key}"), message.into())
}

/// Check `v` is within `range`, naming the key and the range otherwise.
fn in_range<T: PartialOrd + std::fmt::Debug>(
    key: &str,
    v: T,
    range: &RangeInclusive<T>,
    show: impl Fn(&T) -> String,
) -> Result<T, String> {
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{key} = {} is out of range: use {} ..= {}",
            show(&v),
            show(range.start()),
            show(range.end())
        ))
    }
}

fn dur(d: &Duration) -> String {
    humantime::format_duration(*d).to_string()
}

fn size(b: &u64) -> String {
    ByteSize(*b).to_string()
}

impl FileQueue {
    /// Validate. `needed` says whether any route is in queue mode; without
    /// one, a missing `[queue]` table is fine. Relative paths resolve against
    /// `base_dir`. Returns `None` when there is no queue at all.
    pub fn validate(
        file: Option<&FileQueue>,
        needed: bool,
        base_dir: &Path,
    ) -> Result<Option<QueueSettings>, KeyError> {
        let Some(f) = file else {
            return if needed {
                Err(err(
                    "path",
                    "a route has delivery.mode = \"queue\": add a [queue] table with path = \"/var/lib/hookgate/queue.redb\" (or store = \"redis\")",
                ))
            } else {
                Ok(None)
            };
        };
        let max_bytes = f.max_bytes.map_or(DEFAULT_MAX_BYTES, |b| b.0);
        let max_bytes = in_range("max_bytes", max_bytes, &MAX_BYTES_RANGE, size)
            .map_err(|m| err("max_bytes", m))?;
        let claim_idle = f.claim_idle.map_or(DEFAULT_CLAIM_IDLE, |d| d.0);
        let claim_idle = in_range("claim_idle", claim_idle, &CLAIM_IDLE_RANGE, dur)
            .map_err(|m| err("claim_idle", m))?;
        let store = match f.store {
            StoreName::Embedded => {
                for (key, set) in [
                    ("redis_url", f.redis_url.is_some()),
                    ("claim_idle", f.claim_idle.is_some()),
                    ("allow_volatile", f.allow_volatile.is_some()),
                ] {
                    if set {
                        return Err(err(key, "only for store = \"redis\""));
                    }
                }
                let path = f.path.as_ref().ok_or_else(|| {
                    err("path", "required with store = \"embedded\": the queue file, e.g. \"/var/lib/hookgate/queue.redb\"")
                })?;
                StoreSettings::Embedded {
                    path: base_dir.join(path),
                }
            }
            StoreName::Redis => {
                if f.path.is_some() {
                    return Err(err("path", "only for store = \"embedded\""));
                }
                let url = f
                    .redis_url
                    .clone()
                    .ok_or_else(|| err("redis_url", "required with store = \"redis\""))?;
                ::redis::Client::open(url.as_str())
                    .map_err(|e| err("redis_url", format!("invalid Redis URL: {e}")))?;
                StoreSettings::Redis {
                    url,
                    allow_volatile: f.allow_volatile.unwrap_or(false),
                }
            }
        };
        Ok(Some(QueueSettings {
            store,
            max_bytes,
            claim_idle,
        }))
    }
}

impl QueueSettings {
    /// One line for `check`: store, budget and takeover delay.
    pub fn describe(&self) -> String {
        match &self.store {
            StoreSettings::Embedded { path } => format!(
                "embedded {} (max_bytes {})",
                path.display(),
                ByteSize(self.max_bytes)
            ),
            StoreSettings::Redis { allow_volatile, .. } => format!(
                "redis (max_bytes {}, claim_idle {}{})",
                ByteSize(self.max_bytes),
                dur(&self.claim_idle),
                if *allow_volatile {
                    ", allow_volatile: acknowledged deliveries are lost if Redis restarts without persistence"
                } else {
                    ""
                }
            ),
        }
    }
}

/// `mode = "direct" | "queue"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    /// Forward while the sender waits (today's behaviour).
    #[default]
    Direct,
    /// Acknowledge once durably queued, deliver later.
    Queue,
}

/// `[route.delivery]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRouteDelivery {
    /// `direct` (default) or `queue`.
    #[serde(default)]
    pub mode: ModeName,
    /// Status answered once queued (default 202; any 2xx).
    pub ack_status: Option<u16>,
    /// First retry delay before jitter (default 1s).
    pub backoff_initial: Option<Dur>,
    /// Longest retry delay (default 10m); also caps an upstream's `Retry-After`.
    pub backoff_max: Option<Dur>,
    /// Attempts before a dead letter (default 20).
    pub max_attempts: Option<u32>,
    /// Age after which a failing delivery becomes a dead letter (default 72h).
    pub max_age: Option<Dur>,
    /// Concurrent deliveries per instance (default 8).
    pub concurrency: Option<usize>,
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
            ack_status: http::StatusCode::ACCEPTED,
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

fn delivery_err(key: &str, message: impl Into<String>) -> KeyError {
    (format!("delivery.{key}"), message.into())
}

impl FileRouteDelivery {
    /// Validate; `scheme` is the route's verifier scheme, if any. Errors are
    /// `(key, message)` with keys relative to the route.
    pub fn validate(&self, scheme: Option<&str>) -> Result<Delivery, KeyError> {
        let tuned = [
            ("ack_status", self.ack_status.is_some()),
            ("backoff_initial", self.backoff_initial.is_some()),
            ("backoff_max", self.backoff_max.is_some()),
            ("max_attempts", self.max_attempts.is_some()),
            ("max_age", self.max_age.is_some()),
            ("concurrency", self.concurrency.is_some()),
        ];
        if self.mode == ModeName::Direct {
            return match tuned.iter().find(|(_, set)| *set) {
                Some((key, _)) => Err(delivery_err(key, "only for mode = \"queue\"")),
                None => Ok(Delivery::Direct),
            };
        }
        if let Some(why) = scheme.and_then(queue_refusal) {
            return Err(delivery_err(
                "mode",
                format!(
                    "scheme {:?} cannot be queued: {why}",
                    scheme.unwrap_or_default()
                ),
            ));
        }
        fn e(key: &'static str) -> impl Fn(String) -> KeyError {
            move |m| delivery_err(key, m)
        }
        let ack = self.ack_status.unwrap_or(DEFAULT_ACK_STATUS);
        let ack_status = match http::StatusCode::from_u16(ack) {
            Ok(s) if s.is_success() => s,
            _ => {
                return Err(delivery_err(
                    "ack_status",
                    format!("{ack} is not a 2xx status: use 200 ..= 299"),
                ))
            }
        };
        let backoff_initial = self
            .backoff_initial
            .map_or(DEFAULT_BACKOFF_INITIAL, |d| d.0);
        let backoff_initial = in_range("backoff_initial", backoff_initial, &BACKOFF_RANGE, dur)
            .map_err(e("backoff_initial"))?;
        let backoff_max = self.backoff_max.map_or(DEFAULT_BACKOFF_MAX, |d| d.0);
        let backoff_max =
            in_range("backoff_max", backoff_max, &BACKOFF_RANGE, dur).map_err(e("backoff_max"))?;
        if backoff_max < backoff_initial {
            return Err(delivery_err(
                "backoff_max",
                format!(
                    "{} is shorter than backoff_initial ({})",
                    dur(&backoff_max),
                    dur(&backoff_initial)
                ),
            ));
        }
        let max_attempts = self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        let max_attempts = in_range("max_attempts", max_attempts, &MAX_ATTEMPTS_RANGE, |n| {
            n.to_string()
        })
        .map_err(e("max_attempts"))?;
        let max_age = self.max_age.map_or(DEFAULT_MAX_AGE, |d| d.0);
        let max_age = in_range("max_age", max_age, &MAX_AGE_RANGE, dur).map_err(e("max_age"))?;
        let concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        let concurrency = in_range("concurrency", concurrency, &CONCURRENCY_RANGE, |n| {
            n.to_string()
        })
        .map_err(e("concurrency"))?;
        Ok(Delivery::Queue(DeliveryPolicy {
            ack_status,
            backoff_initial,
            backoff_max,
            max_attempts,
            max_age,
            concurrency,
        }))
    }
}

impl DeliveryPolicy {
    /// One line for `check`: acknowledgement and retry policy.
    pub fn describe(&self) -> String {
        format!(
            "queue: ack {}, backoff {} .. {} with full jitter, dead after {} attempts or {}, concurrency {}",
            self.ack_status.as_u16(),
            dur(&self.backoff_initial),
            dur(&self.backoff_max),
            self.max_attempts,
            dur(&self.max_age),
            self.concurrency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(src: &str) -> Result<Option<QueueSettings>, KeyError> {
        let f: FileQueue = toml::from_str(src).unwrap();
        FileQueue::validate(Some(&f), true, Path::new("/etc/hookgate"))
    }

    fn delivery(src: &str, scheme: Option<&str>) -> Result<Delivery, KeyError> {
        let f: FileRouteDelivery = toml::from_str(src).unwrap();
        f.validate(scheme)
    }

    #[test]
    fn embedded_defaults_and_relative_path() {
        let q = queue("path = \"q.redb\"").unwrap().unwrap();
        assert_eq!(
            q.store,
            StoreSettings::Embedded {
                path: PathBuf::from("/etc/hookgate/q.redb")
            }
        );
        assert_eq!(q.max_bytes, DEFAULT_MAX_BYTES);
        assert_eq!(q.claim_idle, DEFAULT_CLAIM_IDLE);
    }

    #[test]
    fn queue_table_needed_only_in_queue_mode() {
        assert_eq!(FileQueue::validate(None, false, Path::new(".")), Ok(None));
        let (k, m) = FileQueue::validate(None, true, Path::new(".")).unwrap_err();
        assert_eq!(k, "queue.path");
        assert!(m.contains("add a [queue] table"), "{m}");
        let (k, _) = queue("max_bytes = \"2GiB\"").unwrap_err();
        assert_eq!(k, "queue.path");
    }

    #[test]
    fn redis_settings_are_checked() {
        let q = queue(
            "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\nclaim_idle = \"30s\"",
        )
        .unwrap()
        .unwrap();
        assert_eq!(q.claim_idle, Duration::from_secs(30));
        assert!(matches!(
            q.store,
            StoreSettings::Redis {
                allow_volatile: false,
                ..
            }
        ));
        assert_eq!(queue("store = \"redis\"").unwrap_err().0, "queue.redis_url");
        assert_eq!(
            queue("store = \"redis\"\nredis_url = \"nope://x\"")
                .unwrap_err()
                .0,
            "queue.redis_url"
        );
        assert_eq!(
            queue("path = \"q\"\nallow_volatile = true").unwrap_err(),
            (
                "queue.allow_volatile".into(),
                "only for store = \"redis\"".into()
            )
        );
        assert!(toml::from_str::<FileQueue>("store = \"sqlite\"").is_err());
    }

    #[test]
    fn ranges_are_enforced_with_key_and_range() {
        let (k, m) = queue("path = \"q\"\nmax_bytes = \"1KiB\"").unwrap_err();
        assert_eq!(k, "queue.max_bytes");
        assert_eq!(
            m,
            "max_bytes = 1KiB is out of range: use 1MiB ..= 1048576MiB"
        );
        let (k, m) =
            delivery("mode = \"queue\"\nbackoff_max = \"300000000000y\"", None).unwrap_err();
        assert_eq!(k, "delivery.backoff_max");
        assert!(m.contains("out of range: use 10ms ..= 1day"), "{m}");
        for (src, key) in [
            ("max_attempts = 0", "delivery.max_attempts"),
            ("concurrency = 0", "delivery.concurrency"),
            ("concurrency = 100000", "delivery.concurrency"),
            ("max_age = \"0s\"", "delivery.max_age"),
            ("backoff_initial = \"1ms\"", "delivery.backoff_initial"),
            ("ack_status = 302", "delivery.ack_status"),
            ("ack_status = 99", "delivery.ack_status"),
            (
                "backoff_initial = \"2m\"\nbackoff_max = \"1m\"",
                "delivery.backoff_max",
            ),
        ] {
            let got = delivery(&format!("mode = \"queue\"\n{src}"), None).unwrap_err();
            assert_eq!(got.0, key, "{src}: {got:?}");
        }
    }

    #[test]
    fn queue_policy_defaults() {
        let d = delivery("mode = \"queue\"", Some("github")).unwrap();
        assert_eq!(d, Delivery::Queue(DeliveryPolicy::default()));
        let p = d.queued().unwrap();
        assert_eq!(p.ack_status, 202);
        assert_eq!(p.backoff_max, Duration::from_secs(600));
        assert_eq!(p.max_attempts, 20);
        assert_eq!(p.max_age, Duration::from_secs(72 * 3600));
        assert_eq!(p.concurrency, 8);
        let d = delivery("mode = \"queue\"\nack_status = 200", None).unwrap();
        assert_eq!(d.queued().unwrap().ack_status, 200);
    }

    #[test]
    fn direct_mode_refuses_queue_knobs() {
        assert_eq!(delivery("", None).unwrap(), Delivery::Direct);
        assert_eq!(
            delivery("max_attempts = 3", None).unwrap_err(),
            (
                "delivery.max_attempts".into(),
                "only for mode = \"queue\"".into()
            )
        );
        assert!(toml::from_str::<FileRouteDelivery>("mode = \"later\"").is_err());
    }

    #[test]
    fn presets_that_need_the_apps_answer_cannot_be_queued() {
        for scheme in ["discord", "slack", "twilio"] {
            let (k, m) = delivery("mode = \"queue\"", Some(scheme)).unwrap_err();
            assert_eq!(k, "delivery.mode");
            assert!(
                m.starts_with(&format!("scheme {scheme:?} cannot be queued: ")),
                "{m}"
            );
        }
        assert!(delivery("mode = \"queue\"", Some("stripe")).is_ok());
        // Direct mode stays available to them.
        assert!(delivery("", Some("discord")).is_ok());
    }

    #[test]
    fn refused_presets_exist() {
        let known = crate::verify::known_schemes();
        for (name, _) in NEEDS_APP_ANSWER {
            assert!(known.contains(&name), "{name} is not a preset any more");
        }
    }
}
