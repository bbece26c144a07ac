//! The TOML file as written by ops: `File*` serde types, nothing validated yet.
//!
//! Every struct denies unknown keys so a typo (`upstream` for `upstreams`) is
//! an error at load, not a silently ignored setting. Closed sets (`store`,
//! `client_auth`, `on_duplicate`, replay `key`) are enums, so a wrong word is
//! a parse error naming the choices. Fields validated later are wrapped in
//! [`Spanned`] so the error can point at their line. Defaults live in
//! [`super::defaults`], not here: absent is `None`.

use super::units::{ByteSize, Dur};
use crate::logging::LogFormat;
use crate::replay::OnDuplicate;
use crate::tls::ClientAuth;
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[admin]`: the operator-only listener for metrics, health, config and reload.
    pub admin: Option<FileAdmin>,
    /// `[server]`: process-wide settings.
    #[serde(default)]
    pub server: FileServer,
    /// `[limits]`: defaults that bound what a client can make hookgate hold.
    #[serde(default)]
    pub limits: FileLimits,
    /// `[replay]`: the replay store shared by all routes.
    #[serde(default)]
    pub replay: FileReplay,
    /// `[log]`: how log lines are written.
    #[serde(default)]
    pub log: FileLog,
    /// `[queue]`: the durable-delivery store shared by queue-mode routes.
    pub queue: Option<Spanned<FileQueue>>,
    /// `[[listener]]` tables.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<FileListener>,
    /// `[[route]]` tables, matched in file order.
    #[serde(default, rename = "route")]
    pub routes: Vec<FileRoute>,
}

/// `[admin]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdmin {
    /// Address for `/metrics`, `/healthz`, `/readyz`, `/config`, `/reload`.
    pub listen: Spanned<String>,
    /// `env:NAME` or `file:path`: bearer token required for `/config` and `/reload`.
    pub token: Option<Spanned<String>>,
    /// Require the token for `/metrics` too (default false).
    pub protect_metrics: Option<Spanned<bool>>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    /// Worker threads per service (pingora runs one runtime per service).
    pub threads: Option<Spanned<usize>>,
    /// After SIGTERM, stop accepting and wait at most this long for in-flight requests.
    pub shutdown_timeout: Option<Spanned<Dur>>,
    /// Keep an incoming `X-Request-Id` (when well-formed) instead of generating one.
    pub trust_request_id: Option<bool>,
    /// Where pingora writes its pid file (used by the zero-downtime upgrade).
    pub pid_file: Option<String>,
    /// Unix socket through which listening sockets are handed to a new binary on upgrade.
    pub upgrade_sock: Option<String>,
}

/// `[log]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLog {
    /// `auto` (text on a terminal, JSON otherwise), `json` or `text`.
    pub format: Option<LogFormat>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Default body limit for routes that do not set their own.
    pub max_body_bytes: Option<Spanned<ByteSize>>,
    /// Largest total size of request headers (names + values) accepted.
    pub max_header_bytes: Option<Spanned<ByteSize>>,
    /// Most request headers accepted.
    pub max_headers: Option<Spanned<usize>>,
    /// Deadline for a complete request header, counted from accept or from the
    /// previous response on a keep-alive connection.
    pub header_timeout: Option<Spanned<Dur>>,
    /// Deadline for receiving the whole request body.
    pub request_timeout: Option<Spanned<Dur>>,
    /// Longest pause between two reads from the client.
    pub read_timeout: Option<Spanned<Dur>>,
    /// How long a request that failed authentication waits for its answer.
    pub auth_failure_delay: Option<Spanned<Dur>>,
    /// Most request-body bytes held in memory across all requests at once:
    /// what an unauthenticated sender can make hookgate hold.
    pub max_buffered_bytes: Option<Spanned<ByteSize>>,
}

/// `[replay] store`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStore {
    /// In-process (default).
    #[default]
    Memory,
    /// Shared Redis.
    Redis,
}

/// `[replay]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReplay {
    /// `memory` (default) or `redis`.
    pub store: Option<Spanned<FileStore>>,
    /// Memory store: most keys held. Full = refuse, never forget.
    pub max_keys: Option<Spanned<usize>>,
    /// How long a reservation lives if its request never finishes.
    pub reservation_ttl: Option<Spanned<Dur>>,
    /// Memory store: snapshot file so a restart does not reopen the replay window.
    pub persist_path: Option<Spanned<String>>,
    /// Redis: `redis://host:port/db` (or `rediss://`).
    pub redis_url: Option<Spanned<String>>,
    /// Redis: prefix for every key.
    pub key_prefix: Option<Spanned<String>>,
    /// Redis: connect timeout.
    pub connect_timeout: Option<Spanned<Dur>>,
    /// Redis: per-command timeout.
    pub command_timeout: Option<Spanned<Dur>>,
    /// Forward without replay protection when the store is unreachable (default false: 503).
    pub fail_open: Option<bool>,
}

