//! The queue inside a running hookgate: the store, the runtime that owns it,
//! the worker pool, and how the pool follows reloads and shutdown.
//!
//! The store is opened before pingora starts, on a runtime of its own that
//! lives as long as the process: the Redis store's connection task and the
//! workers run there, while the request path and the admin API (on
//! pingora's runtimes) call the same store.
//!
//! Workers run for every queue-mode route of the live config, and for any
//! direct-mode route that still holds deliveries queued before a reload
//! switched it back (they drain with the default policy). A reload that
//! changes that set starts a new pool at once and lets the old one finish
//! its attempts in progress. At shutdown the pool stops leasing and waits
//! for attempts in progress up to the grace period; an attempt cut short
//! keeps its delivery pending (released, or taken over after `claim_idle`
//! on Redis): never lost.

use super::worker::QueueRoute;
use super::{Deliver, DeliveryPolicy, QueueError, QueueMetrics, QueueSettings, QueueStore};
use crate::config::Config;
use arc_swap::ArcSwap;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How often the live config is compared with the routes the workers serve.
const RELOAD_POLL: Duration = Duration::from_millis(500);
/// Beyond the workers' grace: the time cut-short attempts take to unwind.
const STOP_SLACK: Duration = Duration::from_secs(1);
/// How often an upgrading process tries the file the old one still holds.
const HANDOVER_POLL: Duration = Duration::from_millis(100);

/// The running queue: store, runtime, workers.
pub struct QueueService {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn QueueStore>,
    stop: watch::Sender<bool>,
    stopped: Arc<Stopped>,
    /// The workers' grace at shutdown, once started.
    grace: Mutex<Option<Duration>>,
}

/// Set once the workers have stopped.
#[derive(Default)]
struct Stopped {
    done: Mutex<bool>,
    cond: Condvar,
}

impl Stopped {
    fn set(&self) {
        *self.done.lock() = true;
        self.cond.notify_all();
    }
}

/// What the workers need from the rest of hookgate.
pub struct Wiring {
    /// The live config (swapped on reload).
    pub config: Arc<ArcSwap<Config>>,
    /// How attempts reach the upstreams.
    pub deliver: Arc<dyn Deliver>,
    /// Where depth and attempts are published.
    pub metrics: Arc<QueueMetrics>,
    /// How long attempts in progress may finish at shutdown or reload.
    pub grace: Duration,
}

impl QueueService {
    /// Open the store on a runtime of its own with `threads` workers. A Redis
    /// without persistence, a file another process holds, or a store that
    /// cannot be reached is an error: hookgate does not start acknowledging
    /// deliveries it cannot keep. `handover`: during a binary upgrade the
    /// old process holds the embedded file until it has drained; wait for it
    /// that long (new connections wait in the listen backlog meanwhile).
    pub fn open(
        settings: &QueueSettings,
        threads: usize,
        handover: Option<Duration>,
    ) -> Result<Self, QueueError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("hookgate-queue")
            .enable_all()
            .build()
            .map_err(|e| QueueError::Unavailable(format!("cannot start the queue runtime: {e}")))?;
        let store = runtime.block_on(open_waiting(settings, handover))?;
        let (stop, _) = watch::channel(false);
        Ok(QueueService {
            runtime,
            store,
            stop,
            stopped: Arc::new(Stopped::default()),
            grace: Mutex::new(None),
        })
    }

    /// The store, for the request path and the admin API.
    pub fn store(&self) -> Arc<dyn QueueStore> {
        self.store.clone()
    }

    /// Start the workers; they follow reloads until [`QueueService::stop`].
    pub fn start(&self, wiring: Wiring) {
        *self.grace.lock() = Some(wiring.grace);
        let (store, stop, stopped) = (
            self.store.clone(),
            self.stop.subscribe(),
            self.stopped.clone(),
        );
        self.runtime.spawn(async move {
            supervise(store, wiring, stop).await;
            stopped.set();
        });
    }

    /// Shutdown began: stop leasing new work.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Wait (blocking) until the workers stopped: their attempts in progress
    /// finished or were cut short at the end of their grace. False when they
    /// did not in time (or were never started).
    pub fn wait_stopped(&self) -> bool {
        let Some(grace) = *self.grace.lock() else {
            return false;
        };
        let mut done = self.stopped.done.lock();
        if !*done {
            let _ = self.stopped.cond.wait_for(&mut done, grace + STOP_SLACK);
        }
        *done
    }
}

