//! The shared store: Redis Streams, for several instances behind one load balancer.
//!
//! Per route (under the `hookgate:queue:` prefix):
//! - `r:<route>:ready`: a stream of due delivery ids, read by the consumer
//!   group `hookgate` that every instance joins (`XREADGROUP`). An entry a
//!   consumer read and never acknowledged stays in its pending list;
//!   `XAUTOCLAIM` hands it to another consumer once idle for `claim_idle`
//!   (the instance died). Workers extend their leases during long attempts.
//!   Completion is `XACK` + `XDEL`.
//! - `r:<route>:delayed`: a sorted set of ids by next-attempt time; due ones
//!   are moved to the stream when a worker asks for work.
//! - `r:<route>:open`: every pending id by receipt time (listing, oldest age).
//! - `r:<route>:dead`: the dead-letter stream.
//! - `d:<id>`: a hash holding the delivery (body, headers, attempts, state).
//!
//! Each operation is one Lua script, so it is atomic: a crash between two
//! steps cannot lose or duplicate an entry. A Redis that does not persist
//! (`appendonly` not `yes`) is refused unless `allow_volatile`. Redis
//! acknowledges a write once it is in its AOF buffer; with the default
//! `appendfsync everysec` a power loss (not a Redis or hookgate crash) can
//! lose up to a second of acknowledged deliveries; `appendfsync always`
//! closes that window. Multi-key scripts make this unsuitable for Redis Cluster.

use super::{
    from_millis, headers, stored_size, to_millis, DeliveryId, DeliveryState, Lease, LeaseHandle,
    LeaseResult, NewDelivery, QueueError, QueueStore, QueuedDelivery, RetryTarget, RouteStats,
    StateFilter, Stats, Summary,
};
use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

/// Prefix of every key.
pub const DEFAULT_PREFIX: &str = "hookgate:queue:";
/// The consumer group all instances share.
const GROUP: &str = "hookgate";
/// Default connect deadline.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default per-command deadline.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Dead letters moved or purged per script call.
const CHUNK: u64 = 1000;

const ENQUEUE: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return {0, used} end
redis.call('HSET', KEYS[2], 'route', ARGV[4], 'received', ARGV[5], 'since', ARGV[5],
  'attempts', 0, 'state', 'pending', 'when', ARGV[5], 'note', '', 'method', ARGV[6],
  'path', ARGV[7], 'size', ARGV[2], 'headers', ARGV[8], 'body', ARGV[9])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('INCRBY', KEYS[1], ARGV[2])
return {1, used}
";

/// Promote due retries, then take over an abandoned entry or read a new one,
/// counting the attempt that starts (so a delivery whose attempts keep
/// killing the instance still runs out of attempts).
const LEASE: &str = r"
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('XADD', KEYS[1], '*', 'id', id)
end
local entry
local cursor = redis.call('GET', KEYS[3]) or '0-0'
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], cursor, 'COUNT', 1)
redis.call('SET', KEYS[3], claimed[1])
if claimed[2][1] then entry = claimed[2][1] end
if not entry then
  local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
  if r then entry = r[1][2][1] end
end
if not entry then
  local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, nxt[2] or ''}
end
local sid, id = entry[1], entry[2][2]
local h = redis.call('HGETALL', ARGV[5] .. id)
if #h == 0 or redis.call('HGET', ARGV[5] .. id, 'state') ~= 'pending' then
  redis.call('XACK', KEYS[1], ARGV[1], sid)
  redis.call('XDEL', KEYS[1], sid)
  return {2}
end
redis.call('HINCRBY', ARGV[5] .. id, 'attempts', 1)
return {1, sid, id, redis.call('HGETALL', ARGV[5] .. id)}
";

const OWNED: &str = r"
local function owned(stream, sid, me)
  local p = redis.call('XPENDING', stream, 'hookgate', sid, sid, 1)
  return p[1] ~= nil and p[1][2] == me
end
";

