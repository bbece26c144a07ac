//! `[log]`: how log lines are written.
//!
//! `format` is a closed set parsed by serde, so a wrong word is refused at
//! load with its key and line, naming the choices.

use super::file::FileLog;
use super::runtime::LogSettings;

/// Validate `[log]`.
pub fn validate(f: &FileLog) -> LogSettings {
    LogSettings {
        format: f.format.unwrap_or_default(),
    }
}
