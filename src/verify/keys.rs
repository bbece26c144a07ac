//! Turning configured secrets into key material, once, at load.
//!
//! HMAC keys are pre-keyed (the inner/outer pad state computed once) and
//! cloned per request: cheaper than re-keying for small webhook bodies.

use super::spec::{Alg, KeyFmt};
use super::FileSecret;
use crate::secret::{Secret, SecretSource};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use std::path::Path;
use std::time::SystemTime;
use subtle::ConstantTimeEq;

/// A pre-keyed MAC.
#[derive(Clone)]
pub enum MacKey {
    /// HMAC-SHA1.
    Sha1(Hmac<sha1::Sha1>),
    /// HMAC-SHA256.
    Sha256(Hmac<Sha256>),
    /// HMAC-SHA512.
    Sha512(Hmac<Sha512>),
}

impl MacKey {
    /// MAC of the concatenation of `parts`, without concatenating them.
    pub fn compute(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> Vec<u8> {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            MacKey::Sha1(m) => run(m, parts),
            MacKey::Sha256(m) => run(m, parts),
            MacKey::Sha512(m) => run(m, parts),
        }
    }
}

impl MacKey {
    /// A pre-keyed MAC for `alg` over `key` bytes (`None` for non-HMAC algorithms).
    pub fn new(alg: Alg, key: &[u8]) -> Option<MacKey> {
        Some(match alg {
            Alg::HmacSha1 => MacKey::Sha1(Hmac::new_from_slice(key).ok()?),
            Alg::HmacSha256 | Alg::JwtHs256 => MacKey::Sha256(Hmac::new_from_slice(key).ok()?),
            Alg::HmacSha512 => MacKey::Sha512(Hmac::new_from_slice(key).ok()?),
            _ => return None,
        })
    }
}

/// Key material for one secret.
#[derive(Clone)]
pub enum Key {
    /// HMAC key, pre-keyed for the scheme's algorithm, and the raw bytes for
    /// another one chosen per request (Twilio) or for handshakes (Zoom, Twitter CRC).
    Mac(Box<MacKey>, Secret),
    /// Ed25519 public key, and the signing key when one was configured (`whsk_`).
    Ed25519(
        ed25519_dalek::VerifyingKey,
        Option<Box<ed25519_dalek::SigningKey>>,
    ),
    /// ECDSA P-256 public key, and the signing key when a private key was configured (tests).
    EcdsaP256(
        Box<p256::ecdsa::VerifyingKey>,
        Option<Box<p256::ecdsa::SigningKey>>,
    ),
    /// RSA public key (PKCS#1 DER), for RS256 JWTs.
    Rsa(Vec<u8>),
    /// Shared token, compared whole.
    Token(Secret),
    /// Basic credentials: user, and either the password or its SHA-256.
    Basic {
        /// Expected user.
        user: Secret,
        /// Expected password check.
        password: PasswordCheck,
    },
}

/// How a Basic password is checked.
#[derive(Clone)]
pub enum PasswordCheck {
    /// Plain secret.
    Plain(Secret),
    /// SHA-256 of the password (hookgate never holds the password itself).
    Sha256([u8; 32]),
}

/// One configured secret, compiled.
#[derive(Clone)]
pub struct KeyEntry {
    /// Key id reported upstream: the configured `id` or the index.
    pub id: String,
    /// Material.
    pub key: Key,
    /// Not valid before.
    pub valid_from: Option<SystemTime>,
    /// Not valid after.
    pub valid_until: Option<SystemTime>,
    /// Written inline in the config file.
    pub inline: bool,
}

impl KeyEntry {
    /// Within its validity window at `now`?
    pub fn active(&self, now: SystemTime) -> bool {
        self.valid_from.is_none_or(|f| now >= f) && self.valid_until.is_none_or(|u| now <= u)
    }
}

/// Constant-time equality of byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Constant-time equality that does not leak the expected length either:
/// both sides are hashed first (tokens and passwords).
pub fn ct_eq_hashed(a: &[u8], b: &[u8]) -> bool {
    ct_eq(&Sha256::digest(a), &Sha256::digest(b))
}

fn b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .ok()
}

fn parse_time(key: &str, v: &Option<String>) -> Result<Option<SystemTime>, String> {
    v.as_deref()
        .map(|s| {
            humantime::parse_rfc3339_weak(s)
                .map_err(|e| format!("{key}: invalid RFC 3339 time {s:?}: {e}"))
        })
        .transpose()
}

