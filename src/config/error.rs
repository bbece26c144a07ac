//! The one config error type: file, key path, line, message.
//!
//! Every problem found at load, from a TOML syntax error to a TLS key that
//! does not match its certificate, becomes a [`ConfigError`] naming the key
//! as a path (`route "github".verify.tolerance`) and its 1-based line. Key
//! paths and lines both come from the [`Locator`], which maps byte offsets to
//! keys and keys to offsets over the parsed document.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml_edit::{ImDocument, Item, TableLike, Value};

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Key path, e.g. `route "github".upstreams`.
    pub key: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
    /// 1-based line; `None` only for keys absent from the file (a missing `[admin]`).
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

impl ConfigErrors {
    /// A single error about the whole file (it cannot be read).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            key: String::new(),
            message: message.into(),
            line: None,
        }])
    }
}

/// Collects errors for one file; knows how to turn byte offsets into lines.
pub struct Collector<'a> {
    file: &'a Path,
    src: &'a str,
    locator: Locator,
    errors: Vec<ConfigError>,
}

impl<'a> Collector<'a> {
    /// Start collecting for `file` whose text is `src`.
    pub fn new(file: &'a Path, src: &'a str) -> Self {
        Collector {
            file,
            src,
            locator: Locator::new(src),
            errors: Vec::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        line_of(self.src, offset)
    }

    /// Record an error at a span (`None` when the key is absent from the file).
    pub fn push(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        span: Option<Range<usize>>,
    ) {
        let line = span.map(|s| self.line_of(s.start));
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            key: key.into(),
            message: message.into(),
            line,
        });
    }

    /// The span of a key given as a path from the root, e.g.
    /// `[Key("route"), Index(2), Key("verify"), Key("tolerance")]`.
    pub fn span_of(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        self.locator.span_of(path)
    }

    /// How many errors have been recorded so far.
    pub fn error_count(&self) -> usize {
        self.errors.len()
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

/// The 1-based line of the key at `path` in `src`, when present.
pub fn line_of_key(src: &str, path: &[Seg<'_>]) -> Option<usize> {
    Locator::new(src)
        .span_of(path)
        .map(|s| line_of(src, s.start))
}

fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One step of a key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A table key.
    Key(&'a str),
    /// An element of an array or array of tables.
    Index(usize),
}

/// Key paths and spans over the parsed document (`None` when it does not
/// parse: then syntax errors fall back to naming the enclosing table).
pub struct Locator(Option<ImDocument<String>>);

impl Locator {
    /// Parse `src` for locating.
    pub fn new(src: &str) -> Self {
        Locator(ImDocument::parse(src.to_string()).ok())
    }

    /// The span of the value (or table) at `path`.
    pub fn span_of(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        let mut node = Node::Item(self.0.as_ref()?.as_item());
        for seg in path {
            node = match (seg, node) {
                (Seg::Key(k), Node::Item(i)) => Node::Item(i.as_table_like()?.get(k)?),
                (Seg::Key(k), Node::Table(t)) => Node::Item(t.get(k)?),
                (Seg::Key(k), Node::Value(Value::InlineTable(t))) => Node::Value(t.get(k)?),
                (Seg::Index(n), Node::Item(Item::ArrayOfTables(a))) => Node::Table(a.get(*n)?),
                (Seg::Index(n), Node::Item(Item::Value(Value::Array(a))))
                | (Seg::Index(n), Node::Value(Value::Array(a))) => Node::Value(a.get(*n)?),
                _ => return None,
            };
        }
        match node {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    /// The key path holding byte `offset`: `route "github".upstreams[1]`.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        let doc = self.0.as_ref()?;
        let mut out = Vec::new();
        walk(doc.as_table(), offset, &mut out).then(|| out.join("."))
    }
}

/// Where [`Locator::span_of`] stands while following a path.
#[derive(Clone, Copy)]
enum Node<'d> {
    Item(&'d Item),
    Table(&'d toml_edit::Table),
    Value(&'d Value),
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// `route "github"` for a `[[route]]` entry with a string `name`, else `route[2]`.
fn entry_label(name: &str, t: &dyn TableLike, index: usize) -> String {
    match t.get("name").and_then(Item::as_str) {
        Some(n) => format!("{name} {n:?}"),
        None => format!("{name}[{index}]"),
    }
}

fn walk(t: &dyn TableLike, offset: usize, out: &mut Vec<String>) -> bool {
    for (name, _) in t.iter() {
        let Some((key, item)) = t.get_key_value(name) else {
            continue;
        };
        if contains(key.span(), offset) {
            out.push(name.to_string());
            return true;
        }
        let found = match item {
            Item::None => false,
            Item::Value(v) => walk_value(name, v, offset, out),
            Item::Table(inner) => {
                out.push(name.to_string());
                if walk(inner, offset, out) || contains(inner.span(), offset) {
                    true
                } else {
                    out.pop();
                    false
                }
            }
            Item::ArrayOfTables(a) => a.iter().enumerate().any(|(i, inner)| {
                out.push(entry_label(name, inner, i));
                if walk(inner, offset, out) || contains(inner.span(), offset) {
                    true
                } else {
                    out.pop();
                    false
                }
            }),
        };
        if found {
            return true;
        }
    }
    false
}

fn walk_value(name: &str, v: &Value, offset: usize, out: &mut Vec<String>) -> bool {
    if !contains(v.span(), offset) {
        return false;
    }
    match v {
        Value::InlineTable(inner) => {
            out.push(name.to_string());
            walk(inner, offset, out);
        }
        Value::Array(items) => {
            let hit = items.iter().position(|x| contains(x.span(), offset));
            match hit {
                Some(i) => {
                    out.push(format!("{name}[{i}]"));
                    if let Some(Value::InlineTable(inner)) = items.get(i) {
                        walk(inner, offset, out);
                    }
                }
                None => out.push(name.to_string()),
            }
        }
        _ => out.push(name.to_string()),
    }
    true
}

/// Turn a toml/serde error into a [`ConfigError`] naming the key at fault
/// (never the offending value) and its line.
pub fn from_toml_error(file: &Path, src: &str, e: &toml::de::Error) -> ConfigError {
    let span = e.span();
    let line = span.as_ref().map(|s| line_of(src, s.start));
    let locator = Locator::new(src);
    let at = span.as_ref().and_then(|s| locator.path_at(s.start));
    // serde names the key in backticks for unknown, duplicate and missing fields.
    let named = ["unknown field", "duplicate key", "missing field"]
        .iter()
        .any(|p| e.message().starts_with(p))
        .then(|| backticked(e.message()))
        .flatten();
    let key = match (at, named) {
        // An unknown key's span is the key itself: the path already ends with it.
        (Some(path), Some(field)) if path.ends_with(&field) => path,
        (Some(path), Some(field)) => format!("{path}.{field}"),
        (Some(path), None) => path,
        (None, field) => {
            let table = span
                .as_ref()
                .map(|s| enclosing_table(src, s.start))
                .unwrap_or_default();
            match field {
                Some(f) if table.is_empty() => f,
                Some(f) => format!("{table}.{f}"),
                None => table,
            }
        }
    };
    ConfigError {
        file: file.to_path_buf(),
        key,
        message: e.message().trim().to_string(),
        line,
    }
}

/// The first `` `name` `` in a serde message ("unknown field `upstream`, expected ...").
fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

/// For text that does not parse: name the table that contains byte `offset`
/// (`route "github"`, `route "github".verify`, `admin`) from the headers above it.
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

    const SRC: &str = "[admin]\nlisten = \"x\"\n[[route]]\nname = \"a\"\n[[route]]\nname = \"b\"\nbad = 1\nups = [\"p\", \"q\"]\ntls = { cert = \"c\", mode = \"m\" }\n[route.verify]\nx = 1\n";

    #[test]
    fn table_names_for_text_that_does_not_parse() {
        assert_eq!(enclosing_table(SRC, 8), "admin");
        let bad = SRC.find("bad").unwrap();
        assert_eq!(enclosing_table(SRC, bad), "route \"b\"");
        let x = SRC.rfind("x = 1").unwrap();
        assert_eq!(enclosing_table(SRC, x), "route \"b\".verify");
    }

    #[test]
    fn paths_of_keys_values_and_nested_values() {
        let l = Locator::new(SRC);
        let at = |needle: &str| l.path_at(SRC.find(needle).unwrap()).unwrap();
        assert_eq!(at("bad"), "route \"b\".bad");
        assert_eq!(at("\"q\""), "route \"b\".ups[1]");
        assert_eq!(at("\"m\""), "route \"b\".tls.mode");
        assert_eq!(at("x = 1"), "route \"b\".verify.x");
        assert_eq!(at("\"x\""), "admin.listen");
        let span = l
            .span_of(&[
                Seg::Key("route"),
                Seg::Index(1),
                Seg::Key("verify"),
                Seg::Key("x"),
            ])
            .unwrap();
        assert_eq!(&SRC[span], "1");
        let span = l.span_of(&[Seg::Key("admin"), Seg::Key("listen")]).unwrap();
        assert_eq!(&SRC[span], "\"x\"");
    }

    #[test]
    fn type_errors_name_the_key_not_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            limits: std::collections::HashMap<String, u32>,
        }
        let src = "[limits]\nmax = \"lots\"\n";
        let e = toml::from_str::<T>(src).unwrap_err();
        let c = from_toml_error(Path::new("f.toml"), src, &e);
        assert_eq!((c.key.as_str(), c.line), ("limits.max", Some(2)), "{c}");
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
