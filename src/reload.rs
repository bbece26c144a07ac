//! Hot reload: SIGHUP or `POST /reload` on the admin listener.
//!
//! The new file is loaded and validated completely before anything changes;
//! only then is it swapped in atomically. Requests already running keep the
//! snapshot they started with (they hold an `Arc` to it), new requests see
//! the new one. A bad file changes nothing: the error is logged and counted
//! and the old config keeps serving.

use crate::config::{self, Config, ConfigErrors};
use crate::metrics::{unix_now, Metrics};
use crate::tls::TlsListeners;
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
    tls: Arc<TlsListeners>,
    /// A queue store was opened at start (only then can routes queue).
    queue_open: bool,
    /// Serialises reloads so two triggers cannot interleave.
    lock: Mutex<()>,
}

impl Reloader {
    /// A reloader for `path` feeding `config`.
    pub fn new(
        path: PathBuf,
        config: Arc<ArcSwap<Config>>,
        metrics: Arc<Metrics>,
        tls: Arc<TlsListeners>,
        queue_open: bool,
    ) -> Self {
        Reloader {
            path,
            config,
            metrics,
            tls,
            queue_open,
            lock: Mutex::new(()),
        }
    }

    /// Give every running TLS listener its material from `new` (already
    /// loaded and checked by `config::load`): all of them, or none changes.
    fn reload_tls(&self, new: &Config) -> Result<(), ConfigErrors> {
        use crate::config::error::{line_of_key, Seg};
        let pairs: Vec<_> = new
            .listeners
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((i, self.tls.get(&l.name)?, l.tls.as_ref()?)))
            .collect();
        let fail = |i: usize, t: &crate::tls::TlsListener, e: crate::tls::ListenerError| {
            let path = [Seg::Key("listener"), Seg::Index(i), Seg::Key("tls")];
            ConfigErrors(vec![crate::config::ConfigError {
                file: self.path.clone(),
                key: format!("listener {:?}.tls.client_auth", t.name()),
                message: e.to_string(),
                line: line_of_key(&new.source_text, &path),
            }])
        };
        for (i, t, tls) in &pairs {
            t.can_reload(tls).map_err(|e| fail(*i, t, e))?;
        }
        for (i, t, tls) in pairs {
            t.reload(tls).map_err(|e| fail(i, t, e))?;
        }
        Ok(())
    }

    /// Queue mode needs the store opened at start: a reload that turns it on
    /// in a process started without `[queue]` is refused (the routes would
    /// answer 503 until a restart).
    fn check_queue(&self, new: &Config) -> Result<(), ConfigErrors> {
        use crate::config::error::{line_of_key, Seg};
        let Some((i, route)) =
            (new.routes.iter().enumerate()).find(|(_, r)| r.delivery.queued().is_some())
        else {
            return Ok(());
        };
        if self.queue_open {
            return Ok(());
        }
        let path = [
            Seg::Key("route"),
            Seg::Index(i),
            Seg::Key("delivery"),
            Seg::Key("mode"),
        ];
        Err(ConfigErrors(vec![crate::config::ConfigError {
            file: self.path.clone(),
            key: format!("route {:?}.delivery.mode", route.name),
            message: "queue mode needs the [queue] store, which is opened at start: restart hookgate (or upgrade) to queue".into(),
            line: line_of_key(&new.source_text, &path),
        }]))
    }

    /// Load, validate and swap. Returns the new generation.
    pub fn reload(&self) -> Result<i64, ConfigErrors> {
        let _serial = self.lock.lock();
        let loaded = config::load_metered(&self.path, &self.metrics)
            .and_then(|new| self.check_queue(&new).map(|()| new))
            .and_then(|new| self.reload_tls(&new).map(|()| new));
        match loaded {
            Ok(new) => {
                let old = self.config.load();
                let mut notes = Vec::new();
                if new.admin.listen != old.admin.listen {
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
                if new.queue != old.queue {
                    notes.push(
                        "[queue] store settings changed: take effect after a restart or upgrade",
                    );
                }
                self.config.store(Arc::new(new));
                let generation = self.metrics.config_generation.get() + 1;
                self.metrics.config_generation.set(generation);
                self.metrics
                    .config_reloads
                    .with_label_values(&["success"])
                    .inc();
                self.metrics.config_last_success.set(unix_now());
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

/// `hookgate reload`: POST `/reload` to the admin listener named in the
/// config file (see [`crate::admin_client`]). Returns the server's answer;
/// `Err` when the reload failed.
pub fn request(path: &std::path::Path) -> Result<String, String> {
    let answer = crate::admin_client::call(path, "POST", "/reload")?;
    match answer.status {
        200 => Ok(answer.body),
        401 => Err(format!(
            "hookgate admin refused the reload: {}",
            answer.body.trim_end()
        ) + ": set [admin] token in this file to the running instance's token\n"),
        _ => Err(answer.body),
    }
}
