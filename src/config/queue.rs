//! `[queue]` (the durable-delivery store) and `[route.delivery]` (how a
//! route delivers: directly, or through the queue with a retry policy).

use super::bounded;
use super::defaults::*;
use super::error::Collector;
use super::file::{FileQueue, FileQueueStore, FileRoute, FileRouteDelivery};
use super::replay::Recorded;
use super::units::Show;
use crate::queue::{Delivery, DeliveryPolicy, QueueSettings, StoreSettings};
use crate::verify::Verifier;
use std::path::Path;
use toml::Spanned;

/// Validate `[queue]`. `Ok(None)`: there is no `[queue]` table (fine while
/// no route queues, see [`check_store_present`]).
pub fn validate_store(
    c: &mut Collector,
    f: Option<&Spanned<FileQueue>>,
    base_dir: &Path,
) -> Result<Option<QueueSettings>, Recorded> {
    let Some(table) = f else { return Ok(None) };
    let f = table.get_ref();
    let errors_before = c.error_count();
    let kind = f
        .store
        .as_ref()
        .map_or(FileQueueStore::Embedded, |s| *s.get_ref());
    let max_bytes = bounded(
        c,
        "queue.max_bytes",
        f.max_bytes.as_ref(),
        |b| *b,
        DEFAULT_QUEUE_MAX_BYTES,
        QUEUE_MAX_BYTES,
    )
    .0;
    let claim_idle = bounded(
        c,
        "queue.claim_idle",
        f.claim_idle.as_ref(),
        |d| d.0,
        DEFAULT_CLAIM_IDLE,
        CLAIM_IDLE,
    );
    let only = |c: &mut Collector, key: &str, span: Option<std::ops::Range<usize>>, store: &str| {
        if let Some(span) = span {
            c.push(
                format!("queue.{key}"),
                format!("only for store = \"{store}\""),
                Some(span),
            );
        }
    };
    let store = match kind {
        FileQueueStore::Embedded => {
            only(
                c,
                "redis_url",
                f.redis_url.as_ref().map(|s| s.span()),
                "redis",
            );
            only(
                c,
                "claim_idle",
                f.claim_idle.as_ref().map(|s| s.span()),
                "redis",
            );
            only(
                c,
                "allow_volatile",
                f.allow_volatile.as_ref().map(|s| s.span()),
                "redis",
            );
            match &f.path {
                Some(p) => Some(StoreSettings::Embedded {
                    path: base_dir.join(p.get_ref()),
                }),
                None => {
                    c.push(
                        "queue.path",
                        "required with store = \"embedded\": the queue file, e.g. \"/var/lib/hookgate/queue.redb\"",
                        Some(table.span()),
                    );
                    None
                }
            }
        }
        FileQueueStore::Redis => {
            only(c, "path", f.path.as_ref().map(|s| s.span()), "embedded");
            redis_url(c, f, table)
        }
    };
    if c.error_count() > errors_before {
        return Err(Recorded);
    }
    Ok(store.map(|store| QueueSettings {
        store,
        max_bytes,
        claim_idle,
    }))
}

fn redis_url(
    c: &mut Collector,
    f: &FileQueue,
    table: &Spanned<FileQueue>,
) -> Option<StoreSettings> {
    let Some(url) = &f.redis_url else {
        let span = f.store.as_ref().map_or(table.span(), |s| s.span());
        c.push(
            "queue.redis_url",
            "required with store = \"redis\"",
            Some(span),
        );
        return None;
    };
    if let Err(e) = ::redis::Client::open(url.get_ref().as_str()) {
        c.push(
            "queue.redis_url",
            format!("invalid Redis URL: {e}"),
            Some(url.span()),
        );
        return None;
    }
    Some(StoreSettings::Redis {
        url: url.get_ref().clone(),
        allow_volatile: f.allow_volatile.as_ref().is_some_and(|a| *a.get_ref()),
    })
}

/// A route in queue mode needs the `[queue]` table: the error points at the
/// first such route's `mode` line.
pub fn check_store_present(
    c: &mut Collector,
    queue: Option<&Spanned<FileQueue>>,
    routes: &[FileRoute],
) {
    if queue.is_some() {
        return;
    }
    if let Some(r) = routes.iter().find(|r| r.delivery.queues()) {
        c.push(
            format!("route {:?}.delivery.mode", r.name.get_ref()),
            "\"queue\" needs a [queue] table: add [queue] with path = \"/var/lib/hookgate/queue.redb\" (or store = \"redis\" with redis_url)",
            r.delivery.mode.as_ref().map(|m| m.span()),
        );
    }
}

