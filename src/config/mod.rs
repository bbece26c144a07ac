//! Configuration pipeline:
//!
//! ```text
//! hookgate.toml --toml+serde--> file::FileConfig --validate--> runtime::Config
//! ```
//!
//! Parsing is strict (unknown keys are errors) and validation collects every
//! problem with its file, key path and line before failing, so ops fix a bad
//! file in one pass. Nothing downstream ever sees an unvalidated value.

pub mod error;
pub mod file;
pub mod runtime;
pub mod units;

pub use error::{ConfigError, ConfigErrors};
pub use runtime::{Config, Limits, Listener, Route, ServerSettings, Upstream};

use crate::allowlist::{IpList, IpPolicy, TrustedProxies};
use error::Collector;
use file::{FileConfig, FileRoute};
use pingora::lb::LoadBalancer;
use std::collections::HashSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;

/// Default per-route body limit.
pub const DEFAULT_MAX_BODY: u64 = 1 << 20;
/// Default `[limits] max_buffered_bytes`.
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 256 << 20;
/// Default `[[listener]] max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default `[[route]] upstream_idle_timeout`.
pub const DEFAULT_UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Read, parse and validate a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            key: String::new(),
            message: format!("cannot read file: {e}"),
            line: None,
        }])
    })?;
    parse(path, &src)
}

/// Parse and validate config text; `path` is used for messages and relative paths.
pub fn parse(path: &Path, src: &str) -> Result<Config, ConfigErrors> {
    let file: FileConfig = toml::from_str(src)
        .map_err(|e| ConfigErrors(vec![error::from_toml_error(path, src, &e)]))?;
    validate(path, src, file)
}

fn span<T>(s: &Spanned<T>) -> Option<std::ops::Range<usize>> {
    Some(s.span())
}

