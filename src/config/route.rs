//! `[[route]]`: what a route matches, how its requests are authenticated,
//! and where they go. Each route is checked on its own; the sections it
//! contains ([`super::upstream`], [`super::verify`], [`super::replay`]) have
//! their own files.

use super::defaults::MAX_BODY;
use super::error::Collector;
use super::file::{FileClientCert, FileRoute};
use super::replay;
use super::runtime::{Limits, Route};
use super::units::ByteSize;
use super::upstream::{self, Resolve};
use super::{bounded, limits, listener};
use crate::allowlist::IpPolicy;
use crate::identity::{ClientCertPolicy, IdentityRules};
use crate::metrics::{Metrics, RouteMetrics};
use crate::target::{normalize_host, normalize_path};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// What every route's validation needs besides its table.
pub struct RouteEnv<'a> {
    /// The validated `[limits]`.
    pub limits: &'a Limits,
    /// `[limits] max_body_bytes`, for routes without their own.
    pub default_body: u64,
    /// Relative paths resolve against it.
    pub base_dir: &'a Path,
    /// How upstream host names are resolved.
    pub resolve: Resolve,
    /// Where each route's metric series are resolved.
    pub metrics: &'a Metrics,
}

/// Validate every route (names unique, at least one).
pub fn validate_all(c: &mut Collector, files: &[FileRoute], env: &RouteEnv<'_>) -> Vec<Arc<Route>> {
    if files.is_empty() {
        c.push("route", "at least one [[route]] is required", None);
    }
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in files.iter().enumerate() {
        let key = format!("route {:?}", r.name.get_ref());
        if !names.insert(r.name.get_ref().clone()) {
            c.push(&key, "duplicate route name", Some(r.name.span()));
        }
        let ctx = RouteCtx {
            key: &key,
            index: i,
            env,
        };
        if let Some(route) = validate(c, r, &ctx) {
            out.push(Arc::new(route));
        }
    }
    out
}

/// What one route's validation needs besides its table.
struct RouteCtx<'a> {
    key: &'a str,
    index: usize,
    env: &'a RouteEnv<'a>,
}

fn validate(c: &mut Collector, r: &FileRoute, x: &RouteCtx<'_>) -> Option<Route> {
    let key = x.key;
    let errors_before = c.error_count();
    check_name(c, key, &r.name);
    let prefix = r.path_prefix.get_ref();
    path_prefix(c, key, &r.path_prefix);
    let host = r.host.as_ref().and_then(|h| host(c, key, h));
    let max_body_bytes = bounded(
        c,
        &format!("{key}.max_body_bytes"),
        r.max_body_bytes.as_ref(),
        |b| *b,
        ByteSize(x.env.default_body),
        MAX_BODY,
    )
    .0;
    if let Some(b) = &r.max_body_bytes {
        limits::check_body_fits(
            c,
            &format!("{key}.max_body_bytes"),
            b,
            x.env.limits.max_buffered_bytes,
        );
    }
    let upstream = upstream::validate(c, key, r, x.env.base_dir, x.env.resolve);
    let verifier = r.verify.as_ref().and_then(|v| {
        super::verify::validate(c, r.name.get_ref(), key, x.index, v, x.env.base_dir)
    });
    let client_cert = r.client_cert.as_ref().map(|cc| client_cert(c, key, cc));
    let allow = listener::ip_list(c, key, "allow_ips", &r.allow_ips, x.env.base_dir);
    let deny = listener::ip_list(c, key, "deny_ips", &r.deny_ips, x.env.base_dir);
    let allow_unauthenticated = r.allow_unauthenticated.unwrap_or(false);
    let cert_auth = client_cert
        .as_ref()
        .and_then(|p| p.as_ref())
        .is_some_and(|p| p.requires_certificate());
    if r.verify.is_none() && !cert_auth && !allow_unauthenticated {
        c.push(
            key,
            "no authentication: add a [route.verify] table or a required client_cert, or allow_unauthenticated = true to forward anything",
            Some(r.name.span()),
        );
    }
    let replay = replay::validate_route(c, key, &r.replay, verifier.as_ref());
    let delivery = super::queue::validate_route(c, key, &r.delivery, verifier.as_ref());
    // Anything recorded for this route means it is not built.
    if c.error_count() > errors_before {
        return None;
    }
    Some(Route {
        name: r.name.get_ref().clone(),
        host,
        path_prefix: prefix.clone(),
        upstream: upstream?,
        max_body_bytes,
        verifier,
        allow_unauthenticated,
        ip: IpPolicy {
            allow: allow?,
            deny: deny?,
        },
        client_cert: client_cert.map_or(Some(None), |p| p.map(Some))?,
        replay: replay.ok()?,
        delivery: delivery.ok()?,
        metrics: RouteMetrics::new(x.env.metrics, r.name.get_ref()),
    })
}

