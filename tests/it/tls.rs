//! TLS and mutual TLS on loopback with a real rustls client, certificates
//! minted at run time; IP allowlists and trusted proxies.

use crate::harness::*;
use hookgate::certs::{Ca, Issued, Leaf};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

struct Pki {
    ca: Ca,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            ca: Ca::new("test CA").unwrap(),
            dir: tempfile::tempdir().unwrap(),
        };
        pki.write("ca.pem", &pki.ca.cert_pem());
        pki.server("server", 1);
        pki.write("crl.pem", &pki.ca.crl(&[66]).unwrap());
        pki
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn server(&self, name: &str, serial: u64) -> Issued {
        self.server_for(name, serial, "localhost", 825)
    }

    /// A server certificate for localhost with its own CN and validity, so
    /// tests can tell which one a client was served.
    fn server_for(&self, name: &str, serial: u64, cn: &str, days: i64) -> Issued {
        let ips = [std::net::IpAddr::from([127, 0, 0, 1])];
        let s = self
            .ca
            .issue(&Leaf {
                cn,
                dns: &["localhost"],
                ips: &ips,
                serial,
                days: Some(days),
                ..Default::default()
            })
            .unwrap();
        self.write(&format!("{name}.pem"), &s.cert_pem);
        self.write(&format!("{name}.key"), &s.key_pem);
        s
    }

    fn client(&self, name: &str, serial: u64, expired: bool) -> Issued {
        let dns = format!("{name}.example");
        let uri = format!("spiffe://hookgate.test/{name}");
        self.ca
            .issue(&Leaf {
                cn: name,
                dns: &[&dns],
                uris: &[&uri],
                serial,
                expired,
                client: true,
                ..Default::default()
            })
            .unwrap()
    }

    fn listener(&self, mode: &str, port: u16) -> String {
        format!(
            "[[listener]]\nname = \"tls\"\nlisten = \"127.0.0.1:{port}\"\ntls = {{ cert = \"{}\", key = \"{}\", client_ca = \"{}\", client_auth = \"{mode}\", crls = [\"{}\"] }}\n\n",
            self.path("server.pem"),
            self.path("server.key"),
            self.path("ca.pem"),
            self.path("crl.pem")
        )
    }
}

fn pem_chain(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A TLS connection from a rustls client (optionally presenting `client`).
struct Conn {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr, ca_pem: &str, client: Option<&Issued>) -> std::io::Result<Conn> {
        Self::open_after(addr, ca_pem, client, &[])
    }

    /// Open after sending `prefix` in clear (a PROXY protocol header).
    fn open_after(
        addr: SocketAddr,
        ca_pem: &str,
        client: Option<&Issued>,
        prefix: &[u8],
    ) -> std::io::Result<Conn> {
        Self::open_with(addr, client_config(ca_pem, client), prefix)
    }

    /// Open with `cfg` after sending `prefix` in clear.
    fn open_with(
        addr: SocketAddr,
        cfg: Arc<rustls::ClientConfig>,
        prefix: &[u8],
    ) -> std::io::Result<Conn> {
        let conn = rustls::ClientConnection::new(
            cfg,
            ServerName::try_from("localhost").unwrap().to_owned(),
        )
        .unwrap();
        let mut tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.write_all(prefix)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Conn { tls })
    }

    /// The server certificate this connection got: (serial, CN).
    fn server_cert(&self) -> (u64, String) {
        let der = self.tls.conn.peer_certificates().unwrap()[0].to_vec();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let cn = cert.subject().iter_common_name().next().unwrap();
        (
            u64::from_str_radix(
                &cert.tbs_certificate.raw_serial_as_string().replace(':', ""),
                16,
            )
            .unwrap(),
            cn.as_str().unwrap().to_string(),
        )
    }

    /// Send a keep-alive POST; return status line + body, or the I/O error.
    fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.tls.write_all(req.as_bytes())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = self.tls.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed before a response",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let status = text[9..12].parse().unwrap();
                    return Ok((status, text[end + 4..end + 4 + len].to_string()));
                }
            }
        }
    }
}

