//! Building a route's [`Verifier`] from `[route.verify]`, once per (re)load:
//! the preset row or `generic` knobs compiled, secrets resolved into keys,
//! and every knob checked against the scheme it applies to.

use super::engine::{cfg_err, Compiled, DefaultKey, Verifier, VerifyConfigError};
use super::handshake::Handshaker;
use super::keys::{self, KeyEntry};
use super::providers;
use super::remote::Certs;
use super::scheme::{self, Scheme};
use super::spec::{KeyFmt, Provider, Replay};
use super::{generic, FileVerify, DEFAULT_TOLERANCE};
use std::path::Path;
use std::time::Duration;

impl Verifier {
    /// Build from `[route.verify]` of route `route`; relative `file:` paths resolve against `base_dir`.
    pub fn from_file(
        f: &FileVerify,
        base_dir: &Path,
        route: &str,
    ) -> Result<Verifier, VerifyConfigError> {
        let name = f.scheme.get_ref().as_str();
        let (scheme, provider) = if name == "generic" {
            (generic::scheme(f)?, None)
        } else {
            let p = providers::find(name).ok_or_else(|| {
                cfg_err(
                    "verify.scheme",
                    format!(
                        "unknown scheme {name:?} (known: {})",
                        super::known_schemes().join(", ")
                    ),
                )
            })?;
            if let Some(knob) = generic::knobs_set(f) {
                return Err(cfg_err(
                    &format!("verify.{knob}"),
                    format!("only for scheme = \"generic\"; preset {name:?} fixes it"),
                ));
            }
            let s = scheme::compile(p.name, &p.spec)
                .map_err(|e| cfg_err(&format!("verify.{}", e.knob), e.message))?;
            (s, Some(p))
        };
        let handshaker = Handshaker::from_file(f, provider, base_dir, route)?;
        let compile = |s: &Scheme| {
            keys::compile(&f.secrets, s.alg, s.key, base_dir).map_err(|(k, m)| cfg_err(&k, m))
        };
        let jwks = jwks_keys(f, &scheme, base_dir)?;
        let needs_secrets = scheme.key != KeyFmt::Remote
            && jwks.is_empty()
            && !handshaker.as_ref().is_some_and(|h| h.learns_secret());
        if needs_secrets && f.secrets.is_empty() {
            return Err(cfg_err(
                "verify.secrets",
                "at least one secret (or public key) is required",
            ));
        }
        let legacy = match (
            f.legacy_sha1.unwrap_or(false),
            provider.and_then(|p| p.legacy),
        ) {
            (false, _) => None,
            (true, Some(spec)) => {
                let s = scheme::compile(scheme.name, spec)
                    .map_err(|e| cfg_err("verify.legacy_sha1", e.message))?;
                Some(Compiled {
                    keys: compile(&s)?,
                    scheme: s,
                })
            }
            (true, None) => {
                return Err(cfg_err(
                    "verify.legacy_sha1",
                    format!("scheme {name:?} has no legacy SHA-1 signature"),
                ))
            }
        };
        if scheme.needs_public_url() && f.public_url.is_none() {
            return Err(cfg_err(
                "verify.public_url",
                format!("scheme {name:?} signs the URL the sender called: set public_url = \"https://hooks.example.com\""),
            ));
        }
        let public_url = match &f.public_url {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                return Err(cfg_err(
                    "verify.public_url",
                    format!("{u:?} must start with https:// or http://"),
                ))
            }
            Some(u) => Some(u.trim_end_matches('/').to_string()),
            None => None,
        };
        let tolerance = match (f.tolerance, provider) {
            (Some(d), _) => d.0,
            (None, Some(p)) => Duration::from_secs(p.tol.secs),
            (None, None) => DEFAULT_TOLERANCE,
        };
        if tolerance.is_zero() {
            return Err(cfg_err("verify.tolerance", "must be greater than zero"));
        }
        let remote = remote_certs(f, &scheme)?;
        let default_key = match provider {
            Some(p) => preset_key(p, &scheme),
            None => generic::default_key(f, &scheme),
        };
        Ok(Verifier {
            primary: Compiled {
                keys: [compile(&scheme)?, jwks].concat(),
                scheme,
            },
            legacy,
            provider,
            default_key,
            tolerance,
            public_url,
            webhook_id: f.webhook_id.clone(),
            handshaker,
            remote,
            topic_arns: f.topic_arns.clone(),
            forward_header: f.forward_header.unwrap_or(true),
        })
    }
}

