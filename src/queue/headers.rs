//! Stored headers: `name: value\r\n` lines, as on the wire.
//!
//! `HeaderValue` can hold neither CR nor LF, so the lines are unambiguous,
//! order and repeated fields are kept, and a stored delivery stays readable
//! with `strings`. Decoding rejects anything `http` would reject.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Encode headers in order, one `name: value\r\n` line each.
pub fn encode(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() * 32);
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decode what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for line in bytes.split(|&b| b == b'\n') {
        let Some(line) = line.strip_suffix(b"\r") else {
            if line.is_empty() {
                continue;
            }
            return Err("stored header line without CRLF".into());
        };
        let sep = line
            .windows(2)
            .position(|w| w == b": ")
            .ok_or("stored header line without ': '")?;
        let name = HeaderName::from_bytes(&line[..sep]).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_bytes(&line[sep + 2..]).map_err(|e| e.to_string())?;
        map.append(name, value);
    }
    Ok(map)
}

/// Headers never printed by `queue show`: credentials.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Name fragments of signature, token and secret headers across providers
/// (`x-hub-signature-256`, `x-shopify-hmac-sha256`, `x-gitlab-token`,
/// `verif-hash`, `x-telegram-bot-api-secret-token`, ...). Matching by
/// fragment fails safe: an unknown provider's credential header is hidden
/// rather than printed.
const SECRET_FRAGMENTS: [&str; 9] = [
    "signature",
    "hmac",
    "token",
    "secret",
    "auth",
    "verif",
    "key",
    "password",
    "credential",
];

/// Should `queue show` hide this header's value? `extra` are the route's own
/// signature headers, when the caller knows them.
pub fn is_secret(name: &HeaderName, extra: &[HeaderName]) -> bool {
    let n = name.as_str();
    CREDENTIAL_HEADERS.contains(&n)
        || SECRET_FRAGMENTS.iter().any(|f| n.contains(f))
        || extra.contains(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_and_repeats() {
        let mut h = HeaderMap::new();
        h.append("content-type", HeaderValue::from_static("application/json"));
        h.append("x-a", HeaderValue::from_static("1"));
        h.append("x-a", HeaderValue::from_static("2"));
        h.append("x-b", HeaderValue::from_bytes(b"caf\xc3\xa9: x").unwrap());
        let enc = encode(&h);
        let dec = decode(&enc).unwrap();
        assert_eq!(dec, h);
        let a: Vec<_> = dec.get_all("x-a").iter().collect();
        assert_eq!(a, ["1", "2"]);
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(decode(b"x-a 1\r\n").is_err());
        assert!(decode(b"x-a: 1\n").is_err());
        assert!(decode(b"bad name: 1\r\n").is_err());
        assert!(decode(b"").unwrap().is_empty());
    }

    #[test]
    fn every_preset_signature_header_is_secret() {
        for n in [
            "authorization",
            "x-hub-signature-256",
            "x-hub-signature",
            "stripe-signature",
            "x-slack-signature",
            "webhook-signature",
            "svix-signature",
            "x-shopify-hmac-sha256",
            "shopify-hmac-sha256",
            "x-twilio-signature",
            "x-gitlab-token",
            "x-signature-ed25519",
            "x-twilio-email-event-webhook-signature",
            "paddle-signature",
            "linear-signature",
            "x-zm-signature",
            "twitch-eventsub-message-signature",
            "x-square-hmacsha256-signature",
            "x-hubspot-signature-v3",
            "x-pagerduty-signature",
            "x-docusign-signature-1",
            "x-telegram-bot-api-secret-token",
            "verif-hash",
            "x-okta-verification-challenge",
            "x-mandrill-signature",
            "cookie",
        ] {
            assert!(is_secret(&HeaderName::from_static(n), &[]), "{n}");
        }
        for n in [
            "content-type",
            "x-github-delivery",
            "webhook-id",
            "user-agent",
        ] {
            assert!(!is_secret(&HeaderName::from_static(n), &[]), "{n}");
        }
        let own = HeaderName::from_static("x-custom-mac");
        assert!(is_secret(&own, std::slice::from_ref(&own)));
    }
}