/// `[[listener]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileListener {
    /// A name for logs and metrics.
    pub name: Spanned<String>,
    /// `ip:port` to bind, e.g. `0.0.0.0:8080` or `[::]:8080`.
    pub listen: Spanned<String>,
    /// TLS termination (and mutual TLS) for this listener.
    pub tls: Option<Spanned<FileTls>>,
    /// Peers whose `X-Forwarded-For` is believed (load balancers in front of hookgate).
    #[serde(default)]
    pub trusted_proxies: Vec<Spanned<String>>,
    /// Client networks accepted on this listener (CIDR, address or `file:path`); empty = all.
    #[serde(default)]
    pub allow_ips: Vec<Spanned<String>>,
    /// Client networks refused on this listener.
    #[serde(default)]
    pub deny_ips: Vec<Spanned<String>>,
    /// Every connection starts with a PROXY protocol (v1 or v2) header from
    /// one of `trusted_proxies`.
    pub proxy_protocol: Option<Spanned<bool>>,
    /// Most open client connections on this listener; past it new
    /// connections are closed at once and counted.
    pub max_connections: Option<Spanned<usize>>,
}

/// `tls = { ... }` on a listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    /// PEM certificate chain (leaf first).
    pub cert: Spanned<String>,
    /// PEM private key.
    pub key: Spanned<String>,
    /// PEM bundle of CAs trusted for client certificates.
    pub client_ca: Option<Spanned<String>>,
    /// `off` (default), `optional` or `required`.
    pub client_auth: Option<Spanned<ClientAuth>>,
    /// PEM or DER certificate revocation lists for client certificates.
    #[serde(default)]
    pub crls: Vec<Spanned<String>>,
}

/// `[[route]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRoute {
    /// Unique name; the metric label and the `route` field of the access log.
    pub name: Spanned<String>,
    /// Path prefix to match, segment-aware (`/hooks/a` matches `/hooks/a` and `/hooks/a/x`, not `/hooks/ab`).
    pub path_prefix: Spanned<String>,
    /// Optional `Host` to match (case-insensitive, port ignored).
    pub host: Option<Spanned<String>>,
    /// One or more `host:port`, `http://host:port` or `https://host:port` upstreams, used round-robin.
    pub upstreams: Spanned<Vec<Spanned<String>>>,
    /// TLS to `https://` upstreams: CA bundle, client certificate, SNI.
    pub upstream_tls: Option<Spanned<FileUpstreamTls>>,
    /// Upstream TCP connect timeout.
    pub connect_timeout: Option<Spanned<Dur>>,
    /// Upstream read timeout: longest wait for the response or between its reads.
    pub read_timeout: Option<Spanned<Dur>>,
    /// How long an idle upstream connection stays pooled for reuse: below
    /// the keep-alive timeouts of common upstreams (gunicorn 2s, Node 5s).
    pub upstream_idle_timeout: Option<Spanned<Dur>>,
    /// Body limit for this route (default from `[limits]`).
    pub max_body_bytes: Option<Spanned<ByteSize>>,
    /// Client networks accepted on this route (CIDR, address or `file:path`); empty = all.
    #[serde(default)]
    pub allow_ips: Vec<Spanned<String>>,
    /// Client networks refused on this route.
    #[serde(default)]
    pub deny_ips: Vec<Spanned<String>>,
    /// Client-certificate requirements (needs a listener with `client_auth`).
    pub client_cert: Option<Spanned<FileClientCert>>,
    /// Accept requests with no authentication at all. Without it, a route
    /// lacking `[route.verify]` is a config error: secure by default.
    pub allow_unauthenticated: Option<bool>,
    /// `[route.verify]`: the provider's signature scheme and secrets.
    pub verify: Option<crate::verify::FileVerify>,
    /// `[route.replay]`: how deliveries are identified and remembered.
    #[serde(default)]
    pub replay: FileRouteReplay,
    /// `[route.delivery]`: forward while the sender waits (default) or queue durably.
    #[serde(default)]
    pub delivery: FileRouteDelivery,
}

