//! Secrets: where they come from and how they are kept out of logs.
//!
//! A secret in the TOML file is a reference (`env:NAME`, `file:/path`) or,
//! discouraged, an inline literal. References are resolved at load and on
//! every reload, so rotating a secret is "change the env/file, reload".

use std::fmt;
use std::path::{Path, PathBuf};

/// Largest secret file read (a PEM public key or a list of Basic credentials fits easily).
pub const MAX_SECRET_FILE: u64 = 64 << 10;

/// Secret bytes. `Debug` and `Display` never show them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    /// The bytes, for keying a MAC or comparing.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `env:NAME`
    Env(String),
    /// `file:/path` (relative paths are relative to the config file's directory)
    File(PathBuf),
    /// Anything else: the literal value (flagged by `hookgate check`).
    Inline,
}

/// Why a secret could not be resolved. Names the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset or not UTF-8.
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    /// The file cannot be read.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The value resolved to nothing.
    #[error("secret from {0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// Classify a configured string.
    pub fn parse(raw: &str) -> SecretSource {
        if let Some(name) = raw.strip_prefix("env:") {
            SecretSource::Env(name.to_string())
        } else if let Some(path) = raw.strip_prefix("file:") {
            SecretSource::File(PathBuf::from(path))
        } else {
            SecretSource::Inline
        }
    }

    /// Resolve `raw` (already classified as `self`) to the secret.
    /// File contents lose one trailing newline, the way `echo secret > file` writes it.
    pub fn resolve(&self, raw: &str, base_dir: &Path) -> Result<Secret, SecretError> {
        let (value, origin) = match self {
            SecretSource::Env(name) => (
                std::env::var(name).map_err(|_| SecretError::EnvMissing(name.clone()))?,
                format!("env:{name}"),
            ),
            SecretSource::File(p) => {
                let path = if p.is_relative() {
                    base_dir.join(p)
                } else {
                    p.clone()
                };
                let mut v =
                    crate::files::read_text_bounded(&path, MAX_SECRET_FILE).map_err(|e| {
                        SecretError::File {
                            path: path.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                if v.ends_with('\n') {
                    v.pop();
                    if v.ends_with('\r') {
                        v.pop();
                    }
                }
                (v, format!("file:{}", path.display()))
            }
            SecretSource::Inline => (raw.to_string(), "inline value".to_string()),
        };
        if value.is_empty() {
            return Err(SecretError::Empty(origin));
        }
        Ok(Secret(value.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new(b"hunter2".to_vec())),
            "<redacted>"
        );
    }

    #[test]
    fn sources_resolve() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s"), "from-file\n").unwrap();
        let s = SecretSource::parse("file:s");
        assert_eq!(
            s.resolve("file:s", dir.path()).unwrap().expose(),
            b"from-file"
        );
        std::env::set_var("HOOKGATE_TEST_SECRET_X", "from-env");
        let s = SecretSource::parse("env:HOOKGATE_TEST_SECRET_X");
        assert_eq!(s.resolve("", dir.path()).unwrap().expose(), b"from-env");
        let e = SecretSource::parse("env:HOOKGATE_NOPE")
            .resolve("", dir.path())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable HOOKGATE_NOPE is not set"
        );
        assert_eq!(SecretSource::parse("literal"), SecretSource::Inline);
        let e = SecretSource::parse("file:missing")
            .resolve("", dir.path())
            .unwrap_err();
        assert!(e.to_string().starts_with("cannot read secret file"));
    }
}
