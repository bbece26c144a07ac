//! `[replay]` (the store) and `[route.replay]` (a route's key and memory).

use super::bounded;
use super::defaults::*;
use super::error::Collector;
use super::file::{FileReplay, FileReplayKey, FileRoute, FileRouteReplay, FileStore};
use super::runtime::Route;
use super::units::Show;
use crate::replay::config::SKEW;
use crate::replay::{KeySource, ReplaySettings, RouteReplay, StoreKind};
use crate::verify::{DefaultKey, Verifier};
use std::sync::Arc;

/// Validate `[replay]`.
pub fn validate_store(c: &mut Collector, f: &FileReplay) -> Option<ReplaySettings> {
    let kind = f.store.as_ref().map_or(FileStore::Memory, |s| *s.get_ref());
    let store_span = f.store.as_ref().map(|s| s.span());
    let store = match kind {
        FileStore::Memory => {
            if let Some(u) = &f.redis_url {
                c.push(
                    "replay.redis_url",
                    "set store = \"redis\" to use Redis",
                    Some(u.span()),
                );
                return None;
            }
            StoreKind::Memory {
                max_keys: bounded(
                    c,
                    "replay.max_keys",
                    f.max_keys.as_ref(),
                    |n| *n,
                    DEFAULT_MAX_KEYS,
                    MAX_KEYS,
                ),
                persist_path: f.persist_path.as_ref().map(|p| p.get_ref().into()),
            }
        }
        FileStore::Redis => {
            let Some(url) = &f.redis_url else {
                c.push(
                    "replay.redis_url",
                    "required with store = \"redis\"",
                    store_span,
                );
                return None;
            };
            if let Err(e) = ::redis::Client::open(url.get_ref().as_str()) {
                c.push(
                    "replay.redis_url",
                    format!("invalid Redis URL: {e}"),
                    Some(url.span()),
                );
                return None;
            }
            if let Some(span) = f
                .max_keys
                .as_ref()
                .map(|s| s.span())
                .or(f.persist_path.as_ref().map(|s| s.span()))
            {
                c.push(
                    "replay.store",
                    "max_keys and persist_path apply to the memory store only",
                    Some(span),
                );
                return None;
            }
            let dur =
                |c: &mut Collector, key, v: Option<&toml::Spanned<super::units::Dur>>, default| {
                    bounded(c, key, v, |d| d.0, default, REDIS_TIMEOUT)
                };
            StoreKind::Redis {
                url: url.get_ref().clone(),
                prefix: f
                    .key_prefix
                    .as_ref()
                    .map_or_else(|| DEFAULT_KEY_PREFIX.to_string(), |p| p.get_ref().clone()),
                connect_timeout: dur(
                    c,
                    "replay.connect_timeout",
                    f.connect_timeout.as_ref(),
                    DEFAULT_REDIS_CONNECT_TIMEOUT,
                ),
                command_timeout: dur(
                    c,
                    "replay.command_timeout",
                    f.command_timeout.as_ref(),
                    DEFAULT_REDIS_COMMAND_TIMEOUT,
                ),
            }
        }
    };
    Some(ReplaySettings {
        store,
        reservation_ttl: bounded(
            c,
            "replay.reservation_ttl",
            f.reservation_ttl.as_ref(),
            |d| d.0,
            DEFAULT_RESERVATION_TTL,
            RESERVATION_TTL,
        ),
        fail_open: f.fail_open.unwrap_or(false),
    })
}

/// A reservation must outlive the forward it guards: if it expired while the
/// upstream was still working, the sender's retry would be reserved and
/// forwarded too, and the upstream would get the delivery twice.
pub fn check_reservation_ttl(
    c: &mut Collector,
    f: &FileReplay,
    s: &ReplaySettings,
    files: &[FileRoute],
    routes: &[Arc<Route>],
) {
    for r in routes.iter().filter(|r| r.replay.is_some()) {
        if r.delivery.queued().is_some() {
            // A queue-mode route's reservation guards the durable enqueue.
            if s.reservation_ttl < crate::queue::STORE_DEADLINE {
                c.push(
                    "replay.reservation_ttl",
                    format!(
                        "{} is shorter than the queue store's deadline ({}) that route {:?} waits for: a delivery still being queued would lose its reservation and the sender's retry would be queued as well",
                        s.reservation_ttl.show(),
                        crate::queue::STORE_DEADLINE.show(),
                        r.name
                    ),
                    f.reservation_ttl.as_ref().map(|t| t.span()),
                );
            }
            continue;
        }
        let needed = r.upstream.connect_timeout + r.upstream.read_timeout;
        if s.reservation_ttl >= needed {
            continue;
        }
        let why = "a delivery still waiting for the upstream would lose its reservation and the sender's retry would be forwarded as well";
        match &f.reservation_ttl {
            Some(ttl) => c.push(
                "replay.reservation_ttl",
                format!(
                    "{} is shorter than route {:?}'s connect_timeout + read_timeout ({}): {why}; raise reservation_ttl or lower the route's timeouts",
                    s.reservation_ttl.show(),
                    r.name,
                    needed.show()
                ),
                Some(ttl.span()),
            ),
            // The default is in force: point at the route's timeout instead.
            None => {
                let file = files.iter().find(|x| *x.name.get_ref() == r.name);
                let span = file.and_then(|x| x.read_timeout.as_ref().map(|t| t.span()).or(Some(x.name.span())));
                c.push(
                    format!("route {:?}.read_timeout", r.name),
                    format!(
                        "connect_timeout + read_timeout ({}) is longer than [replay] reservation_ttl (default {}): {why}; set reservation_ttl to at least {}",
                        needed.show(),
                        s.reservation_ttl.show(),
                        needed.show()
                    ),
                    span,
                );
            }
        }
    }
}

