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
    ) -> Self {
        Reloader {
            path,
            config,
            metrics,
            tls,
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

    /// Load, validate and swap. Returns the new generation.
    pub fn reload(&self) -> Result<i64, ConfigErrors> {
        let _serial = self.lock.lock();
        match config::load(&self.path).and_then(|new| self.reload_tls(&new).map(|()| new)) {
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

/// `hookgate reload`: find the admin address (and token) in the config file
/// (read loosely, since the file may be the broken one being tested) and POST
/// `/reload`. Returns the server's answer; `Err` when the reload failed.
pub fn request(path: &std::path::Path) -> Result<String, String> {
    use std::io::{Read, Write};
    let text = crate::files::read_text_bounded(path, 16 << 20)
        .map_err(|e| format!("{}: {e}\n", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {}\n", path.display(), e.message()))?;
    let admin = table.get("admin");
    let listen = admin
        .and_then(|a| a.get("listen"))
        .and_then(|l| l.as_str())
        .ok_or_else(|| format!("{}: admin.listen is not set\n", path.display()))?;
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|_| format!("admin.listen {listen:?} is not ip:port\n"))?;
    let authorization = match admin.and_then(|a| a.get("token")).and_then(|t| t.as_str()) {
        None => String::new(),
        Some(raw) => {
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            let token = crate::secret::SecretSource::parse(raw)
                .resolve(raw, base)
                .map_err(|e| format!("admin.token: {e}\n"))?;
            let token = String::from_utf8(token.expose().to_vec())
                .map_err(|_| "admin.token: not UTF-8\n".to_string())?;
            format!("authorization: Bearer {token}\r\n")
        }
    };
    let timeout = std::time::Duration::from_secs(30);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot reach hookgate admin at {listen}: {e}\n"))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    s.write_all(
        format!("POST /reload HTTP/1.1\r\nhost: {listen}\r\n{authorization}content-length: 0\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| format!("sending reload: {e}\n"))?;
    let mut resp = Vec::new();
    s.take(1 << 20)
        .read_to_end(&mut resp)
        .map_err(|e| format!("reading reload answer: {e}\n"))?;
    let resp = String::from_utf8_lossy(&resp);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    if head.starts_with("HTTP/1.1 200") {
        Ok(body.to_string())
    } else if head.starts_with("HTTP/1.1 401") {
        Err(
            format!("hookgate admin refused the reload: {}", body.trim_end())
                + ": set [admin] token in this file to the running instance's token\n",
        )
    } else {
        Err(body.to_string())
    }
}