/// A client trusting `ca_pem`, presenting `client` when given, with rustls'
/// default suite order (AES-256-GCM-SHA384 first) and resumption on, so that
/// connections made with the same config resume.
fn client_config(ca_pem: &str, client: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in pem_chain(ca_pem) {
        roots.add(c).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        Some(c) => {
            let key = rustls_pemfile::private_key(&mut c.key_pem.as_bytes())
                .unwrap()
                .unwrap();
            b.with_client_auth_cert(pem_chain(&c.cert_pem), key)
                .unwrap()
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

/// Post once on a new connection; Err means the handshake or connection failed.
fn one_shot(
    addr: SocketAddr,
    pki: &Pki,
    client: Option<&Issued>,
    path: &str,
) -> Result<(u16, String), String> {
    let mut c = Conn::open(addr, &pki.ca.cert_pem(), client).map_err(|e| e.to_string())?;
    c.post(path, &[], "{}").map_err(|e| e.to_string())
}

fn tls_gateway(pki: &Pki, mode: &str, routes: &str) -> (Gateway, SocketAddr) {
    let port = free_port();
    let gw = Gateway::start(&(pki.listener(mode, port) + routes));
    (gw, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The server, not the client, picks the suite: a client that lists
/// AES-256-GCM-SHA384 first (rustls' and OpenSSL's order) gets
/// AES-128-GCM-SHA256, whose hash runs on the CPU's SHA extensions. The
/// ticket hookgate sends lets the next connection resume.
#[test]
fn the_server_picks_a_sha256_suite_and_the_next_connection_resumes() {
    let pki = Pki::new();
    let up = Upstream::start();
    let (_gw, addr) = tls_gateway(&pki, "off", &route("open", "/open", up.addr, ""));
    let cfg = client_config(&pki.ca.cert_pem(), None);
    assert_eq!(
        cfg.crypto_provider().cipher_suites[0].suite(),
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
        "the client prefers SHA-384"
    );
    let mut first = Conn::open_with(addr, cfg.clone(), &[]).unwrap();
    assert_eq!(
        first.tls.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
    );
    assert_eq!(first.post("/open", &[], "{}").unwrap().0, 200);
    let mut second = Conn::open_with(addr, cfg, &[]).unwrap();
    assert_eq!(
        second.tls.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    assert_eq!(second.post("/open", &[], "{}").unwrap().0, 200);
}

#[test]
fn required_client_auth_refuses_bad_certificates_in_the_handshake() {
    let pki = Pki::new();
    let up = Upstream::start();
    let (gw, addr) = tls_gateway(
        &pki,
        "required",
        &route("r", "/r", up.addr, "client_cert = { required = true }"),
    );
    let good = pki.client("sender-a", 10, false);
    let expired = pki.client("old", 11, true);
    let revoked = pki.client("revoked", 66, false);
    let stranger = Ca::new("other CA")
        .unwrap()
        .issue(&Leaf {
            cn: "x",
            client: true,
            serial: 5,
            ..Default::default()
        })
        .unwrap();

    assert_eq!(one_shot(addr, &pki, Some(&good), "/r").unwrap().0, 200);
    for (label, cert) in [
        ("none", None),
        ("expired", Some(&expired)),
        ("revoked", Some(&revoked)),
        ("other CA", Some(&stranger)),
    ] {
        let r = one_shot(addr, &pki, cert, "/r");
        assert!(r.is_err(), "{label}: handshake should fail, got {r:?}");
    }
    assert_eq!(up.received().len(), 1, "only the valid client got through");
    let m = gw.metrics();
    for reason in ["expired", "revoked", "unknown_issuer"] {
        assert_eq!(
            metric_value(
                &m,
                &format!(
                    "hookgate_tls_handshake_failures_total{{listener=\"tls\",reason=\"{reason}\"}}"
                )
            ),
            1.0,
            "{reason}\n{m}"
        );
    }
    assert_eq!(
        up.received()[0].header("x-forwarded-proto").as_deref(),
        Some("https")
    );
}

#[test]
fn route_identity_rules_and_forged_identity_header() {
    let pki = Pki::new();
    let up = Upstream::start();
    let a = pki.client("sender-a", 10, false);
    let b = pki.client("sender-b", 12, false);
    let fp_b = hookgate::identity::ClientIdentity::from_der(&pem_chain(&b.cert_pem)[0])
        .unwrap()
        .sha256;
    let routes = route("dns", "/dns", up.addr, "client_cert = { san_dns = [\"sender-a.example\"], forward_header = \"X-Client-Identity\" }")
        + &route("uri", "/uri", up.addr, "client_cert = { san_uri = [\"spiffe://hookgate.test/sender-b\"] }")
        + &route("cn", "/cn", up.addr, "client_cert = { cn = [\"sender-a\"] }")
        + &route("fp", "/fp", up.addr, &format!("client_cert = {{ sha256 = [\"{fp_b}\"] }}"))
        + &route("open", "/open", up.addr, "client_cert = { forward_header = \"X-Client-Identity\" }");
    let (_gw, addr) = tls_gateway(&pki, "optional", &routes);
    let expect = [
        ("/dns", &a, 200),
        ("/dns", &b, 403),
        ("/uri", &b, 200),
        ("/uri", &a, 403),
        ("/cn", &a, 200),
        ("/cn", &b, 403),
        ("/fp", &b, 200),
        ("/fp", &a, 403),
    ];
    for (path, cert, status) in expect {
        let (got, body) = one_shot(addr, &pki, Some(cert), path).unwrap();
        assert_eq!(got, status, "{path}: {body}");
        if status == 403 {
            assert!(body.contains("client_identity_not_allowed"), "{body}");
        }
    }
    // No certificate on an optional listener: routes with lists say so.
    let (status, body) = one_shot(addr, &pki, None, "/dns").unwrap();
    assert_eq!(
        (status, body.contains("client_certificate_required")),
        (403, true)
    );

    // The identity header is hookgate's: a forged one never reaches the app.
    let before = up.received().len();
    let mut c = Conn::open(addr, &pki.ca.cert_pem(), Some(&a)).unwrap();
    assert_eq!(
        c.post("/dns", &[("x-client-identity", "dns:admin.example")], "{}")
            .unwrap()
            .0,
        200
    );
    let rec = up.received()[before].clone();
    assert_eq!(
        rec.header_all("x-client-identity"),
        vec!["dns:sender-a.example".to_string()]
    );
    let mut c = Conn::open(addr, &pki.ca.cert_pem(), None).unwrap();
    assert_eq!(
        c.post("/open", &[("x-client-identity", "dns:admin.example")], "{}")
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        up.received().last().unwrap().header("x-client-identity"),
        None,
        "stripped when no identity"
    );
}

#[test]
fn reload_serves_a_renewed_certificate_while_old_connections_live_on() {
    let pki = Pki::new();
    let up = Upstream::start();
    let (gw, addr) = tls_gateway(&pki, "off", &route("r", "/r", up.addr, ""));
    let expiry = "hookgate_tls_certificate_expiry_days{listener=\"tls\"}";
    eventually(Duration::from_secs(10), "the expiry gauge", || {
        metric_opt(&gw.metrics(), expiry).is_some_and(|d| d > 800.0)
    });
    let mut old = Conn::open(addr, &pki.ca.cert_pem(), None).unwrap();
    assert_eq!(old.post("/r", &[], "1").unwrap().0, 200);
    assert_eq!(old.server_cert(), (1, "localhost".to_string()));

    // Renewed: another serial, CN and lifetime, written over the same files.
    pki.server_for("server", 2, "renewed", 400);
    let admin = format!("http://{}/reload", gw.admin);
    assert_eq!(client().post(&admin).send().unwrap().status(), 200);
    let new = Conn::open(addr, &pki.ca.cert_pem(), None).unwrap();
    assert_eq!(
        new.server_cert(),
        (2, "renewed".to_string()),
        "new connections get the renewed certificate"
    );
    assert_eq!(
        old.post("/r", &[], "2").unwrap().0,
        200,
        "the old connection keeps working"
    );
    eventually(
        Duration::from_secs(10),
        "the gauge to follow the renewed certificate",
        || metric_value(&gw.metrics(), expiry) < 401.0,
    );

    // A broken key keeps the current material and reports the file, key and line.
    std::fs::write(pki.dir.path().join("server.key"), "not a key").unwrap();
    let r = client().post(&admin).send().unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().unwrap();
    assert!(
        body.contains(&format!(
            "listener \"tls\".tls.key: {}: no private key found",
            pki.path("server.key")
        )),
        "{body}"
    );
    let again = Conn::open(addr, &pki.ca.cert_pem(), None).unwrap();
    assert_eq!(again.server_cert(), (2, "renewed".to_string()));
}

#[test]
fn reload_refuses_a_client_auth_change_naming_key_and_line() {
    let pki = Pki::new();
    let up = Upstream::start();
    let (gw, addr) = tls_gateway(&pki, "optional", &route("r", "/r", up.addr, ""));
    let text = std::fs::read_to_string(&gw.config).unwrap();
    let line = text[..text.find("tls = {").unwrap()].matches('\n').count() + 1;
    std::fs::write(&gw.config, text.replace("\"optional\"", "\"required\"")).unwrap();
    let r = client()
        .post(format!("http://{}/reload", gw.admin))
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().unwrap();
    assert!(
        body.contains(&format!(
            "listener \"tls\".tls.client_auth: client_auth cannot change from optional to required without a restart (line {line})"
        )),
        "{body}"
    );
    // Still optional: a client without a certificate is served.
    assert_eq!(one_shot(addr, &pki, None, "/r").unwrap().0, 200);
}

#[test]
fn ip_allow_and_deny_v4_and_v6() {
    let up = Upstream::start();
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, free_port()));
    let routes = route(
        "v4only",
        "/v4only",
        up.addr,
        "allow_ips = [\"127.0.0.0/8\"]",
    ) + &route("no-v6", "/no-v6", up.addr, "deny_ips = [\"::1\"]")
        + &route("file", "/file", up.addr, "allow_ips = [\"file:ips.txt\"]")
        + &format!("[[listener]]\nname = \"v6\"\nlisten = \"{v6}\"\n");
    // file: paths are relative to the config file; the harness writes it into its temp dir.
    let gw = Gateway::start_with_files(&routes, &[("ips.txt", "# sender ranges\n::1/128\n")]);
    let v4 = gw.addr;
    let status = |addr: SocketAddr, path: &str| {
        let r = client()
            .post(format!("http://{addr}{path}"))
            .body("x")
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(status(v4, "/v4only").0, 200);
    let (s, body) = status(v6, "/v4only");
    assert_eq!((s, body.contains("ip_not_allowed")), (403, true));
    assert_eq!(status(v4, "/no-v6").0, 200);
    assert_eq!(status(v6, "/no-v6").0, 403);
    assert_eq!(status(v6, "/file").0, 200);
    assert_eq!(status(v4, "/file").0, 403);
    assert_eq!(
        gw.metric("hookgate_requests_total{outcome=\"ip_not_allowed\",route=\"v4only\"}"),
        1.0
    );
}

#[test]
fn x_forwarded_for_counts_only_from_trusted_proxies() {
    let up = Upstream::start();
    let routes = route(
        "ranges",
        "/ranges",
        up.addr,
        "allow_ips = [\"198.51.100.0/24\"]",
    );
    let lb = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let trusted = format!("[[listener]]\nname = \"behind-lb\"\nlisten = \"{lb}\"\ntrusted_proxies = [\"127.0.0.1\"]\n");
    let gw = Gateway::start(&(routes + &trusted));
    let send = |addr: SocketAddr, xff: &str| {
        client()
            .post(format!("http://{addr}/ranges"))
            .header("x-forwarded-for", xff)
            .body("x")
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        send(gw.addr, "198.51.100.7"),
        403,
        "untrusted peer: its XFF is ignored"
    );
    assert_eq!(
        send(lb, "203.0.113.1, 198.51.100.7"),
        200,
        "trusted peer: right-most hop"
    );
    assert_eq!(
        send(lb, "198.51.100.7, 203.0.113.1"),
        403,
        "a spoofed left-most entry does not help"
    );
    assert_eq!(
        up.received()[0].header("x-forwarded-for").as_deref(),
        Some("198.51.100.7")
    );
}

#[test]
fn https_upstream_with_ca_bundle_sni_and_client_certificate() {
    let pki = Pki::new();
    let up = Upstream::start();
    // The "internal service": a second hookgate that requires mTLS from sender-a.
    let (_inner, inner_addr) = tls_gateway(
        &pki,
        "required",
        &route(
            "svc",
            "/",
            up.addr,
            "client_cert = { san_uri = [\"spiffe://hookgate.test/sender-a\"] }",
        ),
    );
    let a = pki.client("sender-a", 10, false);
    pki.write("edge.pem", &a.cert_pem);
    pki.write("edge.key", &a.key_pem);
    let https = format!("https://localhost:{}", inner_addr.port());
    let edge = format!(
        "[[route]]\nname = \"mtls-up\"\npath_prefix = \"/up\"\nupstreams = [\"{https}\"]\nallow_unauthenticated = true\nupstream_tls = {{ ca = \"{}\", client_cert = \"{}\", client_key = \"{}\" }}\n\n\
         [[route]]\nname = \"no-client-cert\"\npath_prefix = \"/nocert\"\nupstreams = [\"{https}\"]\nallow_unauthenticated = true\nupstream_tls = {{ ca = \"{}\" }}\n\n\
         [[route]]\nname = \"wrong-name\"\npath_prefix = \"/wrongname\"\nupstreams = [\"{https}\"]\nallow_unauthenticated = true\nupstream_tls = {{ ca = \"{}\", sni = \"billing.internal\", client_cert = \"{}\", client_key = \"{}\" }}\n\n",
        pki.path("ca.pem"), pki.path("edge.pem"), pki.path("edge.key"),
        pki.path("ca.pem"),
        pki.path("ca.pem"), pki.path("edge.pem"), pki.path("edge.key"),
    );
    let gw = Gateway::start(&edge);
    let r = client()
        .post(gw.url("/up/x"))
        .body("over mTLS")
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "{}",
        gw.logs().lines().last().unwrap_or("")
    );
    assert_eq!(up.received()[0].body, b"over mTLS");
    // Without the client certificate the inner service refuses the handshake: 502.
    assert_eq!(
        client()
            .post(gw.url("/nocert"))
            .body("x")
            .send()
            .unwrap()
            .status(),
        502
    );
    // Hostname verification: the certificate is for localhost, not billing.internal.
    assert_eq!(
        client()
            .post(gw.url("/wrongname"))
            .body("x")
            .send()
            .unwrap()
            .status(),
        502
    );
    assert_eq!(up.received().len(), 1);
}

/// A PROXY protocol v2 header for a TCP client `src` talking to `dst`.
fn proxy_v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    let mut addrs = Vec::new();
    match (src, dst) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            h.push(0x21);
            h.push(0x11);
            addrs.extend(s.ip().octets());
            addrs.extend(d.ip().octets());
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            h.push(0x21);
            h.push(0x21);
            addrs.extend(s.ip().octets());
            addrs.extend(d.ip().octets());
        }
        _ => panic!("mixed families"),
    }
    addrs.extend(src.port().to_be_bytes());
    addrs.extend(dst.port().to_be_bytes());
    h.extend((addrs.len() as u16).to_be_bytes());
    h.extend(addrs);
    h
}

/// Behind a TCP load balancer (TLS passed through), the client address comes
/// from the PROXY header: allowlists, the access log and X-Forwarded-For all
/// see it; only trusted balancers may send one; no header, no connection.
#[test]
fn proxy_protocol_on_plain_and_tls_listeners() {
    let pki = Pki::new();
    let up = Upstream::start();
    let pp = "proxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]\n\n";
    let plain = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let tls_port = free_port();
    let tls = SocketAddr::from(([127, 0, 0, 1], tls_port));
    let untrusted = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = route(
        "pp",
        "/pp",
        up.addr,
        "allow_ips = [\"192.0.2.0/24\", \"2001:db8::/32\"]",
    ) + &format!("[[listener]]\nname = \"lb-plain\"\nlisten = \"{plain}\"\n{pp}")
        + pki.listener("optional", tls_port).trim_end()
        + "\n"
        + pp
        + &format!("[[listener]]\nname = \"lb-untrusted\"\nlisten = \"{untrusted}\"\nproxy_protocol = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n");
    let gw = Gateway::start(&config);
    let post = "POST /pp HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n";
    let closed = |reason: &str| {
        gw.metric(&format!(
            "hookgate_downstream_closed_total{{reason=\"{reason}\"}}"
        ))
    };

    // v1 on a plain listener: forwarded, as the client in the header.
    let resp = raw_request(
        plain,
        &format!(
            "PROXY TCP4 192.0.2.10 127.0.0.1 5555 {}\r\n{post}",
            plain.port()
        ),
        b"v1",
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let got = &up.received()[0];
    assert_eq!(got.body, b"v1");
    assert_eq!(got.header("x-forwarded-for").as_deref(), Some("192.0.2.10"));
    let id = got.header("x-request-id").unwrap();
    assert_eq!(gw.wait_access_log(&id)["peer"], "192.0.2.10");

    // v2 from an address outside the route's allowlist: refused as that address.
    let mut s = TcpStream::connect(plain).unwrap();
    s.write_all(&proxy_v2("198.51.100.1:4000".parse().unwrap(), plain))
        .unwrap();
    let resp = exchange(&mut s, post, b"no");
    assert!(
        resp.starts_with("HTTP/1.1 403") && resp.contains("ip_not_allowed"),
        "{resp}"
    );

    // v2 (IPv6 client) in front of TLS: the header precedes the handshake.
    let src: SocketAddr = "[2001:db8::5]:4711".parse().unwrap();
    let mut c = Conn::open_after(
        tls,
        &pki.ca.cert_pem(),
        None,
        &proxy_v2(src, "[2001:db8::1]:443".parse().unwrap()),
    )
    .unwrap();
    assert_eq!(c.post("/pp", &[], "v2").unwrap().0, 200);
    assert_eq!(
        up.received()[1].header("x-forwarded-for").as_deref(),
        Some("2001:db8::5")
    );

    // No header: closed before any HTTP, nothing forwarded.
    assert_eq!(closed("proxy_protocol_invalid"), 0.0);
    assert_eq!(raw_request(plain, post, b"xx"), "");
    assert!(Conn::open(tls, &pki.ca.cert_pem(), None).is_err());
    assert_eq!(closed("proxy_protocol_invalid"), 2.0);

    // A header from a peer that is not a trusted balancer is a forgery.
    let resp = raw_request(
        untrusted,
        &format!("PROXY TCP4 192.0.2.10 127.0.0.1 5555 80\r\n{post}"),
        b"xx",
    );
    assert_eq!(resp, "");
    assert_eq!(closed("proxy_protocol_untrusted"), 1.0);
    assert!(gw
        .logs()
        .contains("PROXY protocol header from 127.0.0.1, which is not in trusted_proxies"));

    // The ordinary listener is untouched by all this.
    assert_eq!(up.received().len(), 2);
    let r = client().post(gw.url("/pp")).body("x").send().unwrap();
    assert_eq!(
        r.status(),
        403,
        "127.0.0.1 is outside the route's allowlist"
    );
}
