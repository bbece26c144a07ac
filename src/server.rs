//! Assembling the pingora server from a validated config.

use crate::admin::Admin;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::proxy::Gateway;
use crate::reload::{Reloader, SighupReload};
use arc_swap::ArcSwap;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::ExecutionPhase;
use pingora::server::Server;
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A built server plus the handles the binary keeps (config swap, metrics).
pub struct Built {
    /// The pingora server, ready for `run_forever`.
    pub server: Server,
    /// The live config (swapped on reload).
    pub config: Arc<ArcSwap<Config>>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
}

/// Build the pingora server: one proxy service on every listener, one admin service.
pub fn build(cfg: Config, upgrade: bool) -> anyhow::Result<Built> {
    let metrics = Arc::new(Metrics::new()?);
    for r in &cfg.routes {
        metrics.init_route(&r.name);
    }
    metrics.config_generation.set(1);
    metrics.config_last_success.set(unix_now());

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
    drain_then_exit(server.watch_execution_phase(), metrics.clone());

    let listeners = cfg.listeners.clone();
    let admin_listen = cfg.admin_listen;
    let source = cfg.source.clone();
    let config = Arc::new(ArcSwap::from_pointee(cfg));

    let reloader = Arc::new(Reloader::new(source, config.clone(), metrics.clone()));
    let gateway = Gateway::new(config.clone(), metrics.clone());
    let mut proxy =
        pingora::proxy::http_proxy_service_with_name(&server.configuration, gateway, "hookgate");
    for l in &listeners {
        proxy.add_tcp(&l.addr.to_string());
    }
    let mut admin = Service::new(
        "hookgate-admin".to_string(),
        Admin {
            config: config.clone(),
            metrics: metrics.clone(),
            reloader: reloader.clone(),
        },
    );
    admin.add_tcp(&admin_listen.to_string());
    server.add_service(proxy);
    server.add_service(admin);
    server.add_service(background_service("sighup-reload", SighupReload(reloader)));
    Ok(Built {
        server,
        config,
        metrics,
    })
}

/// Once pingora enters its shutdown grace period (listeners closed), exit as
/// soon as no request is in flight instead of sleeping the whole period.
fn drain_then_exit(
    mut phase: tokio::sync::broadcast::Receiver<ExecutionPhase>,
    metrics: Arc<Metrics>,
) {
    std::thread::spawn(move || loop {
        match phase.blocking_recv() {
            Ok(ExecutionPhase::ShutdownGracePeriod) => {
                while metrics.in_flight.get() > 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                tracing::info!("in-flight requests drained, exiting");
                std::process::exit(0);
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    });
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
