//! A route's upstreams: addresses (resolved once, at load), timeouts, TLS.

use super::bounded;
use super::defaults::*;
use super::error::Collector;
use super::file::{FileRoute, FileUpstreamTls};
use super::runtime::Upstream;
use crate::tls::UpstreamTls;
use pingora::lb::LoadBalancer;
use std::collections::HashSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use toml::Spanned;

/// How upstream host names become addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// The system resolver (`/etc/hosts`, DNS), once at load.
    System,
    /// IP literals only; a host name is an error. For fuzzing: no input reaches DNS.
    NumericOnly,
}

/// Validate `upstreams`, the timeouts and `upstream_tls` of route `key`.
pub fn validate(
    c: &mut Collector,
    key: &str,
    r: &FileRoute,
    base_dir: &Path,
    resolve: Resolve,
) -> Option<Upstream> {
    let list = r.upstreams.get_ref();
    if list.is_empty() {
        c.push(
            format!("{key}.upstreams"),
            "at least one upstream is required",
            Some(r.upstreams.span()),
        );
    }
    let mut addrs = Vec::new();
    let mut schemes = HashSet::new();
    let mut https_host = None;
    let mut ok = !list.is_empty();
    for u in list {
        match parse(u.get_ref(), resolve) {
            Ok(p) => {
                addrs.extend(p.addrs);
                schemes.insert(p.https_host.is_some());
                https_host = https_host.or(p.https_host);
            }
            Err(msg) => {
                c.push(format!("{key}.upstreams"), msg, Some(u.span()));
                ok = false;
            }
        }
    }
    if schemes.len() > 1 {
        c.push(
            format!("{key}.upstreams"),
            "mixes https:// and plain upstreams: use one kind per route",
            Some(r.upstreams.span()),
        );
        ok = false;
    }
    let tls = match (&https_host, &r.upstream_tls) {
        (Some(host), t) => tls(c, key, host, t.as_ref(), base_dir).map(Some),
        (None, Some(t)) => {
            c.push(
                format!("{key}.upstream_tls"),
                "only for https:// upstreams",
                Some(t.span()),
            );
            None
        }
        (None, None) => Some(None),
    };
    let dur =
        |c: &mut Collector, field: &str, v: Option<&Spanned<super::units::Dur>>, default, b| {
            bounded(c, &format!("{key}.{field}"), v, |d| d.0, default, b)
        };
    let connect_timeout = dur(
        c,
        "connect_timeout",
        r.connect_timeout.as_ref(),
        DEFAULT_CONNECT_TIMEOUT,
        CONNECT_TIMEOUT,
    );
    let read_timeout = dur(
        c,
        "read_timeout",
        r.read_timeout.as_ref(),
        DEFAULT_UPSTREAM_READ_TIMEOUT,
        UPSTREAM_READ_TIMEOUT,
    );
    let idle_timeout = dur(
        c,
        "upstream_idle_timeout",
        r.upstream_idle_timeout.as_ref(),
        DEFAULT_UPSTREAM_IDLE_TIMEOUT,
        UPSTREAM_IDLE_TIMEOUT,
    );
    let tls = tls?;
    if !ok {
        return None;
    }
    let count = addrs.len();
    let lb = LoadBalancer::try_from_iter(addrs)
        .map_err(|e| {
            c.push(
                format!("{key}.upstreams"),
                format!("cannot build load balancer: {e}"),
                Some(r.upstreams.span()),
            )
        })
        .ok()?;
    Some(Upstream {
        lb,
        display: list.iter().map(|u| u.get_ref().clone()).collect(),
        count,
        connect_timeout,
        read_timeout,
        idle_timeout,
        tls,
    })
}

/// `upstream_tls`: the SNI (never empty) and the CA and client files, loaded.
fn tls(
    c: &mut Collector,
    key: &str,
    host: &str,
    t: Option<&Spanned<FileUpstreamTls>>,
    base_dir: &Path,
) -> Option<UpstreamTls> {
    let default = FileUpstreamTls::default();
    let f = t.map_or(&default, |t| t.get_ref());
    let span = t.map(|t| t.span());
    let key = format!("{key}.upstream_tls");
    // pingora turns certificate verification off entirely for an empty SNI
    // (as nginx does); never let a config do that by accident.
    if f.sni.as_deref().is_some_and(|s| s.trim().is_empty()) {
        c.push(
            format!("{key}.sni"),
            "is empty, which would switch off certificate verification: set the name on the upstream's certificate, or omit sni to use the upstream host",
            span,
        );
        return None;
    }
    let client = match (&f.client_cert, &f.client_key) {
        (Some(cert), Some(k)) => Some((base_dir.join(cert), base_dir.join(k))),
        (None, None) => None,
        _ => {
            c.push(
                format!("{key}.client_cert"),
                "client_cert and client_key go together",
                span,
            );
            return None;
        }
    };
    let ca = f.ca.as_ref().map(|p| base_dir.join(p));
    let sni = f.sni.clone().unwrap_or_else(|| host.to_string());
    UpstreamTls::load(
        sni,
        ca.as_deref(),
        client.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
    )
    .map_err(|e| {
        let field = if Some(&e.file) == ca.as_ref() {
            "ca"
        } else if client.as_ref().is_some_and(|(_, k)| *k == e.file) {
            "client_key"
        } else {
            "client_cert"
        };
        c.push(format!("{key}.{field}"), e.to_string(), span.clone());
    })
    .ok()
}

/// A parsed upstream: its addresses, and its host when it is `https://`.
struct Parsed {
    addrs: Vec<SocketAddr>,
    https_host: Option<String>,
}

/// `host:port`, `http://host:port[/]` or `https://host:port[/]` → resolved socket addresses.
fn parse(raw: &str, resolve: Resolve) -> Result<Parsed, String> {
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
    let addrs: Vec<SocketAddr> = match (hostport.parse::<SocketAddr>(), resolve) {
        (Ok(a), _) => vec![a],
        (Err(_), Resolve::NumericOnly) => {
            return Err(format!(
                "invalid address {raw:?}: host names are not resolved here"
            ))
        }
        (Err(_), Resolve::System) => hostport
            .to_socket_addrs()
            .map_err(|e| format!("invalid address {raw:?}: cannot resolve: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("invalid address {raw:?}: resolves to no address"));
    }
    if addrs.iter().any(|a| a.port() == 0) {
        return Err(format!(
            "invalid address {raw:?}: port 0 cannot be connected to"
        ));
    }
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok(Parsed {
        addrs,
        https_host: https.then_some(host),
    })
}