/// `upstream_tls = { ... }` on a route with `https://` upstreams.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstreamTls {
    /// PEM bundle of CAs trusted for the upstream (default: the system store).
    pub ca: Option<String>,
    /// Client certificate chain for mutual TLS to the upstream.
    pub client_cert: Option<String>,
    /// Its private key.
    pub client_key: Option<String>,
    /// Server name sent and verified (default: the upstream's host).
    pub sni: Option<String>,
}

/// `client_cert = { ... }` on a route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileClientCert {
    /// A verified client certificate is needed (403 `client_certificate_required`).
    #[serde(default)]
    pub required: bool,
    /// Allowed SAN DNS names.
    #[serde(default)]
    pub san_dns: Vec<String>,
    /// Allowed SAN URIs (e.g. SPIFFE IDs).
    #[serde(default)]
    pub san_uri: Vec<String>,
    /// Allowed subject common names.
    #[serde(default)]
    pub cn: Vec<String>,
    /// Allowed SHA-256 fingerprints (hex, colons and case ignored).
    #[serde(default)]
    pub sha256: Vec<String>,
    /// Header carrying the verified identity upstream; incoming copies are removed.
    pub forward_header: Option<String>,
}

/// `[route.replay]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRouteReplay {
    /// `header:NAME`, `signature` (digest of the verified signature) or `none`.
    pub key: Option<Spanned<FileReplayKey>>,
    /// How long a delivered key is remembered.
    pub ttl: Option<Spanned<Dur>>,
    /// `ack` (default: 200 `{"status":"duplicate"}`) or `reject` (409 `replay_detected`).
    pub on_duplicate: Option<Spanned<OnDuplicate>>,
}

/// `[route.replay] key`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum FileReplayKey {
    /// `none`: no replay protection on this route.
    None,
    /// `signature`: SHA-256 of the verified signature.
    Signature,
    /// `header:NAME`: a header's value.
    Header(http::HeaderName),
}

impl TryFrom<String> for FileReplayKey {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "none" => Ok(FileReplayKey::None),
            "signature" => Ok(FileReplayKey::Signature),
            _ => match s.strip_prefix("header:") {
                Some(h) => http::HeaderName::from_bytes(h.as_bytes())
                    .map(FileReplayKey::Header)
                    .map_err(|_| format!("{s:?}: invalid header name")),
                None => Err(format!(
                    "{s:?}: use \"header:NAME\", \"signature\" or \"none\""
                )),
            },
        }
    }
}

/// `[queue] store`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileQueueStore {
    /// One redb file under `path` (default), for one instance.
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
    pub store: Option<Spanned<FileQueueStore>>,
    /// Embedded: the queue file (required), relative to the config file.
    pub path: Option<Spanned<String>>,
    /// Most bytes of queued deliveries; past it senders get 503 `queue_full`.
    pub max_bytes: Option<Spanned<ByteSize>>,
    /// Redis: `redis://host:port/db` (or `rediss://`).
    pub redis_url: Option<Spanned<String>>,
    /// Redis: take over a delivery another instance leased and left idle this long.
    pub claim_idle: Option<Spanned<Dur>>,
    /// Redis: accept a Redis without `appendonly yes` (acknowledged
    /// deliveries are lost if it restarts).
    pub allow_volatile: Option<Spanned<bool>>,
}

/// `[route.delivery] mode`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileDeliveryMode {
    /// Forward while the sender waits (default).
    #[default]
    Direct,
    /// Acknowledge once durably queued, deliver later.
    Queue,
}

/// `[route.delivery]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRouteDelivery {
    /// `direct` (default) or `queue`.
    pub mode: Option<Spanned<FileDeliveryMode>>,
    /// Status answered once queued (any 2xx).
    pub ack_status: Option<Spanned<u16>>,
    /// First retry delay, before jitter.
    pub backoff_initial: Option<Spanned<Dur>>,
    /// Longest retry delay; also caps an upstream's `Retry-After`.
    pub backoff_max: Option<Spanned<Dur>>,
    /// Attempts before a dead letter.
    pub max_attempts: Option<Spanned<u32>>,
    /// Age after which a failing delivery becomes a dead letter.
    pub max_age: Option<Spanned<Dur>>,
    /// Concurrent deliveries per instance.
    pub concurrency: Option<Spanned<usize>>,
}

impl FileRouteDelivery {
    /// Does this route queue?
    pub fn queues(&self) -> bool {
        self.mode
            .as_ref()
            .is_some_and(|m| *m.get_ref() == FileDeliveryMode::Queue)
    }
}
