//! Validated runtime configuration. No serde here: every value was checked at
//! load, so the request path never parses a string from the file again.

use pingora::lb::selection::RoundRobin;
use pingora::lb::LoadBalancer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything hookgate needs to serve, built once per (re)load.
pub struct Config {
    /// The file this was loaded from (for reload and messages).
    pub source: PathBuf,
    /// The text it was loaded from, for `/config` (served redacted).
    pub source_text: String,
    /// The admin listener and its access control.
    pub admin: AdminSettings,
    /// Process settings.
    pub server: ServerSettings,
    /// Request bounds.
    pub limits: Limits,
    /// Public listeners.
    pub listeners: Vec<Listener>,
    /// Routes in match order.
    pub routes: Vec<Arc<Route>>,
    /// The replay store settings.
    pub replay: crate::replay::ReplaySettings,
    /// The durable-delivery store, when the file has a `[queue]` table.
    pub queue: Option<crate::queue::QueueSettings>,
    /// `[log]`.
    pub log: LogSettings,
}

/// `[log]`: how log lines are written (read at start-up; a reload that
/// changes it takes effect after a restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Text, JSON, or chosen by whether stdout is a terminal.
    pub format: crate::logging::LogFormat,
}

/// `[admin]`: where the operator endpoints listen and who may use them.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// Admin listener address.
    pub listen: SocketAddr,
    /// Bearer token required for `/config` and `/reload` (and `/metrics` when
    /// `protect_metrics`); `None`: open to whoever reaches the address.
    pub token: Option<crate::secret::Secret>,
    /// `/metrics` needs the token too.
    pub protect_metrics: bool,
}

/// Process-wide settings from `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Worker threads per service.
    pub threads: usize,
    /// Wait at most this long for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Keep well-formed incoming `X-Request-Id` values.
    pub trust_request_id: bool,
    /// pingora pid file.
    pub pid_file: String,
    /// pingora upgrade socket.
    pub upgrade_sock: String,
}

/// Bounds on what one request may make hookgate hold or wait for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total header bytes (names + values).
    pub max_header_bytes: usize,
    /// Number of header fields.
    pub max_headers: usize,
    /// Deadline for a complete request header (also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// Deadline for the whole body.
    pub request_timeout: Duration,
    /// Longest pause between two reads from the client.
    pub read_timeout: Duration,
    /// How long a 401/403 waits before it is sent (see
    /// [`crate::reject::Reason::fails_authentication`]).
    pub auth_failure_delay: Duration,
    /// Most body bytes buffered across all requests at once.
    pub max_buffered_bytes: u64,
}

/// A public listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Name for logs.
    pub name: String,
    /// Bind address.
    pub addr: SocketAddr,
    /// TLS settings with their files loaded (what `check` verified is what is served).
    pub tls: Option<crate::tls::ListenerTls>,
    /// Load balancers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::allowlist::TrustedProxies,
    /// Listener-wide IP policy.
    pub ip: crate::allowlist::IpPolicy,
    /// Connections start with a PROXY protocol header (from a trusted proxy).
    pub proxy_protocol: bool,
    /// Most open client connections.
    pub max_connections: usize,
}

impl Listener {
    /// Does a connection accepted on local address `local` belong to this listener?
    pub fn serves(&self, local: SocketAddr) -> bool {
        self.addr.port() == local.port()
            && (self.addr.ip().is_unspecified() || self.addr.ip() == local.ip())
    }
}

/// One `[[route]]`, compiled.
pub struct Route {
    /// Unique name (metric label).
    pub name: String,
    /// Lower-cased host to match, without port.
    pub host: Option<String>,
    /// Path prefix, matched segment-aware.
    pub path_prefix: String,
    /// Where verified requests go.
    pub upstream: Upstream,
    /// Body limit in bytes.
    pub max_body_bytes: u64,
    /// Signature verification, when configured.
    pub verifier: Option<crate::verify::Verifier>,
    /// Explicitly unauthenticated (`allow_unauthenticated = true`).
    pub allow_unauthenticated: bool,
    /// Route IP policy.
    pub ip: crate::allowlist::IpPolicy,
    /// Client-certificate policy.
    pub client_cert: Option<crate::identity::ClientCertPolicy>,
    /// Replay protection, when the route has a delivery key.
    pub replay: Option<crate::replay::RouteReplay>,
    /// Direct forwarding or durable queueing.
    pub delivery: crate::queue::Delivery,
    /// Its metric series, resolved at load.
    pub metrics: crate::metrics::RouteMetrics,
}