/// Validate route `key`'s `[route.delivery]`; `verifier` is its verifier,
/// whose preset says whether its sender needs the app's own answer.
pub fn validate_route(
    c: &mut Collector,
    key: &str,
    f: &FileRouteDelivery,
    verifier: Option<&Verifier>,
) -> Result<Delivery, Recorded> {
    let k = |name: &str| format!("{key}.delivery.{name}");
    let tuned = [
        ("ack_status", f.ack_status.as_ref().map(|s| s.span())),
        (
            "backoff_initial",
            f.backoff_initial.as_ref().map(|s| s.span()),
        ),
        ("backoff_max", f.backoff_max.as_ref().map(|s| s.span())),
        ("max_attempts", f.max_attempts.as_ref().map(|s| s.span())),
        ("max_age", f.max_age.as_ref().map(|s| s.span())),
        ("concurrency", f.concurrency.as_ref().map(|s| s.span())),
    ];
    if !f.queues() {
        return match tuned.into_iter().find_map(|(n, s)| Some((n, s?))) {
            Some((name, span)) => {
                c.push(k(name), "only for mode = \"queue\"", Some(span));
                Err(Recorded)
            }
            None => Ok(Delivery::Direct),
        };
    }
    let mode_span = f.mode.as_ref().map(|m| m.span());
    if let Some(v) = verifier {
        if let Some(why) = v.queue_refusal() {
            c.push(
                k("mode"),
                format!("scheme {:?} cannot be queued: {why}", v.scheme_name()),
                mode_span,
            );
            return Err(Recorded);
        }
    }
    let errors_before = c.error_count();
    let ack_status = ack_status(c, &k("ack_status"), f.ack_status.as_ref());
    let dur =
        |c: &mut Collector, name: &str, v: Option<&Spanned<super::units::Dur>>, default, b| {
            bounded(c, &k(name), v, |d| d.0, default, b)
        };
    let backoff_initial = dur(
        c,
        "backoff_initial",
        f.backoff_initial.as_ref(),
        DEFAULT_BACKOFF_INITIAL,
        BACKOFF,
    );
    let backoff_max = dur(
        c,
        "backoff_max",
        f.backoff_max.as_ref(),
        DEFAULT_BACKOFF_MAX,
        BACKOFF,
    );
    if backoff_max < backoff_initial {
        let span = f.backoff_max.as_ref().or(f.backoff_initial.as_ref());
        c.push(
            k("backoff_max"),
            format!(
                "{} is shorter than backoff_initial ({})",
                backoff_max.show(),
                backoff_initial.show()
            ),
            span.map(|s| s.span()),
        );
    }
    let policy = DeliveryPolicy {
        ack_status,
        backoff_initial,
        backoff_max,
        max_attempts: bounded(
            c,
            &k("max_attempts"),
            f.max_attempts.as_ref(),
            |n| *n,
            DEFAULT_MAX_ATTEMPTS,
            MAX_ATTEMPTS,
        ),
        max_age: dur(c, "max_age", f.max_age.as_ref(), DEFAULT_MAX_AGE, MAX_AGE),
        concurrency: bounded(
            c,
            &k("concurrency"),
            f.concurrency.as_ref(),
            |n| *n,
            DEFAULT_CONCURRENCY,
            CONCURRENCY,
        ),
    };
    if c.error_count() > errors_before {
        return Err(Recorded);
    }
    Ok(Delivery::Queue(policy))
}

/// `ack_status`: any 2xx (the sender must see success, and nothing else
/// tells it the delivery is safe).
fn ack_status(c: &mut Collector, key: &str, v: Option<&Spanned<u16>>) -> http::StatusCode {
    let Some(v) = v else {
        return DEFAULT_ACK_STATUS;
    };
    match http::StatusCode::from_u16(*v.get_ref()) {
        Ok(s) if s.is_success() => s,
        _ => {
            c.push(
                key,
                format!("{} is not a 2xx status: use 200 to 299", v.get_ref()),
                Some(v.span()),
            );
            DEFAULT_ACK_STATUS
        }
    }
}
