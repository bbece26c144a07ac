//! The shared store: Redis, for several hookgate instances behind one load balancer.
//!
//! Reserve is one atomic `SET key r:<token> NX PX ttl` (inside a script that
//! also reports what holds the key), commit is `SET key c PX retain`, release
//! deletes the key only while it still holds our token. Every call has a
//! timeout; an unreachable Redis is [`StoreError::Unavailable`] and the route
//! fails closed unless `fail_open`. Redis need not be up when hookgate starts.

use super::{token, ReplayStore, Reservation, ReserveOutcome, StoreError};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::sync::OnceCell;

const RESERVE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('GET', KEYS[1]) == 'c' then return 2 end
return 1
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Redis-backed replay store.
pub struct RedisStore {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
    connect_timeout: Duration,
    command_timeout: Duration,
    reserve: redis::Script,
    release: redis::Script,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// A store for `url`; connects on first use.
    pub fn new(
        url: &str,
        prefix: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, String> {
        Ok(RedisStore {
            client: redis::Client::open(url).map_err(|e| e.to_string())?,
            conn: OnceCell::new(),
            prefix: prefix.to_string(),
            connect_timeout,
            command_timeout,
            reserve: redis::Script::new(RESERVE),
            release: redis::Script::new(RELEASE),
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let init = || async {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(self.connect_timeout)
                .set_number_of_retries(1);
            tokio::time::timeout(
                self.connect_timeout,
                ConnectionManager::new_with_config(self.client.clone(), cfg),
            )
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(unavailable)
        };
        self.conn.get_or_try_init(init).await.cloned()
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    /// Run `f` on a connection, bounded by the command timeout: on pingora's
    /// shared timer thread, the one bound per command (a tokio timer armed
    /// per command costs an eventfd wake-up of the runtime's driver).
    /// Dropping a command that timed out is safe on the multiplexed
    /// connection: its late answer is discarded.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn().await?;
        pingora::time::timeout(self.command_timeout, f(conn))
            .await
            .map_err(|_| unavailable("command timed out"))?
            .map_err(unavailable)
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().max(1) as u64
}

#[async_trait]
impl ReplayStore for RedisStore {
    async fn reserve(&self, key: &str, ttl: Duration) -> Result<ReserveOutcome, StoreError> {
        let t = token();
        let full = self.key(key);
        let value = format!("r:{t:032x}");
        let code: i64 = self
            .run(|mut c| async move {
                self.reserve
                    .key(&full)
                    .arg(&value)
                    .arg(millis(ttl))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match code {
            0 => ReserveOutcome::Reserved(Reservation {
                key: key.to_string(),
                token: t,
            }),
            2 => ReserveOutcome::Duplicate,
            _ => ReserveOutcome::InFlight,
        })
    }

    async fn commit(&self, r: &Reservation, retain: Duration) -> Result<(), StoreError> {
        let full = self.key(&r.key);
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(&full)
                .arg("c")
                .arg("PX")
                .arg(millis(retain))
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn release(&self, r: &Reservation) -> Result<(), StoreError> {
        let full = self.key(&r.key);
        let value = format!("r:{:032x}", r.token);
        self.run(|mut c| async move {
            self.release
                .key(&full)
                .arg(&value)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(|_| ())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn keys_held(&self) -> Option<u64> {
        None
    }
}