fn validate(path: &Path, src: &str, f: FileConfig) -> Result<Config, ConfigErrors> {
    let mut c = Collector::new(path, src);
    // Relative `file:` references resolve against the config file's directory.
    let base_dir = path.parent().unwrap_or(Path::new("."));

    let admin_listen = match &f.admin {
        None => {
            c.push(
                "admin",
                "missing [admin] table with `listen = \"127.0.0.1:9901\"`",
                None,
            );
            None
        }
        Some(a) => parse_socket(&mut c, "admin.listen", &a.listen),
    };

    let limits = Limits {
        max_header_bytes: spanned_or(&f.limits.max_header_bytes, 64 << 10, |b| b.0 as usize),
        max_headers: spanned_or(&f.limits.max_headers, 100, |n| *n),
        header_timeout: spanned_or(&f.limits.header_timeout, Duration::from_secs(10), |d| d.0),
        request_timeout: spanned_or(&f.limits.request_timeout, Duration::from_secs(30), |d| d.0),
        read_timeout: spanned_or(&f.limits.read_timeout, Duration::from_secs(10), |d| d.0),
        max_buffered_bytes: spanned_or(
            &f.limits.max_buffered_bytes,
            DEFAULT_MAX_BUFFERED_BYTES,
            |b| b.0,
        ),
    };
    for (key, zero, s) in [
        (
            "limits.header_timeout",
            limits.header_timeout.is_zero(),
            f.limits.header_timeout.as_ref().map(|s| s.span()),
        ),
        (
            "limits.request_timeout",
            limits.request_timeout.is_zero(),
            f.limits.request_timeout.as_ref().map(|s| s.span()),
        ),
        (
            "limits.read_timeout",
            limits.read_timeout.is_zero(),
            f.limits.read_timeout.as_ref().map(|s| s.span()),
        ),
        (
            "limits.max_headers",
            limits.max_headers == 0,
            f.limits.max_headers.as_ref().map(|s| s.span()),
        ),
        (
            "limits.max_header_bytes",
            limits.max_header_bytes == 0,
            f.limits.max_header_bytes.as_ref().map(|s| s.span()),
        ),
    ] {
        if zero {
            c.push(key, "must be greater than zero", s);
        }
    }
    let default_body = spanned_or(&f.limits.max_body_bytes, DEFAULT_MAX_BODY, |b| b.0);

    let server = ServerSettings {
        threads: f.server.threads.unwrap_or(1).max(1),
        shutdown_timeout: f
            .server
            .shutdown_timeout
            .map_or(Duration::from_secs(30), |d| d.0),
        trust_request_id: f.server.trust_request_id.unwrap_or(false),
        pid_file: f
            .server
            .pid_file
            .clone()
            .unwrap_or_else(|| "/tmp/hookgate.pid".into()),
        upgrade_sock: f
            .server
            .upgrade_sock
            .clone()
            .unwrap_or_else(|| "/tmp/hookgate_upgrade.sock".into()),
    };

    if f.listeners.is_empty() {
        c.push("listener", "at least one [[listener]] is required", None);
    }
    let mut listeners = Vec::new();
    let mut names = HashSet::new();
    for l in &f.listeners {
        let key = format!("listener {:?}", l.name.get_ref());
        if !names.insert(l.name.get_ref().clone()) {
            c.push(&key, "duplicate listener name", span(&l.name));
        }
        let tls = match l.tls.as_ref().map(|t| t.validate(base_dir)).transpose() {
            Ok(t) => t,
            Err((k, m)) => {
                c.push(format!("{key}.{k}"), m, span(&l.name));
                None
            }
        };
        let lists = |what: &str, v: &[String], c: &mut Collector| {
            IpList::parse(v, base_dir)
                .map_err(|m| c.push(format!("{key}.{what}"), m, span(&l.name)))
                .ok()
        };
        let trusted = lists("trusted_proxies", &l.trusted_proxies, &mut c);
        let allow = lists("allow_ips", &l.allow_ips, &mut c);
        let deny = lists("deny_ips", &l.deny_ips, &mut c);
        if l.proxy_protocol && l.trusted_proxies.is_empty() {
            c.push(
                format!("{key}.proxy_protocol"),
                "needs trusted_proxies: the load balancers allowed to send the header (anyone else could claim any address)",
                span(&l.name),
            );
        }
        if let (Some(addr), Some(trusted), Some(allow), Some(deny)) = (
            parse_socket(&mut c, &format!("{key}.listen"), &l.listen),
            trusted,
            allow,
            deny,
        ) {
            listeners.push(Listener {
                name: l.name.get_ref().clone(),
                addr,
                tls,
                trusted_proxies: TrustedProxies(trusted),
                ip: IpPolicy { allow, deny },
                proxy_protocol: l.proxy_protocol,
                max_connections: spanned_or(&l.max_connections, DEFAULT_MAX_CONNECTIONS, |n| *n),
            });
        }
    }

    if f.routes.is_empty() {
        c.push("route", "at least one [[route]] is required", None);
    }
    let mut routes = Vec::new();
    let mut names = HashSet::new();
    for r in &f.routes {
        if !names.insert(r.name.get_ref().clone()) {
            c.push(
                format!("route {:?}", r.name.get_ref()),
                "duplicate route name",
                span(&r.name),
            );
        }
        if let Some(route) = validate_route(&mut c, r, default_body, base_dir) {
            routes.push(Arc::new(route));
        }
    }

    let replay = match f.replay.validate() {
        Ok(r) => Some(r),
        Err((k, m)) => {
            c.push(k, m, None);
            None
        }
    };
    let queue = crate::queue::FileQueue::validate(
        f.queue.as_ref(),
        f.routes
            .iter()
            .any(|r| r.delivery.mode == crate::queue::config::ModeName::Queue),
        base_dir,
    )
    .map_err(|(k, m)| c.push(k, m, None))
    .unwrap_or(None);
    let cfg = admin_listen
        .zip(replay)
        .map(|(admin_listen, replay)| Config {
            source: path.to_path_buf(),
            source_text: src.to_string(),
            admin_listen,
            server,
            limits,
            listeners,
            routes,
            replay,
            queue,
        });
    match (c.finish(()), cfg) {
        (Ok(()), Some(cfg)) => Ok(cfg),
        (Err(e), _) => Err(e),
        // Unreachable in practice: a missing admin table always records an error.
        (Ok(()), None) => Err(ConfigErrors(vec![])),
    }
}

fn spanned_or<T, U>(v: &Option<Spanned<T>>, default: U, f: impl Fn(&T) -> U) -> U {
    v.as_ref().map_or(default, |s| f(s.get_ref()))
}

