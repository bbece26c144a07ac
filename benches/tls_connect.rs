//! `make bench`'s TLS new-connection client: every connection a full
//! handshake (resumption off), one HTTP/1.0 GET, read to the end, close.
//!
//! `openssl s_time` spends several times the server's CPU on each
//! handshake, so on a 2-core machine it saturated its own core while the
//! servers idled at a third of theirs, and the figure measured the client.
//! This client skips certificate-chain and handshake-signature checks (the
//! server still signs) and uses blocking sockets, so one client core drives
//! a server core to saturation and conn/s measures the server.
//!
//! `tls_connect ADDR PATH SECONDS CONNECTIONS [CERT KEY]` prints
//! `BENCH {"requests": N, "errors": E, "non_2xx": F}`.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Accepts whatever the server presents: the bench measures the server's
/// handshake, not the client's verification.
#[derive(Debug)]
struct AcceptAny(Vec<SignatureScheme>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    non_2xx: AtomicU64,
    errors: AtomicU64,
}

fn config(client_cert: Option<(&str, &str)>) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(schemes)));
    let mut config = match client_cert {
        Some((cert, key)) => {
            let certs = rustls_pemfile::certs(&mut std::fs::read(cert)?.as_slice())
                .collect::<Result<Vec<_>, _>>()?;
            let key: PrivateKeyDer =
                rustls_pemfile::private_key(&mut std::fs::read(key)?.as_slice())?
                    .ok_or_else(|| anyhow::anyhow!("{key}: no private key"))?;
            builder.with_client_auth_cert(certs, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// One connection: handshake, GET, read to EOF. Ok(true) for a 2xx.
fn one(addr: SocketAddr, config: &Arc<ClientConfig>, request: &[u8]) -> std::io::Result<bool> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(request)?;
    let mut response = Vec::with_capacity(1024);
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        // Servers that close without close_notify after an HTTP/1.0 answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(response.starts_with(b"HTTP/1.1 2") || response.starts_with(b"HTTP/1.0 2"))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 && args.len() != 7 {
        anyhow::bail!("usage: tls_connect ADDR PATH SECONDS CONNECTIONS [CERT KEY]");
    }
    let addr: SocketAddr = args[1].parse()?;
    let request = format!("GET {} HTTP/1.0\r\nHost: {}\r\n\r\n", args[2], addr.ip()).into_bytes();
    let until = Instant::now() + Duration::from_secs(args[3].parse()?);
    let connections: usize = args[4].parse()?;
    let config = config(args.get(5).map(|c| (c.as_str(), args[6].as_str())))?;
    let counts = Arc::new(Counts::default());
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (config, counts, request) = (config.clone(), counts.clone(), request.clone());
            std::thread::spawn(move || {
                while Instant::now() < until {
                    let n = match one(addr, &config, &request) {
                        Ok(true) => &counts.ok,
                        Ok(false) => &counts.non_2xx,
                        Err(_) => &counts.errors,
                    };
                    n.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))?;
    }
    let ok = counts.ok.load(Ordering::Relaxed);
    let non_2xx = counts.non_2xx.load(Ordering::Relaxed);
    println!(
        "BENCH {{\"requests\": {}, \"errors\": {}, \"non_2xx\": {non_2xx}}}",
        ok + non_2xx,
        counts.errors.load(Ordering::Relaxed)
    );
    Ok(())
}
