//! Keys from a certificate URL (Amazon SNS, PayPal): the certificate is
//! served by a real HTTPS server on loopback, allowed by test config; a test
//! RSA key (tests/fixtures) signs the messages.

use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const CERT: &str = include_str!("../../../tests/fixtures/rsa-signing-cert.pem");
const KEY: &[u8] = include_bytes!("../../../tests/fixtures/rsa-signing-key.pk8");
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:hooks";
const SHA1_SIGNATURE: &str = "r6YlNTZBKV1DGVRJEjAeZ5JBeDs9X2i5hDuCUoBn70EhaGBx8eS6rvX1VpSHDXqTDQpKqLdMpSbNC+mJtX3NIi1xj0Ldd1xu79jeQTe/yTCy/w587cubFwx0Zb+CerUuyJgGTmg7BoyBm9KTkm2NUsml+uLNhrp4Quw21l4j+pJN8ze6//6pb0fu5gHFSlvKu0n5p14xfTldsllCHCZT8t/fNjvMcAA04WztXd6Yv+HBXV2Hp0bH7rm+tLKkpiQEZEY9ovE4QhjONXxsDvOnpcPeBqGPou4vJuDAAoFw8kl60j1hr76rQvI+hsKkS8Yw2t+KHDTycAt8Rk3g0Hh4/Q==";

