//! PROXY protocol (v1 text, v2 binary) on listeners behind a TCP load balancer.
//!
//! A balancer that passes TLS through untouched, so that hookgate itself can
//! check client certificates, cannot add `X-Forwarded-For`; it prefixes each
//! connection with the client's address instead (HAProxy, AWS NLB, GCP, ...).
//! On a listener with `proxy_protocol = true` the header is required, accepted
//! only from `trusted_proxies`, read within `header_timeout`, and its source
//! address replaces the peer address everywhere (allowlists, logs,
//! `X-Forwarded-For`). A connection that fails any of that is closed before a
//! byte of TLS or HTTP is read, and counted in
//! `hookgate_downstream_closed_total`. `LOCAL` (v2) and `UNKNOWN` (v1) headers,
//! which balancers send for their own health checks, keep the balancer's
//! address.
//!
//! The connection layer ([`crate::connection`]) reads the header right after
//! accept, before any TLS handshake or HTTP parsing.

use crate::config::Config;
use crate::metrics::Metrics;
use arc_swap::ArcSwap;
use pingora::protocols::l4::socket::SocketAddr as PeerAddr;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::{GetSocketDigest, SocketDigest};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest v1 header, `\r\n` included (the spec's bound).
const V1_MAX: usize = 107;
/// v2 signature, version/command, family and length.
const V2_FIXED: usize = 16;
/// Largest v2 address + TLV block accepted; balancers send far less.
const V2_MAX_PAYLOAD: usize = 4096;

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("PROXY protocol header from {0}, which is not in trusted_proxies")]
    Untrusted(IpAddr),
    #[error("no valid PROXY protocol header: {0}")]
    Invalid(String),
    #[error("PROXY protocol header not received within header_timeout")]
    Timeout,
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Untrusted(_) => "proxy_protocol_untrusted",
            Refusal::Invalid(_) | Refusal::Timeout => "proxy_protocol_invalid",
        }
    }
}

/// Reads PROXY headers on the listeners that expect one.
pub struct ProxyProtocol {
    config: Arc<ArcSwap<Config>>,
    metrics: Arc<Metrics>,
}

impl ProxyProtocol {
    /// A reader using the live config (listener flags, trusted proxies, timeout).
    pub fn new(config: Arc<ArcSwap<Config>>, metrics: Arc<Metrics>) -> Self {
        ProxyProtocol { config, metrics }
    }

