//! `hookgate check`: a readable summary of what a config will do.

use crate::config::Config;
use std::fmt::Write;

/// Summarise listeners and routes, one line each, for ops to eyeball.
pub fn summary(cfg: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config {} is valid", cfg.source.display());
    let _ = writeln!(
        out,
        "admin: http://{}  (/metrics /healthz /readyz)",
        cfg.admin_listen
    );
    for l in &cfg.listeners {
        let _ = writeln!(out, "listener {}: http://{}", l.name, l.addr);
    }
    for r in &cfg.routes {
        let host = r
            .host
            .as_deref()
            .map(|h| format!(" host={h}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "route {}: {}{} -> {} (max body {}, connect {:?}, read {:?})",
            r.name,
            r.path_prefix,
            host,
            r.upstream.display.join(", "),
            crate::config::units::ByteSize(r.max_body_bytes),
            r.upstream.connect_timeout,
            r.upstream.read_timeout,
        );
    }
    out
}