const TOUCH: &str = r"
if not owned(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('XCLAIM', KEYS[1], 'hookgate', ARGV[2], 0, ARGV[1], 'JUSTID')
return 1
";

const COMPLETE: &str = r"
redis.call('XACK', KEYS[1], 'hookgate', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[4], 'state') ~= 'pending' then return 0 end
redis.call('DECRBY', KEYS[3], redis.call('HGET', KEYS[4], 'size'))
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
return 1
";

const RETRY: &str = r"
if not owned(KEYS[1], ARGV[1], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], 'hookgate', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[3], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[3], 'when', ARGV[4], 'note', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
return 1
";

const DEAD: &str = r"
if not owned(KEYS[1], ARGV[1], ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], 'hookgate', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[4], 'state') ~= 'pending' then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
local e = redis.call('XADD', KEYS[3], '*', 'id', ARGV[2])
redis.call('HSET', KEYS[4], 'state', 'dead', 'when', ARGV[4], 'note', ARGV[5], 'dead_entry', e)
return 1
";

/// Move one dead letter (ARGV[4] = id) or the oldest CHUNK (ARGV[4] = '') back to pending.
const REVIVE: &str = r"
local ids = {}
if ARGV[4] ~= '' then ids = {ARGV[4]} else
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[5])) do
    table.insert(ids, e[2][2])
  end
end
local moved = 0
for _, id in ipairs(ids) do
  local h = ARGV[1] .. id
  if redis.call('HGET', h, 'state') == 'dead' and redis.call('HGET', h, 'route') == ARGV[2] then
    redis.call('XDEL', KEYS[1], redis.call('HGET', h, 'dead_entry'))
    redis.call('HSET', h, 'state', 'pending', 'attempts', 0, 'since', ARGV[3], 'when', ARGV[3], 'note', '')
    redis.call('HDEL', h, 'dead_entry')
    redis.call('XADD', KEYS[2], '*', 'id', id)
    redis.call('ZADD', KEYS[3], redis.call('HGET', h, 'received'), id)
    moved = moved + 1
  end
end
return moved
";

const PURGE: &str = r"
local es = redis.call('XRANGE', KEYS[1], '-', ARGV[2], 'COUNT', ARGV[3])
for _, e in ipairs(es) do
  local h = ARGV[1] .. e[2][2]
  local size = redis.call('HGET', h, 'size')
  if size and redis.call('HGET', h, 'state') == 'dead' then
    redis.call('DECRBY', KEYS[2], size)
    redis.call('DEL', h)
  end
  redis.call('XDEL', KEYS[1], e[1])
end
return #es
";

/// Connection and policy settings.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Budget for stored deliveries.
    pub max_bytes: u64,
    /// Take over leases idle this long.
    pub claim_idle: Duration,
    /// Accept a Redis without persistence.
    pub allow_volatile: bool,
    /// Key prefix.
    pub prefix: String,
    /// This instance's consumer name (unique per process).
    pub consumer: String,
    /// Connect deadline.
    pub connect_timeout: Duration,
    /// Per-command deadline.
    pub command_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            max_bytes: crate::config::defaults::DEFAULT_QUEUE_MAX_BYTES.0,
            claim_idle: crate::config::defaults::DEFAULT_CLAIM_IDLE,
            allow_volatile: false,
            prefix: DEFAULT_PREFIX.to_string(),
            consumer: format!(
                "{}-{}-{:08x}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "hookgate".into()),
                std::process::id(),
                fastrand::u32(..)
            ),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// The Redis Streams store.
pub struct RedisQueue {
    conn: ConnectionManager,
    opts: RedisOptions,
    signal: Arc<Notify>,
    scripts: Scripts,
}