    /// Consume the header if this connection's listener expects one and make
    /// its source the connection's peer address. Err closes the connection.
    pub async fn admit(&self, stream: &mut L4Stream) -> pingora::Result<()> {
        let Some(digest) = stream.get_socket_digest() else {
            return Ok(());
        };
        let (Some(local), Some(peer)) = (inet(digest.local_addr()), inet(digest.peer_addr()))
        else {
            return Ok(());
        };
        let cfg = self.config.load();
        let Some(listener) = cfg.listeners.iter().find(|l| l.serves(local)) else {
            return Ok(());
        };
        if !listener.proxy_protocol {
            return Ok(());
        }
        let result = if listener.trusted_proxies.0.contains(peer.ip()) {
            match tokio::time::timeout(cfg.limits.header_timeout, read_header(stream)).await {
                Ok(r) => r,
                Err(_) => Err(Refusal::Timeout),
            }
        } else {
            Err(Refusal::Untrusted(peer.ip()))
        };
        match result {
            Ok(Some(client)) => {
                let replaced = SocketDigest::from_raw_fd(stream.as_raw_fd());
                let _ = replaced.peer_addr.set(Some(PeerAddr::Inet(client)));
                stream.set_socket_digest(replaced);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(refusal) => {
                tracing::warn!(
                    target: "hookgate::connection",
                    listener = %listener.name,
                    peer = %peer,
                    reason = refusal.reason(),
                    "closed: {refusal}"
                );
                self.metrics
                    .downstream_closed
                    .with_label_values(&[refusal.reason()])
                    .inc();
                pingora::Error::e_explain(pingora::ErrorType::AcceptError, refusal.to_string())
            }
        }
    }
}

fn inet(a: Option<&PeerAddr>) -> Option<SocketAddr> {
    a.and_then(|a| a.as_inet()).copied()
}

/// Read exactly one PROXY header, never a byte of what follows it. `Ok(None)`
/// for `LOCAL`/`UNKNOWN` headers, which carry no client.
pub(crate) async fn read_header<R: AsyncRead + Unpin>(
    r: &mut R,
) -> Result<Option<SocketAddr>, Refusal> {
    let io = |e: std::io::Error| Refusal::Invalid(e.to_string());
    let mut buf = vec![0u8; 5];
    r.read_exact(&mut buf).await.map_err(io)?;
    if buf == ppp::v1::PROTOCOL_PREFIX.as_bytes() {
        while !buf.ends_with(b"\r\n") {
            if buf.len() >= V1_MAX {
                return Err(Refusal::Invalid("v1 header too long".into()));
            }
            buf.push(r.read_u8().await.map_err(io)?);
        }
        let header = ppp::v1::Header::try_from(buf.as_slice())
            .map_err(|e| Refusal::Invalid(format!("v1: {e}")))?;
        return Ok(match header.addresses {
            ppp::v1::Addresses::Tcp4(a) => Some((a.source_address, a.source_port).into()),
            ppp::v1::Addresses::Tcp6(a) => Some((a.source_address, a.source_port).into()),
            ppp::v1::Addresses::Unknown => None,
        });
    }
    if buf != ppp::v2::PROTOCOL_PREFIX[..5] {
        return Err(Refusal::Invalid(
            "the connection does not start with one".into(),
        ));
    }
    buf.resize(V2_FIXED, 0);
    r.read_exact(&mut buf[5..]).await.map_err(io)?;
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if len > V2_MAX_PAYLOAD {
        return Err(Refusal::Invalid(format!("v2 payload of {len} bytes")));
    }
    buf.resize(V2_FIXED + len, 0);
    r.read_exact(&mut buf[V2_FIXED..]).await.map_err(io)?;
    let header = ppp::v2::Header::try_from(buf.as_slice())
        .map_err(|e| Refusal::Invalid(format!("v2: {e}")))?;
    if header.command == ppp::v2::Command::Local {
        return Ok(None);
    }
    Ok(match header.addresses {
        ppp::v2::Addresses::IPv4(a) => Some((a.source_address, a.source_port).into()),
        ppp::v2::Addresses::IPv6(a) => Some((a.source_address, a.source_port).into()),
        ppp::v2::Addresses::Unspecified | ppp::v2::Addresses::Unix(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> (Result<Option<SocketAddr>, String>, Vec<u8>) {
        let mut r = bytes;
        let got = read_header(&mut r).await.map_err(|e| e.to_string());
        (got, r.to_vec())
    }

    fn v2(cmd: u8, fam: u8, addr: &[u8]) -> Vec<u8> {
        let mut h = ppp::v2::PROTOCOL_PREFIX.to_vec();
        h.extend([cmd, fam]);
        h.extend((addr.len() as u16).to_be_bytes());
        h.extend(addr);
        h
    }

    #[tokio::test]
    async fn reads_exactly_the_header_and_its_source() {
        let (got, rest) = parse(b"PROXY TCP4 192.0.2.1 10.0.0.1 4711 443\r\nGET /").await;
        assert_eq!(got.unwrap(), Some("192.0.2.1:4711".parse().unwrap()));
        assert_eq!(rest, b"GET /");

        let (got, _) = parse(b"PROXY TCP6 2001:db8::1 2001:db8::2 4711 443\r\n").await;
        assert_eq!(got.unwrap(), Some("[2001:db8::1]:4711".parse().unwrap()));

        let (got, rest) = parse(b"PROXY UNKNOWN\r\n\x16\x03").await;
        assert_eq!(got.unwrap(), None);
        assert_eq!(rest, b"\x16\x03");

        let addr = [192, 0, 2, 9, 10, 0, 0, 1, 0x12, 0x67, 1, 187];
        let mut bytes = v2(0x21, 0x11, &addr);
        bytes.extend(b"\x16\x03\x01");
        let (got, rest) = parse(&bytes).await;
        assert_eq!(got.unwrap(), Some("192.0.2.9:4711".parse().unwrap()));
        assert_eq!(rest, b"\x16\x03\x01");

        // LOCAL: the balancer's own health check.
        let (got, _) = parse(&v2(0x20, 0x00, &[])).await;
        assert_eq!(got.unwrap(), None);
    }

    #[tokio::test]
    async fn refuses_missing_broken_and_oversized_headers() {
        for bad in [
            &b"POST / HTTP/1.1\r\n\r\n"[..],
            b"PROXY TCP4 not-an-ip 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 192.0.2.1 10.0.0.1 4711 443",
            &[b'P', b'R', b'O', b'X', b'Y', b' '].repeat(30),
        ] {
            let (got, _) = parse(bad).await;
            assert!(got.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut huge = ppp::v2::PROTOCOL_PREFIX.to_vec();
        huge.extend([0x21, 0x11, 0xff, 0xff]);
        let (got, _) = parse(&huge).await;
        assert!(got.unwrap_err().contains("payload of 65535 bytes"));
    }
}
