//! One canonical form of the request target and host, computed once before
//! routing: hookgate matches routes on it *and* forwards it, so the upstream
//! can never see a path that routes differently from what hookgate checked.
//!
//! Routing on the raw path was a bypass: `/hooks/open/../signed` (or
//! `%2e%2e/`, `..%2f`) matched the open route while the upstream, like nginx
//! or any web framework, served it from the signed one.
//!
//! The path, in this order:
//! 1. percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) are
//!    decoded (`%2e` → `.`, `%7E` → `~`); every other escape is kept with
//!    upper-case hex (`%3b` → `%3B`); bytes not allowed in a path are encoded;
//! 2. runs of `/` are merged into one (as nginx's `merge_slashes`);
//! 3. `.` and `..` segments are removed (RFC 3986 §5.2.4).
//!
//! Refused with `400 bad_request` (the log detail says which), because no
//! single reading of them is safe: an encoded slash (`%2F`), a backslash (raw
//! or `%5C`), NUL and other control characters (raw or escaped), a malformed
//! `%` escape, a `;` path parameter (Tomcat, Jetty and Spring drop
//! `;params` from each segment before routing, so `/hooks/payments;x` is
//! their `/hooks/payments` but no route here: a catch-all would have taken
//! it unauthenticated), a segment that is `.` or `..` before an encoded `;`
//! (`..%3B`), `..` above the root, and a fragment. The query is forwarded as
//! received (raw bytes above ASCII percent-encoded; control characters refused). An absolute-form target (`http://host/path`) contributes its
//! authority as the host and is forwarded in origin-form.
//!
//! The host: lower-cased, one trailing dot removed (`a.example.` is
//! `a.example`), the port split off; routes match the name, the upstream gets
//! the normalised name with the port, if one was sent.
//!
//! Both functions are pure over bytes so they can be fuzzed.

use std::fmt::Write as _;

/// Why a request target or host was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// `%2F`: a slash inside a segment reads differently upstream.
    #[error("encoded slash (%2F) in the path")]
    EncodedSlash,
    /// `\` or `%5C`: some servers treat it as a separator.
    #[error("backslash in the path")]
    Backslash,
    /// NUL and other control characters, raw or escaped.
    #[error("control character in the request target")]
    Control,
    /// `%` not followed by two hex digits.
    #[error("malformed percent escape in the path")]
    BadEscape,
    /// `..;x` or `.;x`: Tomcat and others drop the parameter and see a dot segment.
    #[error("dot segment with parameters (`..;`) in the path")]
    DotParameter,
    /// `a;x`: Tomcat, Jetty and Spring route `/a;x/b` as `/a/b`.
    #[error("path parameter (`;`) in the path")]
    Parameter,
    /// More `..` than segments.
    #[error("`..` above the root of the path")]
    AboveRoot,
    /// A `#fragment` is never part of a request target.
    #[error("fragment in the request target")]
    Fragment,
    /// Neither origin-form (`/path`) nor an `http(s)://` absolute-form.
    #[error("request target is neither /path nor http(s)://host/path")]
    Form,
    /// The host (from `Host` or the target) is not a valid host name or address.
    #[error("invalid host")]
    Host,
}

/// A request target in its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The normalised path: ASCII, starts with `/`.
    pub path: String,
    /// The query without `?`, as received (bytes above ASCII percent-encoded).
    pub query: Option<String>,
    /// The authority of an absolute-form target.
    pub authority: Option<String>,
    /// Path and query as the sender wrote them: what URL-signing schemes signed.
    pub raw_path_and_query: String,
}

impl Target {
    /// The origin-form target hookgate forwards: normalised path plus query.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// A normalised host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Lower-case name without a trailing dot, or a bracketed IPv6 literal.
    pub name: String,
    /// The port, when one was given.
    pub port: Option<u16>,
}