fn parse_socket(c: &mut Collector, key: &str, v: &Spanned<String>) -> Option<SocketAddr> {
    match v.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            c.push(
                key,
                format!("invalid listen address {:?}: expected ip:port such as \"127.0.0.1:8080\" or \"[::]:8080\"", v.get_ref()),
                span(v),
            );
            None
        }
    }
}

fn validate_route(
    c: &mut Collector,
    r: &FileRoute,
    default_body: u64,
    base_dir: &Path,
) -> Option<Route> {
    let name = r.name.get_ref();
    let key = format!("route {name:?}");
    let mut ok = true;
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        c.push(
            format!("{key}.name"),
            "route names use letters, digits, '-', '_' and '.' only",
            span(&r.name),
        );
        ok = false;
    }
    let prefix = r.path_prefix.get_ref();
    if !prefix.starts_with('/') {
        c.push(
            format!("{key}.path_prefix"),
            format!("path prefix {prefix:?} must start with '/'"),
            span(&r.path_prefix),
        );
        ok = false;
    }
    let host = r.host.as_ref().map(|h| h.get_ref().to_ascii_lowercase());
    if let Some(h) = &r.host {
        if h.get_ref().is_empty() || h.get_ref().contains('/') || h.get_ref().contains(':') {
            c.push(
                format!("{key}.host"),
                format!(
                    "invalid host {:?}: give a bare host name without port",
                    h.get_ref()
                ),
                span(h),
            );
            ok = false;
        }
    }
    let max_body_bytes = r
        .max_body_bytes
        .as_ref()
        .map_or(default_body, |b| b.get_ref().0);
    if max_body_bytes == 0 {
        c.push(
            format!("{key}.max_body_bytes"),
            "must be greater than zero",
            r.max_body_bytes.as_ref().map(|s| s.span()),
        );
        ok = false;
    }

    if r.upstreams.get_ref().is_empty() {
        c.push(
            format!("{key}.upstreams"),
            "at least one upstream is required",
            span(&r.upstreams),
        );
        ok = false;
    }
    let mut addrs = Vec::new();
    let mut schemes = HashSet::new();
    let mut https_host = None;
    for u in r.upstreams.get_ref() {
        match parse_upstream(u.get_ref()) {
            Ok(p) => {
                addrs.extend(p.addrs);
                schemes.insert(p.https_host.is_some());
                https_host = https_host.or(p.https_host);
            }
            Err(msg) => {
                c.push(format!("{key}.upstreams"), msg, span(u));
                ok = false;
            }
        }
    }
    if schemes.len() > 1 {
        c.push(
            format!("{key}.upstreams"),
            "mixes https:// and plain upstreams: use one kind per route",
            span(&r.upstreams),
        );
        ok = false;
    }
    let upstream_tls = match (&https_host, &r.upstream_tls) {
        (Some(host), t) => match t.clone().unwrap_or_default().load(host, base_dir) {
            Ok(t) => Some(t),
            Err(e) => {
                c.push(format!("{key}.upstream_tls"), e.to_string(), span(&r.name));
                ok = false;
                None
            }
        },
        (None, Some(_)) => {
            c.push(
                format!("{key}.upstream_tls"),
                "only for https:// upstreams",
                span(&r.name),
            );
            ok = false;
            None
        }
        (None, None) => None,
    };
    let verifier = match &r.verify {
        None => None,
        Some(v) => match crate::verify::Verifier::from_file(v, base_dir) {
            Ok(v) => Some(v),
            Err(e) => {
                // Point at the offending secret when the error is about one.
                let at = e
                    .key
                    .strip_prefix("verify.secrets[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| v.secrets.get(i))
                    .map_or_else(|| v.scheme.span(), |s| s.span());
                c.push(format!("{key}.{}", e.key), e.message, Some(at));
                ok = false;
                None
            }
        },
    };
    let client_cert = match r.client_cert.as_ref().map(|cc| cc.validate()).transpose() {
        Ok(p) => p,
        Err((k, m)) => {
            c.push(format!("{key}.{k}"), m, span(&r.name));
            ok = false;
            None
        }
    };
    let mut ip = IpPolicy::default();
    for (what, list, slot) in [
        ("allow_ips", &r.allow_ips, &mut ip.allow),
        ("deny_ips", &r.deny_ips, &mut ip.deny),
    ] {
        match IpList::parse(list, base_dir) {
            Ok(l) => *slot = l,
            Err(m) => {
                c.push(format!("{key}.{what}"), m, span(&r.name));
                ok = false;
            }
        }
    }
    let allow_unauthenticated = r.allow_unauthenticated.unwrap_or(false);
    let cert_auth = client_cert
        .as_ref()
        .is_some_and(|p| p.requires_certificate());
    if r.verify.is_none() && !cert_auth && !allow_unauthenticated {
        c.push(
            key.clone(),
            "no authentication: add a [route.verify] table or a required client_cert, or allow_unauthenticated = true to forward anything",
            span(&r.name),
        );
        ok = false;
    }
    let replay = match r.replay.validate(
        verifier.as_ref().and_then(|v| v.signed_replay_header()),
        verifier.as_ref().and_then(|v| v.tolerance()),
        verifier.is_some(),
    ) {
        Ok(p) => p,
        Err((k, m)) => {
            c.push(format!("{key}.{k}"), m, span(&r.name));
            ok = false;
            None
        }
    };
    let delivery = r
        .delivery
        .validate(verifier.as_ref().map(|v| v.scheme_name()))
        .map_err(|(k, m)| c.push(format!("{key}.{k}"), m, span(&r.name)))
        .unwrap_or_default();
    if !ok {
        return None;
    }
    let count = addrs.len();
    let lb = match LoadBalancer::try_from_iter(addrs) {
        Ok(lb) => lb,
        Err(e) => {
            c.push(
                format!("{key}.upstreams"),
                format!("cannot build load balancer: {e}"),
                span(&r.upstreams),
            );
            return None;
        }
    };
    Some(Route {
        name: name.clone(),
        host,
        path_prefix: prefix.clone(),
        upstream: Upstream {
            lb,
            display: r
                .upstreams
                .get_ref()
                .iter()
                .map(|u| u.get_ref().clone())
                .collect(),
            count,
            connect_timeout: r.connect_timeout.map_or(Duration::from_secs(5), |d| d.0),
            read_timeout: r.read_timeout.map_or(Duration::from_secs(30), |d| d.0),
            idle_timeout: r
                .upstream_idle_timeout
                .map_or(DEFAULT_UPSTREAM_IDLE_TIMEOUT, |d| d.0),
            tls: upstream_tls,
        },
        max_body_bytes,
        verifier,
        allow_unauthenticated,
        ip,
        client_cert,
        replay,
        delivery,
    })
}

