//! Development and test certificates, generated with rcgen (never checked in).
//!
//! `hookgate certs dev --out certs/` writes a dev CA, a server certificate for
//! localhost, two client certificates with SAN DNS names and SPIFFE URIs, an
//! unrelated CA with its own client (to see a handshake refused), and an
//! empty CRL. Tests use the same [`Ca`] type to mint what they need.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Certificate PEM.
    pub cert_pem: String,
    /// Private key PEM.
    pub key_pem: String,
}

/// A certificate authority that can issue server and client certificates and CRLs.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn e(err: rcgen::Error) -> String {
    err.to_string()
}

/// Leaf certificate options.
#[derive(Debug, Clone, Default)]
pub struct Leaf<'a> {
    /// Subject CN.
    pub cn: &'a str,
    /// SAN DNS names.
    pub dns: &'a [&'a str],
    /// SAN IP addresses.
    pub ips: &'a [std::net::IpAddr],
    /// SAN URIs.
    pub uris: &'a [&'a str],
    /// Serial number (for revocation).
    pub serial: u64,
    /// Issue an already expired certificate.
    pub expired: bool,
    /// Client (true) or server (false) certificate.
    pub client: bool,
    /// Validity in days from now (default 825).
    pub days: Option<i64>,
}

impl Ca {
    /// A new self-signed CA named `cn`.
    pub fn new(cn: &str) -> Result<Ca, String> {
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        p.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
        let cert = p.self_signed(&key).map_err(e)?;
        Ok(Ca { cert, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// Issue a leaf certificate.
    pub fn issue(&self, leaf: &Leaf<'_>) -> Result<Issued, String> {
        let key = KeyPair::generate().map_err(e)?;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, leaf.cn);
        for d in leaf.dns {
            p.subject_alt_names
                .push(SanType::DnsName((*d).try_into().map_err(e)?));
        }
        for ip in leaf.ips {
            p.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        for u in leaf.uris {
            p.subject_alt_names
                .push(SanType::URI((*u).try_into().map_err(e)?));
        }
        p.serial_number = Some(SerialNumber::from(leaf.serial.max(1)));
        p.extended_key_usages = vec![if leaf.client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        if leaf.expired {
            p.not_before = now - Duration::days(30);
            p.not_after = now - Duration::days(1);
        } else {
            p.not_before = now - Duration::days(1);
            p.not_after = now + Duration::days(leaf.days.unwrap_or(825));
        }
        let cert = p.signed_by(&key, &self.cert, &self.key).map_err(e)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A CRL revoking `serials`, PEM.
    pub fn crl(&self, serials: &[u64]) -> Result<String, String> {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::hours(1),
            next_update: now + Duration::days(30),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: now - Duration::hours(1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.cert, &self.key)
            .map(|c| c.pem().unwrap_or_default())
            .map_err(e)
    }
}

/// Write the development set into `out`; returns the files written.
pub fn generate_dev(out: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|err| format!("{}: {err}", out.display()))?;
    let ca = Ca::new("hookgate dev CA")?;
    let other = Ca::new("unrelated CA")?;
    let localhost = [
        std::net::IpAddr::from([127, 0, 0, 1]),
        std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    let server = ca.issue(&Leaf {
        cn: "localhost",
        dns: &["localhost"],
        ips: &localhost,
        serial: 1,
        ..Default::default()
    })?;
    let client = |name: &str, serial: u64, issuer: &Ca| {
        issuer.issue(&Leaf {
            cn: name,
            dns: &[&format!("{name}.example")],
            uris: &[&format!("spiffe://hookgate.test/{name}")],
            serial,
            client: true,
            ..Default::default()
        })
    };
    let a = client("sender-a", 10, &ca)?;
    let b = client("sender-b", 11, &ca)?;
    let stranger = client("stranger", 12, &other)?;
    let mut written = Vec::new();
    let mut write = |name: &str, text: &str| -> Result<(), String> {
        let p = out.join(name);
        std::fs::write(&p, text).map_err(|err| format!("{}: {err}", p.display()))?;
        written.push(p);
        Ok(())
    };
    write("ca.pem", &ca.cert_pem())?;
    write("server.pem", &server.cert_pem)?;
    write("server.key", &server.key_pem)?;
    write("sender-a.pem", &a.cert_pem)?;
    write("sender-a.key", &a.key_pem)?;
    write("sender-b.pem", &b.cert_pem)?;
    write("sender-b.key", &b.key_pem)?;
    write("stranger.pem", &stranger.cert_pem)?;
    write("stranger.key", &stranger.key_pem)?;
    write("crl.pem", &ca.crl(&[])?)?;
    Ok(written)
}