fn check_name(c: &mut Collector, key: &str, name: &Spanned<String>) {
    let n = name.get_ref();
    if n.is_empty()
        || !n
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
    {
        c.push(
            format!("{key}.name"),
            "route names use letters, digits, '-', '_' and '.' only",
            Some(name.span()),
        );
    }
}

/// A bare host name, lower-cased.
/// Requests are matched on their normalised path ([`normalize_path`]), so a
/// prefix that normalisation would change (`/a//b`, `/a/./b`, `/x%7e`, a
/// raw non-ASCII byte) could never match anything: refused, naming the form
/// to write instead.
fn path_prefix(c: &mut Collector, key: &str, p: &Spanned<String>) {
    let v = p.get_ref();
    let problem = if !v.starts_with('/') {
        format!("path prefix {v:?} must start with '/'")
    } else {
        match normalize_path(v.as_bytes()) {
            Ok(n) if n == *v => return,
            Ok(n) => format!(
                "path prefix {v:?} could never match: requests are matched in normal form (README \"The request path\"); write {n:?}"
            ),
            Err(e) => format!(
                "path prefix {v:?} could never match: {e}, and such requests are refused (400)"
            ),
        }
    };
    c.push(format!("{key}.path_prefix"), problem, Some(p.span()));
}

/// The route's host in the form requests' `Host` headers are matched in
/// ([`normalize_host`]: lower case, one trailing dot dropped), so
/// `host = "A.Example."` matches `Host: a.example`.
fn host(c: &mut Collector, key: &str, h: &Spanned<String>) -> Option<String> {
    let v = h.get_ref();
    match normalize_host(v.as_bytes()) {
        Ok(n) if n.port.is_none() => Some(n.name),
        _ => {
            c.push(
                format!("{key}.host"),
                format!("invalid host {v:?}: give a bare host name without port"),
                Some(h.span()),
            );
            None
        }
    }
}

/// `client_cert = { ... }`: the identities this route accepts.
fn client_cert(
    c: &mut Collector,
    key: &str,
    cc: &Spanned<FileClientCert>,
) -> Option<ClientCertPolicy> {
    let f = cc.get_ref();
    let forward_header = match f
        .forward_header
        .as_deref()
        .map(|h| http::HeaderName::from_bytes(h.as_bytes()).map_err(|_| h))
    {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(h)) => {
            c.push(
                format!("{key}.client_cert.forward_header"),
                format!("{h:?} is not a header name"),
                Some(cc.span()),
            );
            return None;
        }
    };
    let rules = IdentityRules {
        san_dns: f.san_dns.clone(),
        san_uri: f.san_uri.clone(),
        cn: f.cn.clone(),
        sha256: f.sha256.clone(),
    };
    ClientCertPolicy::new(f.required, rules, forward_header)
        .map_err(|m| c.push(format!("{key}.client_cert.sha256"), m, Some(cc.span())))
        .ok()
}