/// Build the key for `material` (the resolved secret) under `alg`/`fmt`.
pub fn build_key(alg: Alg, fmt: KeyFmt, material: &Secret) -> Result<Key, String> {
    let text =
        std::str::from_utf8(material.expose()).map_err(|_| "secret is not UTF-8".to_string())?;
    let whsec = |t: &str| {
        b64(t.strip_prefix("whsec_").unwrap_or(t))
            .ok_or_else(|| "secret is not whsec_<base64>".to_string())
    };
    let bytes = || -> Result<Vec<u8>, String> {
        match fmt {
            KeyFmt::Raw => Ok(material.expose().to_vec()),
            KeyFmt::Base64 => b64(text).ok_or_else(|| "secret is not valid base64".to_string()),
            KeyFmt::Whsec => whsec(text),
            KeyFmt::RawAndBase64 => Ok(material.expose().to_vec()),
            KeyFmt::Hex => {
                hex::decode(text.trim()).map_err(|_| "secret is not valid hex".to_string())
            }
            _ => Err("unsupported key format for this algorithm".to_string()),
        }
    };
    Ok(match alg {
        Alg::HmacSha1 | Alg::HmacSha256 | Alg::HmacSha512 | Alg::JwtHs256 => {
            let raw = bytes()?;
            let mac = MacKey::new(alg, &raw).ok_or_else(|| "HMAC key rejected".to_string())?;
            Key::Mac(Box::new(mac), Secret::new(raw))
        }
        Alg::Ed25519 => ed25519_key(text.trim())?,
        Alg::EcdsaP256 | Alg::JwtEs256 => ecdsa_key(text.trim())?,
        Alg::JwtRs256 | Alg::RsaPssSha256 => rsa_public_pem(text.trim())?,
        Alg::Token => Key::Token(material.clone()),
        Alg::Basic => basic_key(text)?,
        Alg::RsaSha1 | Alg::RsaSha256 => {
            return Err("this scheme takes its key from a certificate URL, not from secrets".into())
        }
    })
}

/// ECDSA P-256: a public key (base64 DER SPKI or PEM) or a PEM private key.
fn ecdsa_key(t: &str) -> Result<Key, String> {
    use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
    if t.starts_with("-----BEGIN PRIVATE KEY") {
        let sk = p256::ecdsa::SigningKey::from_pkcs8_pem(t)
            .map_err(|_| "not a P-256 private key (PKCS#8 PEM)".to_string())?;
        return Ok(Key::EcdsaP256(
            Box::new(*sk.verifying_key()),
            Some(Box::new(sk)),
        ));
    }
    let key = if t.starts_with("-----BEGIN") {
        p256::ecdsa::VerifyingKey::from_public_key_pem(t)
    } else {
        let der = b64(t).ok_or_else(|| "public key is not base64 DER".to_string())?;
        p256::ecdsa::VerifyingKey::from_public_key_der(&der)
    };
    let vk = key.map_err(|_| "not a P-256 public key (SubjectPublicKeyInfo)".to_string())?;
    Ok(Key::EcdsaP256(Box::new(vk), None))
}

/// An RSA public key from a PEM SubjectPublicKeyInfo.
fn rsa_public_pem(t: &str) -> Result<Key, String> {
    let not = || "not an RSA public key (PEM SubjectPublicKeyInfo)".to_string();
    let (_, pem) = x509_parser::pem::parse_x509_pem(t.as_bytes()).map_err(|_| not())?;
    use x509_parser::prelude::FromDer;
    let (_, spki) =
        x509_parser::x509::SubjectPublicKeyInfo::from_der(&pem.contents).map_err(|_| not())?;
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => {
            Ok(Key::Rsa(spki.subject_public_key.data.to_vec()))
        }
        _ => Err(not()),
    }
}

/// Keys of a JWKS document (RSA and P-256 EC keys), each under its `kid`.
pub fn jwks(doc: &[u8]) -> Result<Vec<KeyEntry>, String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    let v: serde_json::Value = serde_json::from_slice(doc).map_err(|e| format!("not JSON: {e}"))?;
    let keys = v["keys"].as_array().ok_or("no \"keys\" array")?;
    let field = |k: &serde_json::Value, f: &str| -> Result<Vec<u8>, String> {
        let s = k[f].as_str().ok_or_else(|| format!("key without {f:?}"))?;
        B64URL
            .decode(s.trim_end_matches('='))
            .map_err(|_| format!("{f:?} is not base64url"))
    };
    let mut out = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let key = match (k["kty"].as_str(), k["crv"].as_str()) {
            (Some("RSA"), _) => {
                let (n, e) = (field(k, "n")?, field(k, "e")?);
                Key::Rsa(rsa_pkcs1_der(&n, &e))
            }
            (Some("EC"), Some("P-256")) => {
                let point = p256::EncodedPoint::from_affine_coordinates(
                    field(k, "x")?.as_slice().into(),
                    field(k, "y")?.as_slice().into(),
                    false,
                );
                let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| format!("key {i}: not a P-256 point"))?;
                Key::EcdsaP256(Box::new(vk), None)
            }
            _ => continue, // other key types are not used by any preset
        };
        out.push(KeyEntry {
            id: k["kid"]
                .as_str()
                .map_or_else(|| format!("jwks{i}"), str::to_string),
            key,
            valid_from: None,
            valid_until: None,
            inline: false,
        });
    }
    if out.is_empty() {
        return Err("no RSA or P-256 key".into());
    }
    Ok(out)
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn len(n: usize) -> Vec<u8> {
        match n {
            0..=127 => vec![n as u8],
            128..=255 => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        }
    }
    fn int(v: &[u8]) -> Vec<u8> {
        let v = &v[v
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(v.len().saturating_sub(1))..];
        let mut body = if v.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        body.extend_from_slice(v);
        [vec![0x02], len(body.len()), body].concat()
    }
    let body = [int(n), int(e)].concat();
    [vec![0x30], len(body.len()), body].concat()
}

