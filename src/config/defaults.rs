//! Every default and every accepted range, in one place.
//!
//! `conf/hookgate.toml` documents each of them; a unit test checks that the
//! documented ranges are the ones enforced here. The upper bounds are far
//! beyond any sensible setting, and low enough that no arithmetic on a
//! configured value can overflow: the largest duration is a year, and
//! `Instant + 1 year`, `2 × 1 year + skew` and a year in milliseconds all fit.

use super::units::{Bounds, ByteSize};
use std::time::Duration;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}
const MINUTE: u64 = 60;
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

// === [admin] ===

/// `[admin] listen` when the table is present without it.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9901";

// === [server] ===

/// `[server] threads`.
pub const DEFAULT_THREADS: usize = 1;
/// Range of `[server] threads`.
pub const THREADS: Bounds<usize> = Bounds::new(1, 256);
/// `[server] shutdown_timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = secs(30);
/// Range of `[server] shutdown_timeout` (pingora counts it in whole seconds).
pub const SHUTDOWN_TIMEOUT: Bounds<Duration> = Bounds::new(secs(1), secs(HOUR));
/// `[server] pid_file`.
pub const DEFAULT_PID_FILE: &str = "/tmp/hookgate.pid";
/// `[server] upgrade_sock`.
pub const DEFAULT_UPGRADE_SOCK: &str = "/tmp/hookgate_upgrade.sock";

// === [limits] ===

/// Default per-route body limit.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;
/// Range of `[limits] max_body_bytes` and `[[route]] max_body_bytes`.
pub const MAX_BODY: Bounds<ByteSize> = Bounds::new(ByteSize(1), ByteSize(1 << 30));
/// `[limits] max_header_bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 64 << 10;
/// Range of `[limits] max_header_bytes` (pingora reads at most 1MiB of header).
pub const MAX_HEADER_BYTES: Bounds<ByteSize> = Bounds::new(ByteSize(1 << 10), ByteSize(1 << 20));
/// `[limits] max_headers`.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Range of `[limits] max_headers`.
pub const MAX_HEADERS: Bounds<usize> = Bounds::new(1, 10_000);
/// `[limits] header_timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = secs(10);
/// Range of `[limits] header_timeout`.
pub const HEADER_TIMEOUT: Bounds<Duration> = Bounds::new(ms(100), secs(10 * MINUTE));
/// `[limits] request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = secs(30);
/// Range of `[limits] request_timeout`.
pub const REQUEST_TIMEOUT: Bounds<Duration> = Bounds::new(ms(100), secs(HOUR));
/// `[limits] read_timeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = secs(10);
/// Range of `[limits] read_timeout`.
pub const READ_TIMEOUT: Bounds<Duration> = Bounds::new(ms(100), secs(HOUR));
/// `[limits] auth_failure_delay`: long enough that a flood of forged
/// signatures over keep-alive connections gets one answer per connection
/// per delay (32 connections: 320 a second), and that the forgeries, whose
/// answers come due together, take under 1% of the time between two bursts;
/// short enough that a sender with a wrong secret barely notices. At 20 ms
/// the bursts alone raised signed requests' p99 1.8x.
pub const DEFAULT_AUTH_FAILURE_DELAY: Duration = ms(100);
/// Range of `[limits] auth_failure_delay` (0s turns it off).
pub const AUTH_FAILURE_DELAY: Bounds<Duration> = Bounds::new(Duration::ZERO, secs(10));
/// Default `[limits] max_buffered_bytes`.
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 256 << 20;
/// Range of `[limits] max_buffered_bytes` (and at least every route's body limit).
pub const MAX_BUFFERED_BYTES: Bounds<ByteSize> = Bounds::new(ByteSize(1 << 20), ByteSize(64 << 30));

// === [[listener]] ===

/// Default `[[listener]] max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Range of `[[listener]] max_connections`.
pub const MAX_CONNECTIONS: Bounds<usize> = Bounds::new(1, 1_000_000);

// === [[route]] ===