/// Keys of `jwks_file`, for schemes with configured public keys (RS256/ES256 JWTs, RSA-PSS) only.
fn jwks_keys(
    f: &FileVerify,
    s: &Scheme,
    base_dir: &Path,
) -> Result<Vec<KeyEntry>, VerifyConfigError> {
    let Some(file) = &f.jwks_file else {
        return Ok(Vec::new());
    };
    if s.key != KeyFmt::Jwk {
        return Err(cfg_err(
            "verify.jwks_file",
            "only for RS256/ES256 JWT schemes",
        ));
    }
    let path = base_dir.join(file);
    let doc = std::fs::read(&path)
        .map_err(|e| cfg_err("verify.jwks_file", format!("{}: {e}", path.display())))?;
    keys::jwks(&doc).map_err(|m| cfg_err("verify.jwks_file", format!("{}: {m}", path.display())))
}

/// The certificate fetcher of a scheme whose key comes from a URL, checked
/// against the knobs that only such schemes take.
fn remote_certs(
    f: &FileVerify,
    s: &Scheme,
) -> Result<Option<std::sync::Arc<Certs>>, VerifyConfigError> {
    let Some(remote) = s.remote else {
        let stray = [
            ("cert_url_hosts", f.cert_url_hosts.is_some()),
            ("cert_url_ca", f.cert_url_ca.is_some()),
            ("topic_arns", !f.topic_arns.is_empty()),
            ("auto_confirm", f.auto_confirm.is_some()),
            ("webhook_id", f.webhook_id.is_some()),
        ];
        if let Some((k, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(cfg_err(
                &format!("verify.{k}"),
                "only for schemes that fetch a signing certificate (amazon-sns, paypal)",
            ));
        }
        return Ok(None);
    };
    if !f.secrets.is_empty() {
        return Err(cfg_err(
            "verify.secrets",
            "this scheme takes its key from the certificate the message names: no secrets",
        ));
    }
    let sns = s.content.contains(&scheme::Part::Sns);
    if sns && f.topic_arns.is_empty() {
        return Err(cfg_err(
            "verify.topic_arns",
            "required: any AWS account can send signed SNS messages, list the topics this route accepts",
        ));
    }
    if s.content
        .iter()
        .any(|p| matches!(p, scheme::Part::Config(_)))
        && f.webhook_id.is_none()
    {
        return Err(cfg_err(
            "verify.webhook_id",
            "required: the provider signs this webhook's id",
        ));
    }
    let hosts = f
        .cert_url_hosts
        .clone()
        .unwrap_or_else(|| remote.hosts.iter().map(|h| h.to_string()).collect());
    Ok(Some(std::sync::Arc::new(Certs::new(
        hosts,
        f.cert_url_ca.as_deref(),
    )?)))
}

/// The default replay key of a preset, checked against the rule that it can
/// never merge two real deliveries: never a token or a credential.
fn preset_key(p: &Provider, s: &Scheme) -> DefaultKey {
    match p.replay {
        Replay::SignedHeader(h, _) | Replay::Header(h, _) => {
            let names = scheme::names("id_header", h).unwrap_or_default();
            let signed = names.iter().all(|n| s.signs_header(n.as_str()));
            DefaultKey::Header(names, signed)
        }
        Replay::Signature(_) if s.covers_body() || s.sig_in_body() => DefaultKey::Signature,
        Replay::Signature(_) | Replay::None(_) => DefaultKey::None,
    }
}
