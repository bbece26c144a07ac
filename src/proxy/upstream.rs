//! The request header hookgate sends upstream: the client's, minus what
//! describes the client's connection, plus what hookgate vouches for.

use super::ctx::RequestCtx;
use crate::reject::{Reason, Rejection};
use http::header::HeaderName;
use http::HeaderMap;
use pingora::http::RequestHeader;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
/// A `match`, not a list to scan: it runs for every header of every request.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "proxy-authorization"
    )
}

/// Header telling the upstream which scheme and key verified the request.
/// Any incoming copy is removed so a sender cannot forge it (as are the
/// queue's `X-Hookgate-Delivery-Id` and `X-Hookgate-Attempt`).
pub const VERIFIED_HEADER: &str = "x-hookgate-verified";

/// Where the request came from and where it goes, for the upstream header.
pub struct Origin<'a> {
    /// Client address.
    pub client_ip: Option<std::net::IpAddr>,
    /// `http` or `https`.
    pub proto: &'static str,
    /// The normalised origin-form target (what the route matched).
    pub path_and_query: &'a str,
    /// The normalised `Host` value; without one (an HTTP/1.0 client sent
    /// none) the upstream's address is sent.
    pub host: Option<&'a str>,
    /// Extra headers to set upstream (verified identity, key id...).
    pub extra: &'a [(HeaderName, String)],
    /// A header hookgate owns on this route, removed from what the client sent.
    pub strip: Option<&'a HeaderName>,
}

/// End-to-end fields a sender cannot remove by naming them in `Connection`:
/// `Host` and the `Content-*` fields describe the message, and hookgate sets
/// its framing itself.
fn is_protected(name: &str) -> bool {
    name == "host" || name.starts_with("content-")
}

/// Names to remove from a message before passing it on: the hop-by-hop
/// fields and the extension fields named in `Connection`, each only if the
/// message has it (one pass over its names, not one lookup per candidate).
pub fn hop_by_hop_names(headers: &HeaderMap) -> Vec<HeaderName> {
    names_to_remove(headers, |_| false)
}

/// [`hop_by_hop_names`], plus the fields present that `owned` names.
fn names_to_remove(headers: &HeaderMap, owned: impl Fn(&str) -> bool) -> Vec<HeaderName> {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !is_protected(t))
        .collect();
    headers
        .keys()
        .filter(|k| {
            let k = k.as_str();
            is_hop_by_hop(k) || owned(k) || named.iter().any(|n| n == k)
        })
        .cloned()
        .collect()
}

/// Fields hookgate sets itself (or never forwards), whatever the client sent.
///
/// The rest are those through which a sender could make the upstream see
/// another client, host or path than the ones hookgate saw and matched: applications
/// behind a proxy believe them (Rails and Express take the request's host
/// from `X-Forwarded-Host` or `Forwarded: host=`, IIS and older Symfony the
/// path from `X-Original-URL`/`X-Rewrite-URL`). hookgate is the edge and
/// matched on `Host` and the target, so, like `X-Forwarded-For` (which
/// hookgate sets), none is passed on. `X-Real-IP` is nginx's name for the
/// client address, which IP-based app logic believes.
fn is_owned(name: &str) -> bool {
    matches!(
        name,
        "expect"
            | VERIFIED_HEADER
            | crate::queue::DELIVERY_ID_HEADER
            | crate::queue::ATTEMPT_HEADER
            | "forwarded"
            | "x-forwarded-host"
            | "x-original-url"
            | "x-rewrite-url"
            | "x-real-ip"
    )
}

/// Build the upstream request from the client's header: one copy of it,
/// minus the fields present that must not pass, plus hookgate's own
/// (`insert` replaces a client's `Host`, `Content-Length`,
/// `X-Forwarded-*` and `X-Request-Id`).
pub fn request(
    client: &RequestHeader,
    ctx: &RequestCtx,
    origin: &Origin<'_>,
    body_len: usize,
) -> Result<RequestHeader, Rejection> {
    let internal = |e: pingora::BError| {
        Rejection::new(Reason::Internal, format!("building upstream request: {e}"))
    };
    let mut req = client.clone();
    req.set_raw_path(origin.path_and_query.as_bytes())
        .map_err(internal)?;
    for name in names_to_remove(&client.headers, is_owned) {
        req.remove_header(&name);
    }
    req.set_version(http::Version::HTTP_11);
    match origin.host {
        Some(host) => req.insert_header("host", host).map_err(internal)?,
        None => {
            req.remove_header("host");
        }
    }
    req.insert_header("content-length", http::HeaderValue::from(body_len))
        .map_err(internal)?;
    // hookgate is the edge: a client-supplied X-Forwarded-For is not evidence of
    // anything, so it is replaced, not appended to.
    match origin.client_ip {
        Some(ip) => {
            req.insert_header("x-forwarded-for", IpText::new(ip).as_str())
                .map_err(internal)?;
        }
        None => {
            req.remove_header("x-forwarded-for");
        }
    }
    req.insert_header("x-forwarded-proto", origin.proto)
        .map_err(internal)?;
    req.insert_header("x-request-id", ctx.request_id.as_str())
        .map_err(internal)?;
    for (k, v) in origin.extra {
        req.insert_header(k.clone(), v.as_str()).map_err(internal)?;
    }
    // A client must not be able to forge the identity header of its route:
    // it is removed even when no identity is forwarded.
    if let Some(h) = origin.strip {
        if !origin.extra.iter().any(|(k, _)| k == h) {
            req.remove_header(h);
        }
    }
    Ok(req)
}

/// An IP address as text, on the stack: `Ipv4Addr`'s `Display` pads through
/// the formatter and showed in profiles; the two uses per request (the
/// upstream's `X-Forwarded-For`, the access log) need only the digits.
pub struct IpText {
    buf: [u8; 45],
    len: usize,
}

impl IpText {
    /// `ip` in its usual notation (dotted quad; RFC 5952 for IPv6).
    pub fn new(ip: std::net::IpAddr) -> Self {
        let mut t = IpText {
            buf: [0; 45],
            len: 0,
        };
        match ip {
            std::net::IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        t.push(b'.');
                    }
                    if octet >= 100 {
                        t.push(b'0' + octet / 100);
                    }
                    if octet >= 10 {
                        t.push(b'0' + octet / 10 % 10);
                    }
                    t.push(b'0' + octet % 10);
                }
            }
            std::net::IpAddr::V6(v6) => {
                use std::io::Write;
                let mut cursor = std::io::Cursor::new(&mut t.buf[..]);
                // 45 bytes hold the longest IPv6 text (an IPv4-mapped one).
                let _ = write!(cursor, "{v6}");
                t.len = cursor.position() as usize;
            }
        }
        t
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Display for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed_but_not_message_fields() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            "keep-alive, X-Secret-Hop, host, Content-Type, content-length"
                .parse()
                .unwrap(),
        );
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-hub-signature-256", "sha256=ab".parse().unwrap());
        h.insert("host", "a.example".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        for name in hop_by_hop_names(&h) {
            h.remove(name);
        }
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "host", "x-hub-signature-256"]);
    }

    #[test]
    fn ip_text_is_the_usual_notation() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.20.30.40",
            "127.0.0.1",
            "255.255.255.255",
            "100.9.99.200",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:255.255.255.255",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let parsed: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(IpText::new(parsed).as_str(), parsed.to_string());
        }
    }
}
