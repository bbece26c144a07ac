//! `[admin]`: the operator listener and who may use it.

use super::error::Collector;
use super::file::FileAdmin;
use super::listener::parse_socket;
use super::runtime::AdminSettings;
use crate::secret::{Secret, SecretSource};
use std::path::Path;

/// Validate `[admin]` (required: without it there are no metrics or health checks).
pub fn validate(
    c: &mut Collector,
    f: Option<&FileAdmin>,
    base_dir: &Path,
) -> Option<AdminSettings> {
    let Some(f) = f else {
        c.push(
            "admin",
            format!(
                "missing [admin] table with `listen = \"{}\"`",
                super::defaults::DEFAULT_ADMIN_LISTEN
            ),
            None,
        );
        return None;
    };
    let listen = parse_socket(c, "admin.listen", &f.listen);
    let token = f.token.as_ref().and_then(|t| token(c, t, base_dir));
    let protect_metrics = f.protect_metrics.as_ref().is_some_and(|p| *p.get_ref());
    if protect_metrics && f.token.is_none() {
        c.push(
            "admin.protect_metrics",
            "needs [admin] token: the bearer token /metrics then requires",
            f.protect_metrics.as_ref().map(|p| p.span()),
        );
    }
    Some(AdminSettings {
        listen: listen?,
        token,
        protect_metrics,
    })
}

/// The admin token: `env:NAME` or `file:path`, never written inline (the
/// file is readable by whoever deploys it, and `/config` shows it).
fn token(c: &mut Collector, t: &toml::Spanned<String>, base_dir: &Path) -> Option<Secret> {
    let raw = t.get_ref();
    let source = SecretSource::parse(raw);
    if source == SecretSource::Inline {
        c.push(
            "admin.token",
            "use \"env:NAME\" or \"file:path\": an inline token would be readable by anyone who reads the config",
            Some(t.span()),
        );
        return None;
    }
    match source.resolve(raw, base_dir) {
        Ok(s) if s.expose().len() < MIN_TOKEN_BYTES => {
            c.push(
                "admin.token",
                format!("the token must be at least {MIN_TOKEN_BYTES} bytes (e.g. `openssl rand -hex 32`)"),
                Some(t.span()),
            );
            None
        }
        Ok(s) => Some(s),
        Err(e) => {
            c.push("admin.token", e.to_string(), Some(t.span()));
            None
        }
    }
}

/// Shortest admin token accepted: guessing must be out of the question.
pub const MIN_TOKEN_BYTES: usize = 16;