/// A loopback HTTPS server answering every GET with the signing certificate;
/// it records the paths asked for. Its CA is written to `ca.pem` in `dir`.
struct CertServer {
    port: u16,
    paths: Arc<Mutex<Vec<String>>>,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl CertServer {
    fn start() -> CertServer {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let seen = paths.clone();
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of fetches.
            for stream in listener.incoming().take(16).flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                seen.lock()
                    .unwrap()
                    .push(line.split(' ').nth(1).unwrap_or("").to_string());
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{CERT}",
                    CERT.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        CertServer {
            port,
            paths,
            ca: ca_path,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn knobs(&self) -> String {
        format!(
            "cert_url_hosts = [\"localhost:{}\"]\ncert_url_ca = {:?}\n",
            self.port, self.ca
        )
    }
}

fn rsa_sign(alg: &'static dyn ring::signature::RsaEncoding, msg: &[u8]) -> String {
    let kp = ring::signature::RsaKeyPair::from_pkcs8(KEY).unwrap();
    let mut sig = vec![0u8; kp.public().modulus_len()];
    kp.sign(alg, &ring::rand::SystemRandom::new(), msg, &mut sig)
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(sig)
}

/// An SNS message of `kind`, signed with SignatureVersion `version`.
fn sns_message(kind: &str, version: &str, cert_url: &str, message: &str, topic: &str) -> String {
    let mut fields = vec![
        ("Message", message.to_string()),
        (
            "MessageId",
            "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".to_string(),
        ),
    ];
    if kind == "SubscriptionConfirmation" {
        fields.push((
            "SubscribeURL",
            format!(
                "{}?Action=ConfirmSubscription&Token=t1",
                cert_url.replace("/cert.pem", "/")
            ),
        ));
    }
    fields.push(("Timestamp", "2012-05-02T00:54:06.655Z".to_string()));
    if kind == "SubscriptionConfirmation" {
        fields.push(("Token", "t1".to_string()));
    }
    fields.push(("TopicArn", topic.to_string()));
    fields.push(("Type", kind.to_string()));
    let string_to_sign: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    let signature = if version == "1" {
        // ring does not sign with SHA-1: this one was made once with
        // `openssl dgst -sha1 -sign` over the same string to sign.
        assert_eq!(string_to_sign, format!("Message\ncaf\u{e9} \"quoted\"\nline\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\n{TOPIC}\nType\nNotification\n"));
        SHA1_SIGNATURE.to_string()
    } else {
        rsa_sign(
            &ring::signature::RSA_PKCS1_SHA256,
            string_to_sign.as_bytes(),
        )
    };
    let mut doc = serde_json::Map::new();
    for (k, v) in fields {
        doc.insert(k.into(), serde_json::Value::String(v));
    }
    doc.insert("SignatureVersion".into(), version.into());
    doc.insert("Signature".into(), signature.into());
    doc.insert("SigningCertURL".into(), cert_url.into());
    serde_json::Value::Object(doc).to_string()
}

fn run(v: &Verifier, hd: &HeaderMap, body: &[u8]) -> Result<Done, Reason> {
    let req = RequestParts {
        method: "POST",
        path_and_query: "/sns",
        headers: hd,
    };
    let now = at(1_700_000_000);
    both_steps(v, &req, body, now)
}

#[test]
fn sns_messages_verify_with_the_fetched_certificate() {
    let srv = CertServer::start();
    let v = verifier(&format!(
        "scheme = \"amazon-sns\"\ntopic_arns = [{TOPIC:?}]\n{}",
        srv.knobs()
    ));
    let none = HeaderMap::new();
    let cert = srv.url("/SimpleNotificationService-test.pem");
    for version in ["1", "2"] {
        let msg = sns_message(
            "Notification",
            version,
            &cert,
            "caf\u{e9} \"quoted\"\nline",
            TOPIC,
        );
        let done = run(&v, &none, msg.as_bytes()).unwrap_or_else(|r| panic!("v{version}: {r:?}"));
        assert_eq!(done.verified.unwrap().key_id, "certificate");
        assert!(done.answer.is_none());
        let tampered = msg.replace("quoted", "QUOTED");
        assert_eq!(
            run(&v, &none, tampered.as_bytes()).err(),
            Some(Reason::SignatureInvalid)
        );
    }
    assert_eq!(
        srv.paths.lock().unwrap().len(),
        1,
        "fetched once, then cached"
    );
    // Signed by AWS, but from a topic this route does not accept.
    let other = sns_message(
        "Notification",
        "2",
        &cert,
        "m",
        "arn:aws:sns:us-east-1:999:other",
    );
    assert_eq!(
        run(&v, &none, other.as_bytes()).err(),
        Some(Reason::SignatureInvalid)
    );
    // A certificate URL off the allowlist is never fetched.
    for url in [
        "https://evil.example/cert.pem",
        &cert.replace("https://", "http://"),
        "https://user@localhost/cert.pem",
    ] {
        let msg = sns_message("Notification", "2", url, "m", TOPIC);
        assert_eq!(
            run(&v, &none, msg.as_bytes()).err(),
            Some(Reason::SignatureInvalid),
            "{url}"
        );
    }
    assert_eq!(srv.paths.lock().unwrap().len(), 1);
    assert!(config_error("scheme = \"amazon-sns\"").starts_with("verify.topic_arns: required"));
}

#[test]
fn unreachable_certificate_fails_closed_with_503() {
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let v = verifier(&format!(
        "scheme = \"amazon-sns\"\ntopic_arns = [{TOPIC:?}]\ncert_url_hosts = [\"localhost:{port}\"]\n"
    ));
    let msg = sns_message(
        "Notification",
        "2",
        &format!("https://localhost:{port}/c.pem"),
        "m",
        TOPIC,
    );
    assert_eq!(
        run(&v, &HeaderMap::new(), msg.as_bytes()).err(),
        Some(Reason::SigningKeyUnavailable)
    );
    assert_eq!(Reason::SigningKeyUnavailable.status(), 503);
}

#[test]
fn sns_subscription_is_confirmed_only_with_auto_confirm() {
    let srv = CertServer::start();
    let cert = srv.url("/cert.pem");
    let msg = sns_message(
        "SubscriptionConfirmation",
        "2",
        &cert,
        "You have chosen to subscribe",
        TOPIC,
    );
    let forward = verifier(&format!(
        "scheme = \"amazon-sns\"\ntopic_arns = [{TOPIC:?}]\n{}",
        srv.knobs()
    ));
    assert!(run(&forward, &HeaderMap::new(), msg.as_bytes())
        .unwrap()
        .answer
        .is_none());
    let confirm = verifier(&format!(
        "scheme = \"amazon-sns\"\ntopic_arns = [{TOPIC:?}]\nauto_confirm = true\n{}",
        srv.knobs()
    ));
    let done = run(&confirm, &HeaderMap::new(), msg.as_bytes()).unwrap();
    assert_eq!(done.answer.unwrap().status, 200);
    assert!(
        srv.paths
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.starts_with("/?Action=ConfirmSubscription&Token=t1")),
        "{:?}",
        srv.paths.lock().unwrap()
    );
}

#[test]
fn paypal_transmissions_verify_with_the_fetched_certificate() {
    let srv = CertServer::start();
    let body =
        br#"{"id":"WH-EVT-1","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"caf\u00e9"}"#;
    let (id, time) = (
        "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "2016-02-18T20:01:35Z",
    );
    let signed = format!("{id}|{time}|WH-1|{}", crc32fast::hash(body));
    let sig = rsa_sign(&ring::signature::RSA_PKCS1_SHA256, signed.as_bytes());
    let cert = srv.url("/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270");
    let hd = h(&[
        ("paypal-transmission-id", id),
        ("paypal-transmission-time", time),
        ("paypal-transmission-sig", &sig),
        ("paypal-cert-url", &cert),
        ("paypal-auth-algo", "SHA256withRSA"),
    ]);
    let v = verifier(&format!(
        "scheme = \"paypal\"\nwebhook_id = \"WH-1\"\n{}",
        srv.knobs()
    ));
    assert!(run(&v, &hd, body).is_ok());
    let other_hook = verifier(&format!(
        "scheme = \"paypal\"\nwebhook_id = \"WH-2\"\n{}",
        srv.knobs()
    ));
    assert_eq!(
        run(&other_hook, &hd, body).err(),
        Some(Reason::SignatureInvalid)
    );
    assert_eq!(run(&v, &hd, b"{}").err(), Some(Reason::SignatureInvalid));
    assert!(config_error("scheme = \"paypal\"").starts_with("verify.webhook_id: required"));
}
