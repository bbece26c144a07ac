//! The request header hookgate sends upstream: the client's, minus what
//! describes the client's connection, plus what hookgate vouches for.

use super::ctx::RequestCtx;
use crate::reject::{Reason, Rejection};
use http::header::HeaderName;
use http::HeaderMap;
use pingora::http::RequestHeader;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Fields through which a sender could make the upstream see another host or
/// path than the one hookgate matched: applications behind a proxy believe
/// them (Rails and Express take the request's host from `X-Forwarded-Host`
/// or `Forwarded: host=`, IIS and older Symfony the path from
/// `X-Original-URL`/`X-Rewrite-URL`). hookgate is the edge and matched on
/// `Host` and the target, so, like `X-Forwarded-For`, none is passed on.
const ROUTING_OVERRIDES: [&str; 4] = [
    "forwarded",
    "x-forwarded-host",
    "x-original-url",
    "x-rewrite-url",
];

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
/// fields and the extension fields named in `Connection`.
pub fn hop_by_hop_names(headers: &HeaderMap) -> Vec<HeaderName> {
    let named = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase());
    let mut names: Vec<HeaderName> = HOP_BY_HOP
        .iter()
        .map(|n| HeaderName::from_static(n))
        .collect();
    for name in named {
        if is_protected(&name) {
            continue;
        }
        if let Ok(h) = HeaderName::from_bytes(name.as_bytes()) {
            if headers.contains_key(&h) && !names.contains(&h) {
                names.push(h);
            }
        }
    }
    names
}

/// Build the upstream request from the client's header.
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
    for name in hop_by_hop_names(&client.headers) {
        req.remove_header(&name);
    }
    for owned in [
        "expect",
        VERIFIED_HEADER,
        crate::queue::DELIVERY_ID_HEADER,
        crate::queue::ATTEMPT_HEADER,
        "content-length",
        "host",
    ]
    .into_iter()
    .chain(ROUTING_OVERRIDES)
    {
        req.remove_header(owned);
    }
    req.set_version(http::Version::HTTP_11);
    if let Some(host) = origin.host {
        req.insert_header("host", host).map_err(internal)?;
    }
    req.insert_header("content-length", body_len.to_string())
        .map_err(internal)?;
    // hookgate is the edge: a client-supplied X-Forwarded-For is not evidence of
    // anything, so it is replaced, not appended to.
    match origin.client_ip {
        Some(ip) => {
            req.insert_header("x-forwarded-for", ip.to_string())
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
}