struct Scripts {
    enqueue: Script,
    lease: Script,
    touch: Script,
    complete: Script,
    retry: Script,
    dead: Script,
    revive: Script,
    purge: Script,
}

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl RedisQueue {
    /// Connect, and refuse a Redis that does not persist unless `allow_volatile`.
    pub async fn connect(url: &str, opts: RedisOptions) -> Result<Self, QueueError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let addr = client.get_connection_info().addr.to_string();
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(opts.connect_timeout)
            .set_response_timeout(opts.command_timeout)
            .set_number_of_retries(1);
        let mut conn = tokio::time::timeout(
            opts.connect_timeout,
            ConnectionManager::new_with_config(client, cfg),
        )
        .await
        .map_err(|_| unavailable(format!("connecting to {addr} timed out")))?
        .map_err(unavailable)?;
        let persistence = |key: &'static str| {
            let mut c = conn.clone();
            async move {
                let (_, v): (String, String) = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(key)
                    .query_async(&mut c)
                    .await?;
                Ok::<_, redis::RedisError>(v)
            }
        };
        let appendonly = tokio::time::timeout(opts.command_timeout, persistence("appendonly"))
            .await
            .map_err(|_| unavailable("CONFIG GET appendonly timed out"))?
            .map_err(|e| {
                unavailable(format!(
                    "cannot check persistence (CONFIG GET appendonly): {e}"
                ))
            })?;
        if appendonly != "yes" && !opts.allow_volatile {
            return Err(QueueError::Volatile(addr));
        }
        if appendonly != "yes" {
            tracing::warn!(redis = %addr, "queue: Redis runs without appendonly; allow_volatile is set, so acknowledged deliveries are lost if it restarts");
        } else if let Ok(Ok(fsync)) =
            tokio::time::timeout(opts.command_timeout, persistence("appendfsync")).await
        {
            if fsync != "always" {
                tracing::info!(redis = %addr, appendfsync = %fsync, "queue: a power loss can lose the last second of acknowledged deliveries; appendfsync always closes that window");
            }
        }
        let _ = redis::cmd("PING").query_async::<()>(&mut conn).await;
        let owned = |body: &str| Script::new(&format!("{OWNED}{body}"));
        Ok(RedisQueue {
            conn,
            opts,
            signal: Arc::new(Notify::new()),
            scripts: Scripts {
                enqueue: Script::new(ENQUEUE),
                lease: Script::new(LEASE),
                touch: owned(TOUCH),
                complete: Script::new(COMPLETE),
                retry: owned(RETRY),
                dead: owned(DEAD),
                revive: Script::new(REVIVE),
                purge: Script::new(PURGE),
            },
        })
    }

    fn route_key(&self, route: &str, what: &str) -> String {
        format!("{}r:{route}:{what}", self.opts.prefix)
    }

    fn hash_prefix(&self) -> String {
        format!("{}d:", self.opts.prefix)
    }

    fn hash_key(&self, id: DeliveryId) -> String {
        format!("{}d:{id}", self.opts.prefix)
    }

    fn global_key(&self, what: &str) -> String {
        format!("{}{what}", self.opts.prefix)
    }

    /// Run a script invocation within the command deadline.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, QueueError> {
        let mut c = self.conn.clone();
        tokio::time::timeout(self.opts.command_timeout, inv.invoke_async(&mut c))
            .await
            .map_err(|_| unavailable("command deadline exceeded"))?
            .map_err(unavailable)
    }

    /// Run a pipeline within the command deadline.
    async fn query<T: redis::FromRedisValue>(&self, p: &redis::Pipeline) -> Result<T, QueueError> {
        let mut c = self.conn.clone();
        tokio::time::timeout(self.opts.command_timeout, p.query_async(&mut c))
            .await
            .map_err(|_| unavailable("command deadline exceeded"))?
            .map_err(unavailable)
    }

    fn entry<'l>(&self, lease: &'l Lease) -> &'l str {
        match &lease.handle {
            LeaseHandle::Redis(sid) => sid,
            LeaseHandle::Embedded(_) => "",
        }
    }
}

/// A delivery's hash, as returned by `HGETALL`.
type Fields = HashMap<String, Vec<u8>>;

