//! The TOML file as written by ops: `File*` serde types, nothing validated yet.
//!
//! Every struct denies unknown keys so a typo (`upstream` for `upstreams`) is
//! an error at load, not a silently ignored setting. Fields validated later
//! are wrapped in [`Spanned`] so the error can point at their line.

use super::units::{ByteSize, Dur};
use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[admin]`: the operator-only listener for metrics and health.
    pub admin: Option<FileAdmin>,
    /// `[server]`: process-wide settings.
    #[serde(default)]
    pub server: FileServer,
    /// `[limits]`: defaults that bound what a client can make hookgate hold.
    #[serde(default)]
    pub limits: FileLimits,
    /// `[replay]`: the replay store shared by all routes.
    #[serde(default)]
    pub replay: crate::replay::FileReplay,
    /// `[queue]`: the durable-delivery store shared by queue-mode routes.
    pub queue: Option<crate::queue::FileQueue>,
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
    /// Address for `/metrics`, `/healthz`, `/readyz`. Keep it on loopback or a private interface.
    pub listen: Spanned<String>,
}

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    /// Worker threads per service (default 1 per listener; pingora runs one runtime per service).
    pub threads: Option<usize>,
    /// After SIGTERM, stop accepting and wait at most this long for in-flight
    /// requests before exiting (default 30s); exits as soon as none are left.
    pub shutdown_timeout: Option<Dur>,
    /// Keep an incoming `X-Request-Id` (when well-formed) instead of generating one.
    pub trust_request_id: Option<bool>,
    /// Where pingora writes its pid file (used by the zero-downtime upgrade).
    pub pid_file: Option<String>,
    /// Unix socket through which listening sockets are handed to a new binary on upgrade.
    pub upgrade_sock: Option<String>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Default body limit for routes that do not set their own (default 1MiB).
    pub max_body_bytes: Option<Spanned<ByteSize>>,
    /// Largest total size of request headers (names + values) accepted (default 64KiB).
    pub max_header_bytes: Option<Spanned<ByteSize>>,
    /// Most request headers accepted (default 100).
    pub max_headers: Option<Spanned<usize>>,
    /// Deadline for a complete request header, counted from accept or from the
    /// previous response on a keep-alive connection (default 10s).
    pub header_timeout: Option<Spanned<Dur>>,
    /// Deadline for receiving the whole request body (default 30s).
    pub request_timeout: Option<Spanned<Dur>>,
    /// Longest pause between two reads from the client (default 10s).
    pub read_timeout: Option<Spanned<Dur>>,
    /// Most request-body bytes held in memory across all requests at once
    /// (default 256MiB): what an unauthenticated sender can make hookgate hold.
    pub max_buffered_bytes: Option<Spanned<ByteSize>>,
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
    pub tls: Option<crate::tls::FileTls>,
    /// Peers whose `X-Forwarded-For` is believed (load balancers in front of hookgate).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Client networks accepted on this listener (CIDR, address or `file:path`); empty = all.
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Client networks refused on this listener.
    #[serde(default)]
    pub deny_ips: Vec<String>,
    /// Every connection starts with a PROXY protocol (v1 or v2) header from
    /// one of `trusted_proxies`.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Most open client connections on this listener (default 4096); past it
    /// new connections are closed at once and counted.
    pub max_connections: Option<Spanned<usize>>,
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
    pub upstream_tls: Option<crate::tls::FileUpstreamTls>,
    /// Upstream TCP connect timeout (default 5s).
    pub connect_timeout: Option<Dur>,
    /// Upstream read timeout: longest wait for the response or between its reads (default 30s).
    pub read_timeout: Option<Dur>,
    /// How long an idle upstream connection stays pooled for reuse (default 1s):
    /// below the keep-alive timeouts of common upstreams (gunicorn 2s, Node 5s).
    pub upstream_idle_timeout: Option<Dur>,
    /// Body limit for this route (default from `[limits]`).
    pub max_body_bytes: Option<Spanned<ByteSize>>,
    /// Client networks accepted on this route (CIDR, address or `file:path`); empty = all.
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Client networks refused on this route.
    #[serde(default)]
    pub deny_ips: Vec<String>,
    /// Client-certificate requirements (needs a listener with `client_auth`).
    pub client_cert: Option<crate::identity::FileClientCert>,
    /// Accept requests with no authentication at all. Without it, a route
    /// lacking `[route.verify]` is a config error: secure by default.
    pub allow_unauthenticated: Option<bool>,
    /// `[route.verify]`: the provider's signature scheme and secrets.
    pub verify: Option<crate::verify::FileVerify>,
    /// `[route.replay]`: how deliveries are identified and remembered.
    #[serde(default)]
    pub replay: crate::replay::FileRouteReplay,
    /// `[route.delivery]`: forward directly (default) or queue durably.
    #[serde(default)]
    pub delivery: crate::queue::FileRouteDelivery,
}