/// `user:password` or `user:sha256:<hex of the password>`.
fn basic_key(text: &str) -> Result<Key, String> {
    let (user, rest) = text
        .split_once(':')
        .ok_or_else(|| "expected user:password or user:sha256:<hex>".to_string())?;
    let password = match rest.strip_prefix("sha256:") {
        Some(h) => {
            let d = hex::decode(h)
                .ok()
                .filter(|d| d.len() == 32)
                .ok_or_else(|| "sha256: needs 64 hex chars".to_string())?;
            let mut a = [0u8; 32];
            a.copy_from_slice(&d);
            PasswordCheck::Sha256(a)
        }
        None => PasswordCheck::Plain(Secret::new(rest.as_bytes().to_vec())),
    };
    Ok(Key::Basic {
        user: Secret::new(user.as_bytes().to_vec()),
        password,
    })
}

/// Ed25519 key from hex public key, `whpk_` public key, or `whsk_` signing key
/// (Svix serialises it as seed ‖ public key).
fn ed25519_key(t: &str) -> Result<Key, String> {
    use ed25519_dalek::{SigningKey, VerifyingKey};
    let arr32 = |v: &[u8]| -> Option<[u8; 32]> { v.try_into().ok() };
    if let Some(rest) = t.strip_prefix("whsk_") {
        let raw = b64(rest).ok_or_else(|| "whsk_ key is not base64".to_string())?;
        let seed = raw
            .get(..32)
            .and_then(arr32)
            .ok_or_else(|| "whsk_ key too short".to_string())?;
        let sk = SigningKey::from_bytes(&seed);
        return Ok(Key::Ed25519(sk.verifying_key(), Some(Box::new(sk))));
    }
    let raw = match t.strip_prefix("whpk_") {
        Some(rest) => b64(rest).ok_or_else(|| "whpk_ key is not base64".to_string())?,
        None => hex::decode(t)
            .ok()
            .or_else(|| b64(t).filter(|b| b.len() == 32))
            .ok_or_else(|| {
                "Ed25519 public key must be 64 hex chars, 32 bytes of base64 or whpk_<base64>"
                    .to_string()
            })?,
    };
    let pk = arr32(&raw).ok_or_else(|| "Ed25519 public key must be 32 bytes".to_string())?;
    let vk = VerifyingKey::from_bytes(&pk).map_err(|_| "invalid Ed25519 public key".to_string())?;
    Ok(Key::Ed25519(vk, None))
}

/// Resolve and compile every configured secret. Errors are `(key path, message)`.
pub fn compile(
    secrets: &[toml::Spanned<FileSecret>],
    alg: Alg,
    fmt: KeyFmt,
    base_dir: &Path,
) -> Result<Vec<KeyEntry>, (String, String)> {
    let mut out = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        let key_path = format!("verify.secrets[{i}]");
        let (raw, id, from, until) = match s.get_ref() {
            FileSecret::Plain(v) => (v.as_str(), None, &None, &None),
            FileSecret::Detailed {
                value,
                id,
                valid_from,
                valid_until,
            } => (value.as_str(), id.clone(), valid_from, valid_until),
        };
        let source = SecretSource::parse(raw);
        let secret = source
            .resolve(raw, base_dir)
            .map_err(|e| (key_path.clone(), e.to_string()))?;
        let key = build_key(alg, fmt, &secret).map_err(|e| (key_path.clone(), e))?;
        let id = id.unwrap_or_else(|| i.to_string());
        if fmt == KeyFmt::RawAndBase64 {
            // The same secret read the other way too, under the same id.
            if let Ok(decoded) = build_key(alg, KeyFmt::Whsec, &secret) {
                out.push(KeyEntry {
                    id: id.clone(),
                    key: decoded,
                    valid_from: parse_time(&format!("{key_path}.valid_from"), from)
                        .map_err(|e| (key_path.clone(), e))?,
                    valid_until: parse_time(&format!("{key_path}.valid_until"), until)
                        .map_err(|e| (key_path.clone(), e))?,
                    inline: source == SecretSource::Inline,
                });
            }
        }
        out.push(KeyEntry {
            id,
            key,
            valid_from: parse_time(&format!("{key_path}.valid_from"), from)
                .map_err(|e| (key_path.clone(), e))?,
            valid_until: parse_time(&format!("{key_path}.valid_until"), until)
                .map_err(|e| (key_path.clone(), e))?,
            inline: source == SecretSource::Inline,
        });
    }
    Ok(out)
}
