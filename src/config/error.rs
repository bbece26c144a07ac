//! Config errors that point at the file, the key and the line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Key path, e.g. `route "github".upstreams`.
    pub key: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// Every problem found in one load, reported together so ops fix them in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors for one file; knows how to turn byte offsets into lines.
pub struct Collector<'a> {
    file: &'a Path,
    src: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Collector<'a> {
    /// Start collecting for `file` whose text is `src`.
    pub fn new(file: &'a Path, src: &'a str) -> Self {
        Collector {
            file,
            src,
            errors: Vec::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Record an error at a span (`None` when the key is absent from the file).
    pub fn push(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        span: Option<std::ops::Range<usize>>,
    ) {
        let line = span.map(|s| self.line_of(s.start));
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            key: key.into(),
            message: message.into(),
            line,
        });
    }

    /// Finish: `Ok(v)` when nothing was recorded.
    pub fn finish<T>(self, v: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(v)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}

/// Turn a toml/serde error into a [`ConfigError`] with a key path like
/// `route "github".upstream`, recovered from the span: serde reports the
/// offending key's text but not which `[[route]]` it sits in.
pub fn from_toml_error(file: &Path, src: &str, e: &toml::de::Error) -> ConfigError {
    let collector = Collector::new(file, src);
    let line = e.span().map(|s| collector.line_of(s.start));
    let table = e
        .span()
        .map(|s| enclosing_table(src, s.start))
        .unwrap_or_default();
    // serde names the key in backticks ("unknown field `x`", "duplicate key `x`");
    // otherwise the span is the key itself or its value.
    let field = backticked(e.message())
        .or_else(|| {
            e.span()
                .and_then(|s| src.get(s.clone()))
                .map(|t| t.trim())
                .filter(|t| is_bare_key(t))
                .map(|t| t.to_string())
        })
        .or_else(|| e.span().and_then(|s| key_on_line(src, s.start)));
    let key = match (table.is_empty(), field) {
        (true, Some(f)) => f,
        (false, Some(f)) => format!("{table}.{f}"),
        (_, None) => table,
    };
    ConfigError {
        file: file.to_path_buf(),
        key,
        message: e.message().trim().to_string(),
        line,
    }
}

fn is_bare_key(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The `key` of a `key = value` line holding byte `offset` (for errors whose span is the value).
fn key_on_line(src: &str, offset: usize) -> Option<String> {
    let start = src[..offset.min(src.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = src[start..].lines().next()?;
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    is_bare_key(k).then(|| k.to_string())
}

/// The first `` `name` `` in a serde message ("unknown field `upstream`, expected ...").
fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

/// Name the table that contains byte `offset`: `route "github"`, `route "github".verify`, `admin`.
/// Array-of-tables entries are named by their `name` key when present, else by index.
pub fn enclosing_table(src: &str, offset: usize) -> String {
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut pos = 0;
    for line in src.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        let t = line.trim();
        if let Some(inner) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = inner.trim().to_string();
            let idx = counts.entry(name.clone()).or_insert(0);
            let label = match name_in_table(&src[pos + line.len()..]) {
                Some(n) => format!("{name} {n:?}"),
                None => format!("{name}[{idx}]"),
            };
            *idx += 1;
            current = label;
        } else if let Some(inner) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            let inner = inner.trim();
            // `[route.verify]` continues the last `[[route]]` entry.
            match inner.split_once('.') {
                Some((parent, rest)) if current.starts_with(parent) => {
                    let base = current.split('.').next().unwrap_or(&current).to_string();
                    current = format!("{base}.{rest}");
                }
                _ => current = inner.to_string(),
            }
        }
        pos += line.len();
    }
    current
}

/// The `name = "..."` value at the top of a table body, if it is a plain string.
fn name_in_table(body: &str) -> Option<String> {
    for line in body.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            return None;
        }
        if let Some(rest) = t.strip_prefix("name") {
            let rest = rest.trim_start().strip_prefix('=')?.trim();
            let v: toml::Value = toml::from_str(&format!("v = {rest}")).ok()?;
            return v.get("v")?.as_str().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        let src = "[admin]\nlisten = \"x\"\n[[route]]\nname = \"a\"\n[[route]]\nname = \"b\"\nbad = 1\n[route.verify]\nx = 1\n";
        assert_eq!(enclosing_table(src, 8), "admin");
        let bad = src.find("bad").unwrap();
        assert_eq!(enclosing_table(src, bad), "route \"b\"");
        let x = src.rfind("x = 1").unwrap();
        assert_eq!(enclosing_table(src, x), "route \"b\".verify");
    }

    #[test]
    fn display_format() {
        let e = ConfigError {
            file: "conf/x.toml".into(),
            key: "route \"github\".upstreams".into(),
            message: "invalid address \"localhost\"".into(),
            line: Some(14),
        };
        assert_eq!(
            e.to_string(),
            "conf/x.toml: route \"github\".upstreams: invalid address \"localhost\" (line 14)"
        );
    }
}
