//! Assembling the pingora server from a validated config.

use crate::admin::Admin;
use crate::config::Config;
use crate::connection::Edge;
use crate::drain::{drain_then_exit, InFlight};
use crate::metrics::Metrics;
use crate::proxy::deliverer::Deliverer;
use crate::proxy::forward::Upstreams;
use crate::proxy::Gateway;
use crate::queue::service::{QueueService, Wiring};
use crate::queue::QueueMetrics;
use crate::reload::{Reloader, SighupReload};
use crate::replay::config::StoreKind;
use crate::replay::memory::MemoryStore;
use crate::replay::redis::RedisStore;
use crate::replay::{ReplaySettings, ReplayStore};
use crate::tls::{TlsListener, TlsListeners};
use arc_swap::ArcSwap;
use pingora::listeners::Listeners;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::server::ShutdownWatch;
use pingora::services::background::background_service;
use pingora::services::background::BackgroundService;
use pingora::services::listening::Service;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A built server plus the handles the binary keeps (config swap, metrics).
pub struct Built {
    /// The pingora server, ready for `run_forever`.
    pub server: Server,
    /// The live config (swapped on reload).
    pub config: Arc<ArcSwap<Config>>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// The durable-delivery queue, when `[queue]` is set (its runtime lives
    /// as long as this does).
    pub queue: Option<Arc<QueueService>>,
}

/// Every address `cfg` listens on, named for messages.
fn addresses(cfg: &Config) -> Vec<(String, std::net::SocketAddr)> {
    let mut out = vec![("[admin] listen".to_string(), cfg.admin.listen)];
    out.extend(
        cfg.listeners
            .iter()
            .map(|l| (format!("listener {:?}", l.name), l.addr)),
    );
    out
}