/// `[[route]] connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = secs(5);
/// Range of `[[route]] connect_timeout`.
pub const CONNECT_TIMEOUT: Bounds<Duration> = Bounds::new(ms(10), secs(5 * MINUTE));
/// `[[route]] read_timeout`.
pub const DEFAULT_UPSTREAM_READ_TIMEOUT: Duration = secs(30);
/// Range of `[[route]] read_timeout`.
pub const UPSTREAM_READ_TIMEOUT: Bounds<Duration> = Bounds::new(ms(100), secs(HOUR));
/// Default `[[route]] upstream_idle_timeout`.
pub const DEFAULT_UPSTREAM_IDLE_TIMEOUT: Duration = secs(1);
/// Range of `[[route]] upstream_idle_timeout`.
pub const UPSTREAM_IDLE_TIMEOUT: Bounds<Duration> = Bounds::new(ms(100), secs(10 * MINUTE));

// === [route.verify] ===

/// Range of `[route.verify] tolerance` (its default is the verifier's,
/// [`crate::verify`]'s `DEFAULT_TOLERANCE`).
pub const TOLERANCE: Bounds<Duration> = Bounds::new(secs(1), secs(7 * DAY));

// === [replay] ===

/// `[replay] max_keys`.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
/// Range of `[replay] max_keys`.
pub const MAX_KEYS: Bounds<usize> = Bounds::new(1, 100_000_000);
/// `[replay] reservation_ttl`.
pub const DEFAULT_RESERVATION_TTL: Duration = secs(60);
/// Range of `[replay] reservation_ttl` (and at least every route's
/// `connect_timeout + read_timeout`).
pub const RESERVATION_TTL: Bounds<Duration> = Bounds::new(secs(1), secs(DAY));
/// `[replay] key_prefix`.
pub const DEFAULT_KEY_PREFIX: &str = "hookgate:";
/// `[replay] connect_timeout`.
pub const DEFAULT_REDIS_CONNECT_TIMEOUT: Duration = secs(1);
/// `[replay] command_timeout`.
pub const DEFAULT_REDIS_COMMAND_TIMEOUT: Duration = ms(500);
/// Range of `[replay] connect_timeout` and `command_timeout`.
pub const REDIS_TIMEOUT: Bounds<Duration> = Bounds::new(ms(10), secs(MINUTE));

// === [route.replay] ===

/// `[route.replay] ttl` for schemes without a timestamp.
pub const DEFAULT_REPLAY_TTL: Duration = secs(72 * HOUR);
/// Range of `[route.replay] ttl` (`"0s"` would be replay protection off in disguise).
pub const REPLAY_TTL: Bounds<Duration> = Bounds::new(secs(1), secs(365 * DAY));

// === [queue] ===

/// `[queue] max_bytes`.
pub const DEFAULT_QUEUE_MAX_BYTES: ByteSize = ByteSize(1 << 30);
/// Range of `[queue] max_bytes`.
pub const QUEUE_MAX_BYTES: Bounds<ByteSize> = Bounds::new(ByteSize(1 << 20), ByteSize(1 << 40));
/// `[queue] claim_idle`: a Redis delivery leased by an instance that stopped
/// answering is taken over after this long.
pub const DEFAULT_CLAIM_IDLE: Duration = secs(MINUTE);
/// Range of `[queue] claim_idle`.
pub const CLAIM_IDLE: Bounds<Duration> = Bounds::new(secs(1), secs(HOUR));

// === [route.delivery] ===

/// `[route.delivery] ack_status`.
pub const DEFAULT_ACK_STATUS: http::StatusCode = http::StatusCode::ACCEPTED;
/// `[route.delivery] backoff_initial`.
pub const DEFAULT_BACKOFF_INITIAL: Duration = secs(1);
/// `[route.delivery] backoff_max`.
pub const DEFAULT_BACKOFF_MAX: Duration = secs(10 * MINUTE);
/// Range of `backoff_initial` and `backoff_max` (and `backoff_max` ≥ `backoff_initial`).
pub const BACKOFF: Bounds<Duration> = Bounds::new(ms(10), secs(DAY));
/// `[route.delivery] max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;
/// Range of `[route.delivery] max_attempts`.
pub const MAX_ATTEMPTS: Bounds<u32> = Bounds::new(1, 1_000);
/// `[route.delivery] max_age`.
pub const DEFAULT_MAX_AGE: Duration = secs(72 * HOUR);
/// Range of `[route.delivery] max_age`.
pub const MAX_AGE: Bounds<Duration> = Bounds::new(secs(1), secs(30 * DAY));
/// `[route.delivery] concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Range of `[route.delivery] concurrency`.
pub const CONCURRENCY: Bounds<usize> = Bounds::new(1, 256);
