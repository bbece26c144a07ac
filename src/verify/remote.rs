//! Keys from a certificate URL named in the message (Amazon SNS
//! `SigningCertURL`, PayPal `PAYPAL-CERT-URL`).
//!
//! The URL is attacker-supplied, so it is fetched only when it is `https://`
//! on an allowlisted host (`*` matches one DNS label; a port must be listed),
//! with no redirects, a timeout and a size bound. Parsed keys are cached by
//! URL (bounded count, one-hour lifetime). Anything else fails closed: a URL
//! off the list is `signature_invalid`, a fetch that fails is
//! `signing_key_unavailable` (503, the sender retries).

use super::engine::{cfg_err, VerifyConfigError};
use super::spec::Alg;
use crate::reject::{Reason, Rejection};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most certificates kept.
const MAX_CERTS: usize = 64;
/// How long a fetched certificate is trusted before it is fetched again.
const CERT_TTL: Duration = Duration::from_secs(3600);
/// Largest certificate document read.
const MAX_CERT_BYTES: usize = 16 * 1024;
/// Bound on one fetch, connect to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// An RSA public key (PKCS#1 DER) from a certificate.
#[derive(Debug)]
pub struct RsaKey(Vec<u8>);

impl RsaKey {
    /// Does `sig` sign `msg` under `alg` (PKCS#1 v1.5)?
    pub fn verifies(&self, alg: Alg, msg: &[u8], sig: &[u8]) -> bool {
        use ring::signature::{
            UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            RSA_PKCS1_2048_8192_SHA256,
        };
        let params = match alg {
            Alg::RsaSha1 => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Alg::RsaSha256 => &RSA_PKCS1_2048_8192_SHA256,
            _ => return false,
        };
        UnparsedPublicKey::new(params, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
}

/// The certificate fetcher and cache of one route.
pub struct Certs {
    hosts: Vec<String>,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Arc<RsaKey>)>>,
}

impl std::fmt::Debug for Certs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certs").field("hosts", &self.hosts).finish()
    }
}

fn invalid(why: impl Into<String>) -> Rejection {
    Rejection::new(Reason::SignatureInvalid, why)
}

fn unavailable(why: impl Into<String>) -> Rejection {
    Rejection::new(Reason::SigningKeyUnavailable, why)
}

/// Does `host` (with `:port` if any) match `pattern`, `*` standing for one label?
fn host_matches(pattern: &str, host: &str) -> bool {
    let (p, h): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len()
        && p.iter().zip(&h).all(|(p, h)| {
            (*p == "*" && !h.is_empty() && !h.contains(':')) || p.eq_ignore_ascii_case(h)
        })
}

impl Certs {
    /// Build from the allowlist and an optional extra CA (PEM file, for tests
    /// and TLS-intercepting proxies).
    pub fn new(hosts: Vec<String>, ca: Option<&Path>) -> Result<Certs, VerifyConfigError> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .https_only(true);
        if let Some(path) = ca {
            let pem = std::fs::read(path)
                .map_err(|e| cfg_err("verify.cert_url_ca", format!("{}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| cfg_err("verify.cert_url_ca", e.to_string()))?;
            b = b.add_root_certificate(cert);
        }
        let client = b
            .build()
            .map_err(|e| cfg_err("verify.cert_url_hosts", e.to_string()))?;
        Ok(Certs {
            hosts,
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Is `url` one hookgate may fetch?
    pub fn allowed(&self, url: &str) -> Result<(), Rejection> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| invalid("certificate URL is not https"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') || !self.hosts.iter().any(|p| host_matches(p, authority)) {
            return Err(invalid("certificate URL host is not allowed"));
        }
        Ok(())
    }

    /// The cached key for `url`, if fresh.
    pub fn cached(&self, url: &str) -> Option<Arc<RsaKey>> {
        let cache = self.cache.lock();
        cache
            .get(url)
            .filter(|(at, _)| at.elapsed() < CERT_TTL)
            .map(|(_, k)| k.clone())
    }

    /// The key for `url`: from the cache, or fetched once allowed.
    pub async fn key(&self, url: &str) -> Result<Arc<RsaKey>, Rejection> {
        self.allowed(url)?;
        if let Some(k) = self.cached(url) {
            return Ok(k);
        }
        let pem = self.get(url).await?;
        let key = Arc::new(rsa_key(&pem).ok_or_else(|| invalid("certificate has no RSA key"))?);
        let mut cache = self.cache.lock();
        cache.retain(|_, (at, _)| at.elapsed() < CERT_TTL);
        if cache.len() >= MAX_CERTS {
            // Full of fresh entries: drop the oldest rather than grow.
            if let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(u, _)| u.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(url.to_string(), (Instant::now(), key.clone()));
        Ok(key)
    }

    /// GET an allowed URL with the size bound (also used to confirm SNS subscriptions).
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, Rejection> {
        self.allowed(url)?;
        let mut resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching {url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!(
                "fetching {url}: status {}",
                resp.status()
            )));
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| unavailable(format!("reading {url}: {e}")))?
        {
            if out.len() + chunk.len() > MAX_CERT_BYTES {
                return Err(unavailable(format!(
                    "{url}: larger than {MAX_CERT_BYTES} bytes"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// The RSA public key (PKCS#1 DER) of the first certificate in a PEM document.
fn rsa_key(pem: &[u8]) -> Option<RsaKey> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let spki = cert.public_key();
    match spki.parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(_) => {
            Some(RsaKey(spki.subject_public_key.data.to_vec()))
        }
        _ => None,
    }
}