/// Build the pingora server: hookgate's own app on every listener (TLS
/// listeners are plain TCP to pingora: the handshake runs in
/// [`crate::connection`], under `header_timeout`), one admin service.
///
/// Unless `upgrade` (sockets are then inherited from the running process),
/// every address is bound once first: pingora would retry an address in use
/// for 30 s and then leave the process running without that listener.
pub fn build(cfg: Config, metrics: Arc<Metrics>, upgrade: bool) -> anyhow::Result<Built> {
    if !upgrade {
        crate::sockets::ensure_free(addresses(&cfg))?;
    }
    metrics.config_generation.set(1);
    metrics.config_last_success.set(crate::metrics::unix_now());

    let conf = ServerConf {
        threads: cfg.server.threads,
        // pingora sleeps the whole grace period after SIGTERM and then cancels
        // whatever is still running; `drain_then_exit` ends the sleep early
        // once no request is in flight.
        grace_period_seconds: Some(cfg.server.shutdown_timeout.as_secs().max(1)),
        graceful_shutdown_timeout_seconds: Some(1),
        pid_file: cfg.server.pid_file.clone(),
        upgrade_sock: cfg.server.upgrade_sock.clone(),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();

    let listeners = cfg.listeners.clone();
    let admin_listen = cfg.admin.listen;
    let source = cfg.source.clone();
    let config = Arc::new(ArcSwap::from_pointee(cfg));

    // rustls needs a process-wide provider before any config is built; pingora
    // installs the same (ring) one later, so a second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut tls = TlsListeners::new();
    for l in &listeners {
        if let Some(material) = &l.tls {
            let t = TlsListener::new(&l.name, material, metrics.clone());
            tls.insert(l.name.clone(), Arc::new(t));
        }
    }
    let tls = Arc::new(tls);
    let reloader = Arc::new(Reloader::new(
        source,
        config.clone(),
        metrics.clone(),
        tls.clone(),
        config.load().queue.is_some(),
    ));
    let store = replay_store(&config.load().replay)?;
    tracing::info!(store = store.kind(), "replay store ready");
    if let Some(w) = crate::check::redis_persistence(&config.load()) {
        tracing::warn!("{w}");
    }
    let in_flight = InFlight::new(metrics.in_flight.clone());
    let upstreams = Arc::new(Upstreams::default());
    let queue = start_queue(&config, &metrics, &upstreams, upgrade)?;
    let queue_store = queue.as_ref().map(|q| q.store());
    let gateway = Gateway::new(
        config.clone(),
        metrics.clone(),
        upstreams,
        store.clone(),
        queue_store.clone(),
        in_flight.clone(),
    );
    let mut endpoints = Listeners::new();
    let mut acceptors = std::collections::HashMap::new();
    for l in &listeners {
        endpoints.add_tcp(&l.addr.to_string());
        if let Some(t) = tls.get(&l.name) {
            acceptors.insert(l.name.clone(), t.acceptor()?);
        }
    }
    let proxy = Service::with_listeners(
        "hookgate".to_string(),
        endpoints,
        Edge::new(gateway, config.clone(), metrics.clone(), acceptors),
    );
    let mut admin = Service::new(
        "hookgate-admin".to_string(),
        Admin::new(
            config.clone(),
            metrics.clone(),
            reloader.clone(),
            listeners.iter().map(|l| (l.name.clone(), l.addr)).collect(),
            queue_store,
        )?,
    );
    admin.add_tcp(&admin_listen.to_string());
    server.add_service(proxy);
    server.add_service(admin);
    server.add_service(background_service("sighup-reload", SighupReload(reloader)));
    server.add_service(background_service(
        "upkeep",
        Upkeep {
            store: store.clone(),
            metrics: metrics.clone(),
            tls,
        },
    ));
    drain_then_exit(
        server.watch_execution_phase(),
        in_flight,
        store,
        queue.clone(),
    );
    Ok(Built {
        server,
        config,
        metrics,
        queue,
    })
}

/// Open the queue store (refusing to start when it cannot keep what it
/// acknowledges) and start its workers, delivering through the gateway's
/// own upstream forwarder and connection pool. On `upgrade` the old process
/// has the sockets' hand-over behind it (`bootstrap`) and is draining: its
/// embedded file is waited for, as long as its drain may take.
fn start_queue(
    config: &Arc<ArcSwap<Config>>,
    metrics: &Arc<Metrics>,
    upstreams: &Arc<Upstreams>,
    upgrade: bool,
) -> anyhow::Result<Option<Arc<QueueService>>> {
    let cfg = config.load();
    let Some(settings) = &cfg.queue else {
        return Ok(None);
    };
    let handover = upgrade.then_some(cfg.server.shutdown_timeout + HANDOVER_SLACK);
    let queue = Arc::new(QueueService::open(settings, cfg.server.threads, handover)?);
    let routes = crate::queue::ops::queue_routes(&cfg);
    let queue_metrics = Arc::new(QueueMetrics::register(metrics.registry(), &routes)?);
    queue.start(Wiring {
        config: config.clone(),
        deliver: Arc::new(Deliverer::new(config.clone(), upstreams.clone())),
        metrics: queue_metrics,
        grace: cfg.server.shutdown_timeout,
    });
    tracing::info!(store = %settings.describe(), routes = ?routes, "queue store ready, workers started");
    Ok(Some(queue))
}

/// Beyond the old process's `shutdown_timeout`: the time it takes to exit.
const HANDOVER_SLACK: Duration = Duration::from_secs(5);

/// Build the configured replay store (shared by every config generation:
/// changing `[replay]` needs a restart).
fn replay_store(settings: &ReplaySettings) -> anyhow::Result<Arc<dyn ReplayStore>> {
    Ok(match &settings.store {
        StoreKind::Memory {
            max_keys,
            persist_path,
        } => {
            Arc::new(MemoryStore::new(*max_keys, persist_path.clone()).map_err(anyhow::Error::msg)?)
        }
        StoreKind::Redis {
            url,
            prefix,
            connect_timeout,
            command_timeout,
        } => Arc::new(
            RedisStore::new(url, prefix, *connect_timeout, *command_timeout)
                .map_err(anyhow::Error::msg)?,
        ),
    })
}

/// Periodic upkeep: reclaim expired replay keys, publish the key count and
/// certificate expiry, and snapshot a persistent memory store every 30 s.
struct Upkeep {
    store: Arc<dyn ReplayStore>,
    metrics: Arc<Metrics>,
    tls: Arc<TlsListeners>,
}

#[async_trait::async_trait]
impl BackgroundService for Upkeep {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    n += 1;
                    self.store.sweep();
                    for t in self.tls.values() {
                        let left = t.not_after().duration_since(SystemTime::now()).map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64());
                        self.metrics.tls_cert_expiry_days.with_label_values(&[t.name()]).set(left / 86400.0);
                    }
                    if let Some(len) = self.store.keys_held() {
                        self.metrics.replay_store_keys.set(len as i64);
                    }
                    if n.is_multiple_of(30) {
                        if let Err(e) = self.store.flush() {
                            tracing::error!(error = %e, "could not persist the replay store");
                        }
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}