fn text(f: &Fields, k: &str) -> String {
    f.get(k)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

fn number(f: &Fields, k: &str) -> u64 {
    text(f, k).parse().unwrap_or(0)
}

fn state(f: &Fields) -> DeliveryState {
    let when = from_millis(number(f, "when"));
    if text(f, "state") == "dead" {
        DeliveryState::Dead {
            reason: text(f, "note"),
            at: when,
        }
    } else {
        DeliveryState::Pending { due: when }
    }
}

fn last_error(f: &Fields) -> Option<String> {
    let note = text(f, "note");
    (text(f, "state") == "pending" && !note.is_empty()).then_some(note)
}

fn delivery(id: DeliveryId, f: &Fields) -> QueuedDelivery {
    QueuedDelivery {
        id,
        route: text(f, "route"),
        received: from_millis(number(f, "received")),
        since: from_millis(number(f, "since")),
        attempts: u32::try_from(number(f, "attempts")).unwrap_or(u32::MAX),
        state: state(f),
        last_error: last_error(f),
        method: text(f, "method"),
        path: text(f, "path"),
        headers: f
            .get("headers")
            .and_then(|h| headers::decode(h).ok())
            .unwrap_or_default(),
        body: f
            .get("body")
            .map(|b| Bytes::copy_from_slice(b))
            .unwrap_or_default(),
    }
}

fn bulk(v: &Value) -> Option<String> {
    redis::from_redis_value::<String>(v).ok()
}

#[async_trait]
impl QueueStore for RedisQueue {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn enqueue(&self, d: NewDelivery) -> Result<DeliveryId, QueueError> {
        let hdrs = headers::encode(&d.headers);
        let size = stored_size(&d.route, &d.method, &d.path, &hdrs, &d.body);
        let mut inv = self.scripts.enqueue.prepare_invoke();
        inv.key(self.global_key("bytes"))
            .key(self.hash_key(d.id))
            .key(self.route_key(&d.route, "ready"))
            .key(self.route_key(&d.route, "open"))
            .key(self.global_key("routes"))
            .arg(self.opts.max_bytes)
            .arg(size)
            .arg(d.id.to_string())
            .arg(&d.route)
            .arg(to_millis(SystemTime::now()))
            .arg(&d.method)
            .arg(&d.path)
            .arg(hdrs)
            .arg(&d.body[..]);
        let (stored, used): (i64, u64) = self.eval(inv).await?;
        if stored == 0 {
            return Err(QueueError::Full {
                used,
                max: self.opts.max_bytes,
            });
        }
        self.signal.notify_waiters();
        Ok(d.id)
    }

    async fn lease(&self, route: &str, now: SystemTime) -> Result<LeaseResult, QueueError> {
        loop {
            let mut inv = self.scripts.lease.prepare_invoke();
            inv.key(self.route_key(route, "ready"))
                .key(self.route_key(route, "delayed"))
                .key(self.route_key(route, "cursor"))
                .arg(GROUP)
                .arg(&self.opts.consumer)
                .arg(to_millis(now))
                .arg(self.opts.claim_idle.as_millis() as u64)
                .arg(self.hash_prefix());
            let reply: Vec<Value> = self.eval(inv).await?;
            let code: i64 = reply
                .first()
                .and_then(|v| redis::from_redis_value(v).ok())
                .unwrap_or(-1);
            match code {
                0 => {
                    let next = reply
                        .get(1)
                        .and_then(bulk)
                        .and_then(|s| s.parse::<f64>().ok());
                    return Ok(LeaseResult::Idle(next.map(|ms| from_millis(ms as u64))));
                }
                // A stale entry (delivery already settled) was cleaned up: look again.
                2 => continue,
                1 => {}
                _ => return Err(unavailable("unexpected reply to lease")),
            }
            let (Some(sid), Some(id)) = (reply.get(1).and_then(bulk), reply.get(2).and_then(bulk))
            else {
                return Err(unavailable("malformed lease reply"));
            };
            let fields: Fields = reply
                .get(3)
                .map(redis::from_redis_value)
                .transpose()
                .map_err(unavailable)?
                .unwrap_or_default();
            let id = DeliveryId::parse(&id).ok_or_else(|| unavailable("malformed delivery id"))?;
            return Ok(LeaseResult::Leased(Box::new(Lease {
                delivery: delivery(id, &fields),
                handle: LeaseHandle::Redis(sid),
            })));
        }
    }

    async fn touch(&self, lease: &Lease) -> Result<(), QueueError> {
        let mut inv = self.scripts.touch.prepare_invoke();
        inv.key(self.route_key(&lease.delivery.route, "ready"))
            .arg(self.entry(lease))
            .arg(&self.opts.consumer);
        self.eval::<i64>(inv).await.map(|_| ())
    }

    async fn complete(&self, lease: Lease) -> Result<(), QueueError> {
        let d = &lease.delivery;
        let mut inv = self.scripts.complete.prepare_invoke();
        inv.key(self.route_key(&d.route, "ready"))
            .key(self.route_key(&d.route, "open"))
            .key(self.global_key("bytes"))
            .key(self.hash_key(d.id))
            .key(self.route_key(&d.route, "delayed"))
            .arg(self.entry(&lease))
            .arg(d.id.to_string());
        self.eval::<i64>(inv).await.map(|_| ())
    }

    async fn retry_later(
        &self,
        lease: Lease,
        due: SystemTime,
        error: &str,
    ) -> Result<(), QueueError> {
        let d = &lease.delivery;
        let mut inv = self.scripts.retry.prepare_invoke();
        inv.key(self.route_key(&d.route, "ready"))
            .key(self.route_key(&d.route, "delayed"))
            .key(self.hash_key(d.id))
            .arg(self.entry(&lease))
            .arg(d.id.to_string())
            .arg(&self.opts.consumer)
            .arg(to_millis(due))
            .arg(error);
        self.eval::<i64>(inv).await.map(|_| ())
    }

    async fn dead_letter(
        &self,
        lease: Lease,
        reason: &str,
        now: SystemTime,
    ) -> Result<(), QueueError> {
        let d = &lease.delivery;
        let mut inv = self.scripts.dead.prepare_invoke();
        inv.key(self.route_key(&d.route, "ready"))
            .key(self.route_key(&d.route, "open"))
            .key(self.route_key(&d.route, "dead"))
            .key(self.hash_key(d.id))
            .arg(self.entry(&lease))
            .arg(d.id.to_string())
            .arg(&self.opts.consumer)
            .arg(to_millis(now))
            .arg(reason);
        self.eval::<i64>(inv).await.map(|_| ())
    }

    async fn list(
        &self,
        route: &str,
        state: StateFilter,
        limit: usize,
    ) -> Result<Vec<Summary>, QueueError> {
        let last = limit.saturating_sub(1) as isize;
        let ids: Vec<String> = match state {
            StateFilter::Pending => self
                .query(redis::pipe().zrange(self.route_key(route, "open"), 0, last))
                .await
                .map(|(v,): (Vec<String>,)| v)?,
            StateFilter::Dead => {
                let (entries,): (Vec<(String, HashMap<String, String>)>,) = self
                    .query(
                        redis::pipe()
                            .cmd("XRANGE")
                            .arg(self.route_key(route, "dead"))
                            .arg("-")
                            .arg("+")
                            .arg("COUNT")
                            .arg(limit),
                    )
                    .await?;
                entries
                    .into_iter()
                    .filter_map(|(_, f)| f.get("id").cloned())
                    .collect()
            }
        };
        if ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut p = redis::pipe();
        for id in &ids {
            let key = format!("{}{id}", self.hash_prefix());
            p.cmd("HMGET")
                .arg(&key)
                .arg(&["route", "received", "attempts", "state", "when", "note"]);
            p.cmd("HSTRLEN").arg(&key).arg("body");
        }
        let replies: Vec<Value> = self.query(&p).await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, pair) in ids.iter().zip(replies.chunks(2)) {
            let values: Vec<Option<Vec<u8>>> =
                redis::from_redis_value(&pair[0]).map_err(unavailable)?;
            let names = ["route", "received", "attempts", "state", "when", "note"];
            let f: Fields = names
                .iter()
                .zip(values)
                .filter_map(|(n, v)| v.map(|v| (n.to_string(), v)))
                .collect();
            let (Some(id), false) = (DeliveryId::parse(id), f.is_empty()) else {
                continue;
            };
            out.push(Summary {
                id,
                route: text(&f, "route"),
                received: from_millis(number(&f, "received")),
                attempts: u32::try_from(number(&f, "attempts")).unwrap_or(u32::MAX),
                state: self::state(&f),
                last_error: last_error(&f),
                body_len: redis::from_redis_value(&pair[1]).unwrap_or(0),
            });
        }
        Ok(out)
    }

    async fn show(&self, id: DeliveryId) -> Result<Option<QueuedDelivery>, QueueError> {
        let (f,): (Fields,) = self.query(redis::pipe().hgetall(self.hash_key(id))).await?;
        Ok((!f.is_empty()).then(|| delivery(id, &f)))
    }

    async fn retry_dead(
        &self,
        route: &str,
        target: RetryTarget,
        now: SystemTime,
    ) -> Result<u64, QueueError> {
        let one = match target {
            RetryTarget::One(id) => id.to_string(),
            RetryTarget::AllDead => String::new(),
        };
        let mut total = 0;
        loop {
            let mut inv = self.scripts.revive.prepare_invoke();
            inv.key(self.route_key(route, "dead"))
                .key(self.route_key(route, "ready"))
                .key(self.route_key(route, "open"))
                .arg(self.hash_prefix())
                .arg(route)
                .arg(to_millis(now))
                .arg(&one)
                .arg(CHUNK);
            let moved: u64 = self.eval(inv).await?;
            total += moved;
            if !one.is_empty() || moved < CHUNK {
                break;
            }
        }
        if total > 0 {
            self.signal.notify_waiters();
        }
        Ok(total)
    }

    async fn purge_dead(&self, route: &str, before: Option<SystemTime>) -> Result<u64, QueueError> {
        let end = before.map_or("+".to_string(), |t| {
            to_millis(t).saturating_sub(1).to_string()
        });
        let mut total = 0;
        loop {
            let mut inv = self.scripts.purge.prepare_invoke();
            inv.key(self.route_key(route, "dead"))
                .key(self.global_key("bytes"))
                .arg(self.hash_prefix())
                .arg(&end)
                .arg(CHUNK);
            let n: u64 = self.eval(inv).await?;
            total += n;
            if n < CHUNK {
                return Ok(total);
            }
        }
    }

    async fn stats(&self, routes: &[String], now: SystemTime) -> Result<Stats, QueueError> {
        let (known, bytes): (Vec<String>, Option<u64>) = self
            .query(
                redis::pipe()
                    .smembers(self.global_key("routes"))
                    .get(self.global_key("bytes")),
            )
            .await?;
        let names: BTreeSet<String> = routes.iter().cloned().chain(known).collect();
        let mut p = redis::pipe();
        for r in &names {
            p.zcard(self.route_key(r, "open"))
                .cmd("XLEN")
                .arg(self.route_key(r, "dead"))
                .cmd("ZRANGE")
                .arg(self.route_key(r, "open"))
                .arg(0)
                .arg(0)
                .arg("WITHSCORES");
        }
        let replies: Vec<Value> = if names.is_empty() {
            Vec::new()
        } else {
            self.query(&p).await?
        };
        let mut out = Vec::with_capacity(names.len());
        for (route, r) in names.into_iter().zip(replies.chunks(3)) {
            let pending: u64 = redis::from_redis_value(&r[0]).map_err(unavailable)?;
            let dead: u64 = redis::from_redis_value(&r[1]).map_err(unavailable)?;
            let oldest: Vec<(String, f64)> = redis::from_redis_value(&r[2]).unwrap_or_default();
            let oldest_pending = oldest
                .first()
                .map(|(_, ms)| {
                    now.duration_since(from_millis(*ms as u64))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            if pending + dead > 0 || routes.contains(&route) {
                out.push((
                    route,
                    RouteStats {
                        pending,
                        dead,
                        oldest_pending,
                    },
                ));
            }
        }
        Ok(Stats {
            routes: out,
            bytes: bytes.unwrap_or(0),
            max_bytes: self.opts.max_bytes,
        })
    }

    fn work_signal(&self) -> Arc<Notify> {
        self.signal.clone()
    }

    fn heartbeat(&self) -> Option<Duration> {
        Some(self.opts.claim_idle / 3)
    }
}