impl Host {
    /// The value sent upstream in `Host`.
    pub fn header_value(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Normalise a raw request target (the second word of the request line).
pub fn normalize_target(raw: &[u8]) -> Result<Target, TargetError> {
    if raw.contains(&b'#') {
        return Err(TargetError::Fragment);
    }
    let (authority, path_and_query) = if raw.starts_with(b"/") {
        (None, raw)
    } else {
        let rest = strip_http_scheme(raw).ok_or(TargetError::Form)?;
        let end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let authority = ascii(&rest[..end])?;
        if authority.is_empty() {
            return Err(TargetError::Host);
        }
        (Some(authority), &rest[end..])
    };
    let (path, query) = match path_and_query.iter().position(|&b| b == b'?') {
        Some(i) => (&path_and_query[..i], Some(&path_and_query[i + 1..])),
        None => (path_and_query, None),
    };
    let path = if path.is_empty() { b"/" } else { path };
    let query = query.map(ascii).transpose()?;
    let raw_path_and_query = match &query {
        Some(q) => format!("{}?{q}", ascii(path)?),
        None => ascii(path)?,
    };
    Ok(Target {
        path: normalize_path(path)?,
        query,
        authority,
        raw_path_and_query,
    })
}

/// Normalise an absolute path (see the module docs for the rules).
pub fn normalize_path(raw: &[u8]) -> Result<String, TargetError> {
    let decoded = decode(raw)?;
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    let segments: Vec<&str> = decoded.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        // The name before a `;` parameter, raw or escaped.
        let name = segment.split(';').next().unwrap_or("");
        let name = name.split("%3B").next().unwrap_or("");
        if name.len() < segment.len() && (name == "." || name == "..") {
            return Err(TargetError::DotParameter);
        }
        if segment.contains(';') {
            return Err(TargetError::Parameter);
        }
        match *segment {
            "" | "." => {}
            ".." => {
                kept.pop().ok_or(TargetError::AboveRoot)?;
            }
            s => kept.push(s),
        }
        trailing_slash = i == last && matches!(*segment, "" | "." | "..");
    }
    let mut out = String::with_capacity(decoded.len());
    for s in &kept {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(out)
}

/// Normalise a `Host` header value or an absolute-form authority.
pub fn normalize_host(raw: &[u8]) -> Result<Host, TargetError> {
    let raw = std::str::from_utf8(raw).map_err(|_| TargetError::Host)?;
    let (name, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or(TargetError::Host)?;
        let addr: std::net::Ipv6Addr = v6.parse().map_err(|_| TargetError::Host)?;
        (format!("[{addr}]"), after)
    } else {
        let end = raw.find(':').unwrap_or(raw.len());
        let name = raw[..end].to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name).to_string();
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.len() > 253 || !name.split('.').all(valid_label) {
            return Err(TargetError::Host);
        }
        (name, &raw[end..])
    };
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        None => return Err(TargetError::Host),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| TargetError::Host)?)
        }
        Some(_) => return Err(TargetError::Host),
    };
    Ok(Host { name, port })
}

/// `http://` or `https://` (any case) stripped, or `None`.
fn strip_http_scheme(raw: &[u8]) -> Option<&[u8]> {
    ["http://", "https://"].iter().find_map(|scheme| {
        let n = scheme.len();
        (raw.len() >= n && raw[..n].eq_ignore_ascii_case(scheme.as_bytes())).then(|| &raw[n..])
    })
}

/// Visible ASCII as is, bytes above it percent-encoded (how any client would
/// have sent them), control characters refused.
fn ascii(bytes: &[u8]) -> Result<String, TargetError> {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            0x21..=0x7e => out.push(char::from(b)),
            0x80..=0xff => {
                let _ = write!(out, "%{b:02X}");
            }
            _ => return Err(TargetError::Control),
        }
    }
    Ok(out)
}

