//! Configuration pipeline:
//!
//! ```text
//! hookgate.toml --toml+serde--> file::FileConfig --validate--> runtime::Config
//!                                  (closed sets are enums)      (files loaded, values bounded)
//! ```
//!
//! Parsing is strict (unknown keys are errors) and validation collects every
//! problem as one [`ConfigError`] with its file, key path and line before
//! failing, so ops fix a bad file in one pass. Validation is split per
//! section ([`admin`], [`server`], [`log`], [`limits`], [`listener`],
//! [`route`] with its [`upstream`], [`verify`] call-site, [`replay`] and
//! [`queue`]); every default and range is in [`defaults`]. Every file the config names (TLS material,
//! secrets, IP lists) is opened and parsed here, so a config that passes
//! `hookgate check` is the one `run` serves. Nothing downstream ever sees an
//! unvalidated value.

pub mod admin;
pub mod defaults;
pub mod error;
pub mod file;
pub mod limits;
pub mod listener;
pub mod log;
pub mod queue;
pub mod replay;
pub mod route;
pub mod runtime;
pub mod server;
pub mod units;
pub mod upstream;
pub mod verify;

pub use defaults::{
    DEFAULT_MAX_BODY, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_UPSTREAM_IDLE_TIMEOUT,
};
pub use error::{ConfigError, ConfigErrors};
pub use runtime::{
    AdminSettings, Config, Limits, Listener, LogSettings, Route, ServerSettings, Upstream,
};
pub use upstream::Resolve;

use crate::metrics::Metrics;
use error::Collector;
use file::FileConfig;
use std::path::Path;
use toml::Spanned;
use units::{Bounds, Show};

/// Largest config file read.
const MAX_CONFIG_FILE: u64 = 16 << 20;

/// Read, parse and validate a config file (for `check` and `sign`: its
/// routes count into a registry of their own, which nothing serves).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_metered(path, &detached(path)?)
}

/// Read, parse and validate a config file whose routes count into `metrics`
/// (the served registry: `run` and reload).
pub fn load_metered(path: &Path, metrics: &Metrics) -> Result<Config, ConfigErrors> {
    let src = crate::files::read_text_bounded(path, MAX_CONFIG_FILE)
        .map_err(|e| ConfigErrors::file(path, format!("cannot read file: {e}")))?;
    parse_metered(path, &src, Resolve::System, metrics)
}

/// Parse and validate config text; `path` is used for messages and relative paths.
pub fn parse(path: &Path, src: &str) -> Result<Config, ConfigErrors> {
    parse_with(path, src, Resolve::System)
}

/// [`parse`] choosing how upstream host names are resolved: fuzzers and
/// tests use [`Resolve::NumericOnly`] so that no input reaches DNS.
pub fn parse_with(path: &Path, src: &str, resolve: Resolve) -> Result<Config, ConfigErrors> {
    parse_metered(path, src, resolve, &detached(path)?)
}

/// A registry for a config that is not served.
fn detached(path: &Path) -> Result<Metrics, ConfigErrors> {
    Metrics::new().map_err(|e| ConfigErrors::file(path, format!("metrics: {e}")))
}

/// Parse and validate, resolving each route's metric series in `metrics`.
pub fn parse_metered(
    path: &Path,
    src: &str,
    resolve: Resolve,
    metrics: &Metrics,
) -> Result<Config, ConfigErrors> {
    let file: FileConfig = toml::from_str(src)
        .map_err(|e| ConfigErrors(vec![error::from_toml_error(path, src, &e)]))?;
    let mut c = Collector::new(path, src);
    // Relative paths in the file resolve against the file's directory.
    let base_dir = path.parent().unwrap_or(Path::new("."));
    let cfg = validate(&mut c, &file, base_dir, resolve, metrics);
    match (c.finish(()), cfg) {
        (Ok(()), Some(mut cfg)) => {
            cfg.source = path.to_path_buf();
            cfg.source_text = src.to_string();
            Ok(cfg)
        }
        (Err(e), _) => Err(e),
        // Every `None` above comes with a recorded error.
        (Ok(()), None) => Err(ConfigErrors::file(path, "invalid configuration")),
    }
}

/// Validate every section, then what spans sections.
fn validate(
    c: &mut Collector,
    f: &FileConfig,
    base_dir: &Path,
    resolve: Resolve,
    metrics: &Metrics,
) -> Option<Config> {
    let admin = admin::validate(c, f.admin.as_ref(), base_dir);
    let server = server::validate(c, &f.server);
    let log = log::validate(&f.log);
    let (limits, default_body) = limits::validate(c, &f.limits);
    let listeners =
        listener::validate_all(c, &f.listeners, admin.as_ref().map(|a| a.listen), base_dir);
    let replay = replay::validate_store(c, &f.replay);
    let queue = queue::validate_store(c, f.queue.as_ref(), base_dir);
    queue::check_store_present(c, f.queue.as_ref(), &f.routes);
    let routes = route::validate_all(
        c,
        &f.routes,
        &route::RouteEnv {
            limits: &limits,
            default_body,
            base_dir,
            resolve,
            metrics,
        },
    );
    if let Some(replay) = &replay {
        replay::check_reservation_ttl(c, &f.replay, replay, &f.routes, &routes);
    }
    let admin = admin?;
    Some(Config {
        source: Default::default(),
        source_text: String::new(),
        admin,
        server,
        limits,
        listeners,
        routes,
        replay: replay?,
        queue: queue.ok()?,
        log,
    })
}

/// `v` checked against `bounds`, or `default` when absent. An out-of-range
/// value is recorded as an error (and `default` returned so validation goes on).
pub(crate) fn bounded<F, T: Show>(
    c: &mut Collector,
    key: &str,
    v: Option<&Spanned<F>>,
    get: impl Fn(&F) -> T,
    default: T,
    bounds: Bounds<T>,
) -> T {
    let Some(s) = v else { return default };
    match bounds.check(get(s.get_ref())) {
        Ok(x) => x,
        Err(m) => {
            c.push(key, m, Some(s.span()));
            default
        }
    }
}

#[cfg(test)]
mod tests;