/// A parsed upstream: its addresses, and its host when it is `https://`.
struct ParsedUpstream {
    addrs: Vec<SocketAddr>,
    https_host: Option<String>,
}

/// `host:port`, `http://host:port[/]` or `https://host:port[/]` → resolved socket addresses.
fn parse_upstream(raw: &str) -> Result<ParsedUpstream, String> {
    let (hostport, https) = if let Some(rest) = raw.strip_prefix("http://") {
        (rest.strip_suffix('/').unwrap_or(rest), false)
    } else if let Some(rest) = raw.strip_prefix("https://") {
        (rest.strip_suffix('/').unwrap_or(rest), true)
    } else if raw.contains("://") {
        return Err(format!(
            "invalid address {raw:?}: only http://, https:// or host:port are accepted"
        ));
    } else {
        (raw, false)
    };
    if hostport.contains('/') {
        return Err(format!(
            "invalid address {raw:?}: an upstream is host:port; paths are forwarded unchanged"
        ));
    }
    let split = hostport
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let Some((host, _)) = split else {
        return Err(format!(
            "invalid address {raw:?}: expected host:port, e.g. \"127.0.0.1:3000\""
        ));
    };
    let addrs: Vec<SocketAddr> = hostport
        .to_socket_addrs()
        .map_err(|e| format!("invalid address {raw:?}: cannot resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("invalid address {raw:?}: resolves to no address"));
    }
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok(ParsedUpstream {
        addrs,
        https_host: https.then_some(host),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[admin]
listen = "127.0.0.1:9901"

[[listener]]
name = "public"
listen = "127.0.0.1:8080"

[[route]]
name = "github"
path_prefix = "/hooks/github"
upstreams = ["127.0.0.1:3000", "http://127.0.0.1:3001"]
max_body_bytes = "5MiB"
allow_unauthenticated = true
"#;

    fn errs(src: &str) -> Vec<String> {
        match parse(Path::new("conf/x.toml"), src) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn base_parses() {
        let cfg = parse(Path::new("x.toml"), BASE).unwrap();
        assert_eq!(cfg.routes.len(), 1);
        assert_eq!(cfg.routes[0].max_body_bytes, 5 << 20);
        assert_eq!(cfg.routes[0].upstream.count, 2);
        assert_eq!(cfg.limits.max_headers, 100);
    }

    #[test]
    fn invalid_upstream_names_file_key_and_line() {
        let src = BASE.replace("\"127.0.0.1:3000\", ", "\"localhost\", ");
        let e = errs(&src);
        assert_eq!(
            e,
            vec!["conf/x.toml: route \"github\".upstreams: invalid address \"localhost\": expected host:port, e.g. \"127.0.0.1:3000\" (line 12)"]
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let src = BASE.replace("max_body_bytes", "upstream = 1\nmax_body_bytes");
        let e = errs(&src);
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("conf/x.toml: route \"github\".upstream: unknown field `upstream`"),
            "{}",
            e[0]
        );
        assert!(e[0].ends_with("(line 13)"), "{}", e[0]);
    }

    #[test]
    fn unauthenticated_route_is_an_error_unless_allowed() {
        let e = errs(&BASE.replace("allow_unauthenticated = true\n", ""));
        assert_eq!(e, vec!["conf/x.toml: route \"github\": no authentication: add a [route.verify] table or a required client_cert, or allow_unauthenticated = true to forward anything (line 10)"]);
    }

    #[test]
    fn verify_errors_carry_route_key_and_line() {
        let src = BASE.replace(
            "allow_unauthenticated = true\n",
            "[route.verify]\nscheme = \"github\"\nsecrets = [\"env:HOOKGATE_UNSET_FOR_TEST\"]\n",
        );
        let e = errs(&src);
        assert_eq!(e, vec!["conf/x.toml: route \"github\".verify.secrets[0]: environment variable HOOKGATE_UNSET_FOR_TEST is not set (line 16)"]);
    }

    #[test]
    fn all_errors_are_reported() {
        let src = BASE
            .replace("/hooks/github", "hooks")
            .replace("127.0.0.1:8080", "nowhere");
        let e = errs(&src);
        assert_eq!(e.len(), 2, "{e:?}");
    }

    #[test]
    fn proxy_protocol_needs_trusted_proxies() {
        let src = BASE.replace(
            "listen = \"127.0.0.1:8080\"\n",
            "listen = \"127.0.0.1:8080\"\nproxy_protocol = true\n",
        );
        assert_eq!(
            errs(&src),
            vec!["conf/x.toml: listener \"public\".proxy_protocol: needs trusted_proxies: the load balancers allowed to send the header (anyone else could claim any address) (line 6)"]
        );
        let ok = parse(
            Path::new("x.toml"),
            &src.replace(
                "proxy_protocol = true\n",
                "proxy_protocol = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
            ),
        )
        .unwrap();
        assert!(ok.listeners[0].proxy_protocol);
    }

    #[test]
    fn empty_upstream_sni_is_refused() {
        let src = BASE
            .replace(
                "[\"127.0.0.1:3000\", \"http://127.0.0.1:3001\"]",
                "[\"https://10.0.0.5:8443\"]",
            )
            .replace(
                "allow_unauthenticated = true\n",
                "allow_unauthenticated = true\nupstream_tls = { sni = \"\" }\n",
            );
        let e = errs(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("route \"github\".upstream_tls")
                && e[0].contains("would switch off certificate verification"),
            "{}",
            e[0]
        );
        // Without sni the upstream's host (an IP here) is sent and checked.
        let ok = parse(
            Path::new("x.toml"),
            &src.replace("upstream_tls = { sni = \"\" }\n", ""),
        )
        .unwrap();
        let tls = ok.routes[0].upstream.tls.as_ref().unwrap();
        assert_eq!(tls.sni, "10.0.0.5");
    }

    #[test]
    fn bad_size_is_reported() {
        let e = errs(&BASE.replace("5MiB", "5 parsecs"));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("conf/x.toml: route \"github\".max_body_bytes: invalid size")
                && e[0].ends_with("(line 13)"),
            "{}",
            e[0]
        );
    }
}