/// Step 1: decode unreserved escapes, canonicalise the rest, refuse the dangerous.
fn decode(raw: &[u8]) -> Result<String, TargetError> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let byte = if b == b'%' {
            let hex = |j: usize| raw.get(j).and_then(|&c| char::from(c).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) else {
                return Err(TargetError::BadEscape);
            };
            i += 3;
            let v = (hi * 16 + lo) as u8;
            match v {
                b'/' => return Err(TargetError::EncodedSlash),
                _ if is_unreserved(v) => {
                    out.push(char::from(v));
                    continue;
                }
                _ => v,
            }
        } else {
            i += 1;
            if b == b'/' || is_unreserved(b) || is_sub_delim_or_colon_at(b) {
                out.push(char::from(b));
                continue;
            }
            b
        };
        match byte {
            b'\\' => return Err(TargetError::Backslash),
            0..=0x1f | 0x7f => return Err(TargetError::Control),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    Ok(out)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 `sub-delims`, `:` and `@`: allowed raw in a path segment.
fn is_sub_delim_or_colon_at(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(raw: &str) -> Result<String, TargetError> {
        normalize_path(raw.as_bytes())
    }

    #[test]
    fn dot_segments_in_every_spelling_are_resolved() {
        for raw in [
            "/hooks/ping/../payments",
            "/hooks/ping/%2e%2e/payments",
            "/hooks/ping/%2E%2E/payments",
            "/hooks/ping/.%2e/payments",
            "/hooks/ping/%2e./payments",
            "/hooks/./ping/../payments",
            "/hooks//ping/..//payments",
            "/hooks/%70ayments",
        ] {
            assert_eq!(path(raw).unwrap(), "/hooks/payments", "{raw}");
        }
        assert_eq!(path("/a/b/..").unwrap(), "/a/");
        assert_eq!(path("/a/b/.").unwrap(), "/a/b/");
        assert_eq!(path("/a/b/").unwrap(), "/a/b/");
        assert_eq!(path("/").unwrap(), "/");
        assert_eq!(path("//").unwrap(), "/");
        assert_eq!(path("/a/..").unwrap(), "/");
        assert_eq!(path("/a//b").unwrap(), "/a/b");
        assert_eq!(path("/a/.b/..c").unwrap(), "/a/.b/..c");
    }

    #[test]
    fn escapes_are_canonical() {
        assert_eq!(path("/a%7eb").unwrap(), "/a~b");
        assert_eq!(path("/a%3bb%3Fc").unwrap(), "/a%3Bb%3Fc");
        assert_eq!(path("/caf%c3%a9").unwrap(), "/caf%C3%A9");
        assert_eq!(path("/a,b=c").unwrap(), "/a,b=c");
        assert_eq!(path("/a%3Bb").unwrap(), "/a%3Bb");
        assert_eq!(path("/a{b}|c").unwrap(), "/a%7Bb%7D%7Cc");
        assert_eq!(path("/a%20b").unwrap(), "/a%20b");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        use TargetError::*;
        for (raw, want) in [
            ("/hooks/ping/..%2fpayments", EncodedSlash),
            ("/hooks/ping/%2E%2E%2Fpayments", EncodedSlash),
            ("/a%2fb", EncodedSlash),
            ("/a\\b", Backslash),
            ("/a%5cb", Backslash),
            ("/a%00b", Control),
            ("/a%0d%0ab", Control),
            ("/a\x01b", Control),
            ("/a%7fb", Control),
            ("/a%", BadEscape),
            ("/a%2", BadEscape),
            ("/a%zz", BadEscape),
            ("/hooks/ping/..;/payments", DotParameter),
            ("/hooks/.;x/payments", DotParameter),
            ("/hooks/%2e%2e;x/payments", DotParameter),
            ("/hooks/..%3b/payments", DotParameter),
            ("/hooks/payments;x", Parameter),
            ("/hooks;x/payments", Parameter),
            ("/hooks/payments;", Parameter),
            ("/..", AboveRoot),
            ("/a/../../b", AboveRoot),
            ("/%2e%2e/etc", AboveRoot),
        ] {
            assert_eq!(path(raw), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn targets_split_query_and_absolute_form() {
        let t = normalize_target(b"/hooks/a/../b?x=%2e%2e/&y").unwrap();
        assert_eq!(t.path, "/hooks/b");
        assert_eq!(t.query.as_deref(), Some("x=%2e%2e/&y"));
        assert_eq!(t.path_and_query(), "/hooks/b?x=%2e%2e/&y");
        assert_eq!(t.raw_path_and_query, "/hooks/a/../b?x=%2e%2e/&y");
        assert_eq!(t.authority, None);
        let t = normalize_target(b"/caf\xc3\xa9?q=\xc3\xa9").unwrap();
        assert_eq!(t.path_and_query(), "/caf%C3%A9?q=%C3%A9");
        assert_eq!(normalize_target(b"/a?b\x00"), Err(TargetError::Control));

        let t = normalize_target(b"HTTP://A.example:8080/x/./y").unwrap();
        assert_eq!(t.authority.as_deref(), Some("A.example:8080"));
        assert_eq!(t.path, "/x/y");
        let t = normalize_target(b"https://a.example?q").unwrap();
        assert_eq!((t.path.as_str(), t.query.as_deref()), ("/", Some("q")));

        assert_eq!(normalize_target(b"/a#frag"), Err(TargetError::Fragment));
        assert_eq!(normalize_target(b"*"), Err(TargetError::Form));
        assert_eq!(normalize_target(b"a.example:443"), Err(TargetError::Form));
        assert_eq!(normalize_target(b"ftp://a/x"), Err(TargetError::Form));
        assert_eq!(normalize_target(b"http:///x"), Err(TargetError::Host));
    }

    #[test]
    fn hosts_are_normalised() {
        let h = |raw: &str| normalize_host(raw.as_bytes());
        assert_eq!(
            h("A.Example.").unwrap(),
            Host {
                name: "a.example".into(),
                port: None
            }
        );
        let with_port = h("a.example.:8443").unwrap();
        assert_eq!(with_port.header_value(), "a.example:8443");
        assert_eq!(h("[::1]:80").unwrap().header_value(), "[::1]:80");
        assert_eq!(h("[0:0::1]").unwrap().name, "[::1]");
        assert_eq!(h("192.0.2.1").unwrap().name, "192.0.2.1");
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a.example..",
            "a b",
            "a:",
            "a:x",
            "a:99999",
            "a:1:2",
            "[::1",
            "[zz]",
            "a/b",
            "a\\b",
            "a%2eb",
        ] {
            assert_eq!(h(bad), Err(TargetError::Host), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent_and_leaves_no_dot_segments(raw in "/[a-zA-Z0-9./%;~_-]{0,40}") {
            if let Ok(once) = normalize_path(raw.as_bytes()) {
                prop_assert_eq!(normalize_path(once.as_bytes()), Ok(once.clone()));
                prop_assert!(once.starts_with('/'));
                prop_assert!(!once.contains("//"));
                for segment in once.split('/') {
                    prop_assert!(segment != "." && segment != "..");
                }
            }
        }
    }
}