/// The error has been recorded in the collector (with its key and line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded;

/// Validate route `key`'s `[route.replay]` against the route's verifier;
/// `Ok(None)`: no replay protection (`key = "none"`, or the scheme's default).
///
/// The default key comes from the preset's row and obeys one rule: it never
/// makes two distinct real deliveries collide, so it is never a shared token
/// or credential, and `key = "signature"` is refused for those schemes.
pub fn validate_route(
    c: &mut Collector,
    key: &str,
    f: &FileRouteReplay,
    verifier: Option<&Verifier>,
) -> Result<Option<RouteReplay>, Recorded> {
    let Some(source) = key_source(c, key, f, verifier)? else {
        return Ok(None);
    };
    let tolerance = verifier.and_then(|v| v.tolerance());
    let ttl_key = format!("{key}.replay.ttl");
    let ttl = f.ttl.as_ref();
    let retain = match (tolerance, ttl) {
        (_, Some(t)) => {
            let v = REPLAY_TTL.check(t.get_ref().0).map_err(|m| {
                c.push(&ttl_key, m, Some(t.span()));
                Recorded
            })?;
            let window = tolerance.map(|tol| tol * 2 + SKEW);
            if let Some(w) = window.filter(|w| v < *w) {
                c.push(
                    &ttl_key,
                    format!("must cover twice the timestamp tolerance plus skew ({}): a shorter memory lets a captured request be replayed while its timestamp is still accepted", w.show()),
                    Some(t.span()),
                );
                return Err(Recorded);
            }
            v
        }
        // Bounded: tolerance ≤ 7 days, so this cannot overflow.
        (Some(tol), None) => tol * 2 + SKEW,
        (None, None) => DEFAULT_REPLAY_TTL,
    };
    Ok(Some(RouteReplay {
        key: source,
        retain,
        on_duplicate: f
            .on_duplicate
            .as_ref()
            .map(|o| *o.get_ref())
            .unwrap_or_default(),
    }))
}

/// Where route `key`'s delivery key comes from: `key` as written, else the
/// scheme's default; `Ok(None)`: no replay protection.
fn key_source(
    c: &mut Collector,
    key: &str,
    f: &FileRouteReplay,
    verifier: Option<&Verifier>,
) -> Result<Option<KeySource>, Recorded> {
    let key_span = f.key.as_ref().map(|k| k.span());
    let refuse = |m: String| {
        c.push(format!("{key}.replay.key"), m, key_span);
        Err(Recorded)
    };
    Ok(Some(match (f.key.as_ref().map(|k| k.get_ref()), verifier) {
        (Some(FileReplayKey::None), _) => return Ok(None),
        (Some(FileReplayKey::Signature), None) => {
            return refuse("\"signature\" needs a [route.verify] table".into())
        }
        (Some(FileReplayKey::Signature), Some(v)) if v.credential_only() => {
            return refuse(format!(
                "\"signature\": {} sends the same token or credentials on every delivery, so every delivery after the first would be dropped as a duplicate; use \"header:NAME\" or \"none\"",
                v.scheme_name()
            ))
        }
        (Some(FileReplayKey::Signature), Some(_)) => KeySource::SignatureDigest,
        (Some(FileReplayKey::Header(h)), _) => KeySource::Header(vec![h.clone()]),
        (None, Some(v)) => match v.default_replay_key() {
            DefaultKey::Header(names, _) => KeySource::Header(names.clone()),
            DefaultKey::Signature => KeySource::SignatureDigest,
            DefaultKey::None => return Ok(None),
        },
        (None, None) => return Ok(None),
    }))
}