/// A route's upstream pool.
pub struct Upstream {
    /// pingora's round-robin selector over the resolved addresses.
    pub lb: LoadBalancer<RoundRobin>,
    /// The addresses as written, for `check` and logs.
    pub display: Vec<String>,
    /// How many distinct backends there are (bounds connect retries).
    pub count: usize,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Response read timeout.
    pub read_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub idle_timeout: Duration,
    /// TLS to the upstreams (`https://`).
    pub tls: Option<crate::tls::UpstreamTls>,
}

impl Route {
    /// Does this route refuse a request without an acceptable client
    /// certificate (its client-certificate policy authenticates senders)?
    pub fn requires_client_cert(&self) -> bool {
        self.client_cert
            .as_ref()
            .is_some_and(|p| p.requires_certificate())
    }

    /// Does this route take a request for `host` (already lower-cased, port stripped) and `path`?
    pub fn matches(&self, host: Option<&str>, path: &str) -> bool {
        if let Some(want) = &self.host {
            if host != Some(want.as_str()) {
                return false;
            }
        }
        path_matches(&self.path_prefix, path)
    }
}

/// Segment-aware prefix match: `/a/b` matches `/a/b`, `/a/b/`, `/a/b/c`, `/a/b?x`, not `/a/bc`.
pub fn path_matches(prefix: &str, path: &str) -> bool {
    path.as_bytes()
        .strip_prefix(prefix.as_bytes())
        .is_some_and(|rest| ends_segment(prefix, rest))
}

/// [`path_matches`] without regard to ASCII letter case (no allocation: it
/// runs for every request).
fn path_matches_ignoring_case(prefix: &str, path: &str) -> bool {
    let (prefix_b, path_b) = (prefix.as_bytes(), path.as_bytes());
    path_b.len() >= prefix_b.len()
        && path_b[..prefix_b.len()].eq_ignore_ascii_case(prefix_b)
        && ends_segment(prefix, &path_b[prefix_b.len()..])
}

/// Does a match of `prefix` end on a segment boundary, `rest` following it?
fn ends_segment(prefix: &str, rest: &[u8]) -> bool {
    prefix.ends_with('/') || matches!(rest.first(), None | Some(b'/' | b'?'))
}

impl Config {
    /// The listener that accepted a connection on `local`.
    pub fn listener_for(&self, local: Option<SocketAddr>) -> Option<&Listener> {
        local.and_then(|l| self.listeners.iter().find(|x| x.serves(l)))
    }

    /// First route matching host and path, in file order.
    pub fn route_for(&self, host: Option<&str>, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.matches(host, path))
    }

    /// The route an upstream that ignores letter case in paths (Express's
    /// default, ASP.NET, IIS) would pair with `path`: the first whose prefix
    /// matches it case-insensitively.
    pub fn route_ignoring_case(&self, host: Option<&str>, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| {
            r.host.as_deref().is_none_or(|want| host == Some(want))
                && path_matches_ignoring_case(&r.path_prefix, path)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{path_matches, path_matches_ignoring_case};

    #[test]
    fn prefix_is_segment_aware() {
        assert!(path_matches("/hooks/github", "/hooks/github"));
        assert!(path_matches("/hooks/github", "/hooks/github/x"));
        assert!(path_matches("/hooks/github", "/hooks/github?a=1"));
        assert!(!path_matches("/hooks/github", "/hooks/githubx"));
        assert!(path_matches("/", "/anything"));
        assert!(path_matches("/hooks/", "/hooks/x"));
        assert!(!path_matches("/hooks/github", "/hooks"));
    }

    #[test]
    fn case_blind_match_keeps_segment_boundaries() {
        assert!(path_matches_ignoring_case("/hooks/github", "/HOOKS/GitHub"));
        assert!(path_matches_ignoring_case(
            "/hooks/github",
            "/Hooks/github/x?a"
        ));
        assert!(!path_matches_ignoring_case(
            "/hooks/github",
            "/HOOKS/GITHUBX"
        ));
        assert!(!path_matches_ignoring_case("/hooks/github", "/hooks"));
        assert!(path_matches_ignoring_case("/", "/A"));
    }
}
