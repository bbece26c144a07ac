//! `[server]`: process-wide settings.

use super::bounded;
use super::defaults::*;
use super::error::Collector;
use super::file::FileServer;
use super::runtime::ServerSettings;

/// Validate `[server]`.
pub fn validate(c: &mut Collector, f: &FileServer) -> ServerSettings {
    ServerSettings {
        threads: bounded(
            c,
            "server.threads",
            f.threads.as_ref(),
            |n| *n,
            DEFAULT_THREADS,
            THREADS,
        ),
        shutdown_timeout: bounded(
            c,
            "server.shutdown_timeout",
            f.shutdown_timeout.as_ref(),
            |d| d.0,
            DEFAULT_SHUTDOWN_TIMEOUT,
            SHUTDOWN_TIMEOUT,
        ),
        trust_request_id: f.trust_request_id.unwrap_or(false),
        pid_file: f
            .pid_file
            .clone()
            .unwrap_or_else(|| DEFAULT_PID_FILE.into()),
        upgrade_sock: f
            .upgrade_sock
            .clone()
            .unwrap_or_else(|| DEFAULT_UPGRADE_SOCK.into()),
    }
}
