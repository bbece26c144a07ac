//! Hot reload: SIGHUP or `POST /reload` on the admin listener.
//!
//! The new file is loaded and validated completely before anything changes;
//! only then is it swapped in atomically. Requests already running keep the
//! snapshot they started with (they hold an `Arc` to it), new requests see
//! the new one. A bad file changes nothing: the error is logged and counted
//! and the old config keeps serving.

use crate::config::{self, Config, ConfigErrors};
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use parking_lot::Mutex;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::path::PathBuf;
use std::sync::Arc;

/// Reloads one config file into the live `ArcSwap`.
pub struct Reloader {
    path: PathBuf,
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
    tls: Arc<crate::server::TlsListeners>,
    /// Serialises reloads so two triggers cannot interleave.
    lock: Mutex<()>,
}

impl Reloader {
    /// A reloader for `path` feeding `config`.
    pub fn new(
        path: PathBuf,
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        tls: Arc<crate::server::TlsListeners>,
    ) -> Self {
        Reloader {
            path,
            config,
            metrics,
            tls,
            lock: Mutex::new(()),
        }
    }

    /// Reload every TLS listener's files from `new`: all of them load, or none changes.
    fn reload_tls(&self, new: &Config) -> Result<(), ConfigErrors> {
        let pairs: Vec<_> = new
            .listeners
            .iter()
            .filter_map(|l| Some((self.tls.get(&l.name)?, l.tls.clone()?)))
            .collect();
        let fail = |l: &str, e: crate::tls::TlsError| {
            ConfigErrors(vec![crate::config::ConfigError {
                file: self.path.clone(),
                key: format!("listener {l:?}.tls"),
                message: e.to_string(),
                line: None,
            }])
        };
        for (t, paths) in &pairs {
            crate::tls::TlsListener::preflight(paths).map_err(|e| fail(t.name(), e))?;
        }
        for (t, paths) in pairs {
            t.reload(paths).map_err(|e| fail(t.name(), e))?;
        }
        Ok(())
    }

    /// Load, validate and swap. Returns the new generation.
    pub fn reload(&self) -> Result<i64, ConfigErrors> {
        let _serial = self.lock.lock();
        match config::load(&self.path).and_then(|new| self.reload_tls(&new).map(|()| new)) {
            Ok(new) => {
                let old = self.config.load();
                let mut notes = Vec::new();
                if new.admin_listen != old.admin_listen {
                    notes.push("admin.listen changed: takes effect after a restart or upgrade");
                }
                let addrs = |c: &Config| c.listeners.iter().map(|l| l.addr).collect::<Vec<_>>();
                if addrs(&new) != addrs(&old) {
                    notes
                        .push("listener addresses changed: take effect after a restart or upgrade");
                }
                if new.replay.store != old.replay.store {
                    notes.push(
                        "[replay] store settings changed: take effect after a restart or upgrade",
                    );
                }
                for r in &new.routes {
                    self.metrics.init_route(&r.name);
                }
                self.config.store(Arc::new(new));
                let generation = self.metrics.config_generation.get() + 1;
                self.metrics.config_generation.set(generation);
                self.metrics
                    .config_reloads
                    .with_label_values(&["success"])
                    .inc();
                self.metrics
                    .config_last_success
                    .set(crate::server::unix_now());
                tracing::info!(file = %self.path.display(), generation, notes = ?notes, "config reloaded");
                Ok(generation)
            }
            Err(e) => {
                self.metrics
                    .config_reloads
                    .with_label_values(&["error"])
                    .inc();
                tracing::error!(file = %self.path.display(), error = %e, "config reload failed; the running config is unchanged");
                Err(e)
            }
        }
    }
}

/// Background service turning SIGHUP into a reload.
pub struct SighupReload(pub Arc<Reloader>);

#[async_trait]
impl BackgroundService for SighupReload {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; reload via POST /reload only");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    let r = self.0.clone();
                    // Loading resolves upstream names: keep it off the async workers.
                    let _ = tokio::task::spawn_blocking(move || r.reload()).await;
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// `hookgate reload`: find the admin address in the config file (read
/// loosely, since the file may be the broken one being tested) and POST
/// `/reload`. Returns the server's answer; `Err` when the reload failed.
pub fn request(path: &std::path::Path) -> Result<String, String> {
    use std::io::{Read, Write};
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}\n", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {}\n", path.display(), e.message()))?;
    let admin = table
        .get("admin")
        .and_then(|a| a.get("listen"))
        .and_then(|l| l.as_str())
        .ok_or_else(|| format!("{}: admin.listen is not set\n", path.display()))?;
    let timeout = std::time::Duration::from_secs(30);
    let addr: std::net::SocketAddr = admin
        .parse()
        .map_err(|_| format!("admin.listen {admin:?} is not ip:port\n"))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot reach hookgate admin at {admin}: {e}\n"))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    s.write_all(format!("POST /reload HTTP/1.1\r\nhost: {admin}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("sending reload: {e}\n"))?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)
        .map_err(|e| format!("reading reload answer: {e}\n"))?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    if head.starts_with("HTTP/1.1 200") {
        Ok(body.to_string())
    } else {
        Err(body.to_string())
    }
}