/// [`super::open`], retrying while another process holds the file, for at
/// most `handover`.
async fn open_waiting(
    settings: &QueueSettings,
    handover: Option<Duration>,
) -> Result<Arc<dyn QueueStore>, QueueError> {
    let deadline = tokio::time::Instant::now() + handover.unwrap_or_default();
    let mut logged = false;
    loop {
        match super::open(settings).await {
            Err(QueueError::InUse(path)) if tokio::time::Instant::now() < deadline => {
                if !std::mem::replace(&mut logged, true) {
                    tracing::info!(%path, "upgrade: waiting for the old process to release the queue file");
                }
                tokio::time::sleep(HANDOVER_POLL).await;
            }
            other => return other,
        }
    }
}

/// The routes workers serve for `cfg`: its queue-mode routes, plus direct
/// routes that still hold queued deliveries (`holding`).
fn worker_routes(cfg: &Config, holding: &[String]) -> Vec<QueueRoute> {
    cfg.routes
        .iter()
        .filter_map(|r| match r.delivery.queued() {
            Some(policy) => Some(QueueRoute {
                name: r.name.clone(),
                policy: policy.clone(),
            }),
            None if holding.contains(&r.name) => Some(QueueRoute {
                name: r.name.clone(),
                policy: DeliveryPolicy::default(),
            }),
            None => None,
        })
        .collect()
}

/// Routes with pending deliveries in the store (empty when it cannot say).
async fn holding(store: &dyn QueueStore) -> Vec<String> {
    match store.stats(&[], SystemTime::now()).await {
        Ok(s) => s
            .routes
            .into_iter()
            .filter(|(_, r)| r.pending > 0)
            .map(|(name, _)| name)
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn supervise(store: Arc<dyn QueueStore>, w: Wiring, mut stop: watch::Receiver<bool>) {
    let mut seen = w.config.load_full();
    let held = holding(store.as_ref()).await;
    warn_stranded(&seen, &held);
    let mut routes = worker_routes(&seen, &held);
    let start = |routes: &[QueueRoute]| {
        super::WorkerPool::start(
            store.clone(),
            w.deliver.clone(),
            routes.to_vec(),
            Some(w.metrics.clone()),
        )
    };
    let mut pool = start(&routes);
    let mut retiring = JoinSet::new();
    let mut tick = tokio::time::interval(RELOAD_POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let cfg = w.config.load_full();
                if Arc::ptr_eq(&cfg, &seen) {
                    continue;
                }
                seen = cfg;
                let now = worker_routes(&seen, &holding(store.as_ref()).await);
                if now != routes {
                    tracing::info!(routes = ?now.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), "queue routes changed: workers restarted");
                    let old = std::mem::replace(&mut pool, start(&now));
                    retiring.spawn(old.shutdown(w.grace));
                    routes = now;
                }
            }
            _ = stop.changed() => break,
        }
    }
    tracing::info!("queue workers stopping: attempts in progress may finish");
    retiring.spawn(pool.shutdown(w.grace));
    while retiring.join_next().await.is_some() {}
}

/// Deliveries queued for a route the config no longer has wait until it
/// comes back: say so, since nothing delivers them meanwhile.
fn warn_stranded(cfg: &Config, held: &[String]) {
    for name in held
        .iter()
        .filter(|n| !cfg.routes.iter().any(|r| &r.name == *n))
    {
        tracing::warn!(route = %name, "deliveries are queued for a route that is not configured; they wait until it is (see `hookgate queue list`)");
    }
}
