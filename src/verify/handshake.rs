//! Endpoint-verification handshakes, answered by the gateway so the app
//! behind it never needs the secret.
//!
//! The request path asks twice: [`Handshaker::before_body`] for handshakes
//! that carry no signature and live in the query or headers (Meta's
//! `hub.challenge`, Dropbox/Nylas `challenge`, Microsoft Graph
//! `validationToken`, Twitter CRC, Okta, Worldline, Asana's `X-Hook-Secret`,
//! Mandrill's and Trello's `HEAD`, Smartsheet's `Smartsheet-Hook-Challenge`), and
//! [`Handshaker::after_verify`] for handshakes that are signed like any
//! delivery (Zoom, Twitch, Slack, Discord, SNS): only a request whose
//! signature verified gets an answer. Either returns a [`Reply`] to send
//! instead of forwarding; the request path counts it as `outcome="handshake"`.
//!
//! monday.com's `{"challenge": ..}` lives in the body and is not documented
//! as signed: a signed one is answered after verification, an unsigned one
//! through [`Handshaker::reads_unsigned_challenge`] (a small body, read only
//! to be answered) and [`Handshaker::json_challenge`].

use super::engine::{cfg_err, RequestParts, Verified, VerifyConfigError};
use super::keys::{ct_eq_hashed, Key, KeyEntry, MacKey};
use super::parse;
use super::remote::Certs;
use super::spec::{Alg, Handshake, Provider, MAX_CHALLENGE_BODY};
use super::FileVerify;
use crate::reject::{Reason, Rejection};
use crate::secret::{Secret, SecretSource};
use arc_swap::ArcSwapOption;
use base64::Engine;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest challenge value echoed back.
const MAX_CHALLENGE: usize = 1024;

/// A response the gateway sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers (content type included).
    pub headers: Vec<(&'static str, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl Reply {
    fn text(body: String) -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".into()),
                ("x-content-type-options", "nosniff".into()),
            ],
            body: body.into_bytes(),
        }
    }

    fn json(v: serde_json::Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: v.to_string().into_bytes(),
        }
    }
}

/// Asana's learned secret: kept in a per-route file so restarts and reloads keep it.
struct Learned {
    path: PathBuf,
    key: ArcSwapOption<KeyEntry>,
    /// Held from "is a secret stored?" to "stored": two handshakes racing cannot both win.
    writing: parking_lot::Mutex<()>,
}

/// A route's handshake, configured.
#[derive(Clone)]
pub struct Handshaker {
    kind: Handshake,
    verify_token: Option<Secret>,
    learned: Option<Arc<Learned>>,
}

fn bad(why: &str) -> Rejection {
    Rejection::new(Reason::BadRequest, why.to_string())
}

/// A query parameter (decoded), bounded and free of control characters.
fn query_param(req: &RequestParts<'_>, name: &str) -> Option<Result<String, Rejection>> {
    let query = req.path_and_query.split_once('?').map(|(_, q)| q)?;
    let (_, v) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name)?;
    Some(echoable(&v))
}

fn echoable(v: &str) -> Result<String, Rejection> {
    if v.is_empty() || v.len() > MAX_CHALLENGE || v.chars().any(char::is_control) {
        return Err(bad("challenge empty, too long or not printable"));
    }
    Ok(v.to_string())
}

/// The state file of `route` under `dir` (route names are config-controlled; keep them to a safe charset).
fn state_file(dir: &Path, route: &str) -> PathBuf {
    let safe: String = route
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.asana-secret"))
}

fn learned_entry(secret: &[u8]) -> Option<KeyEntry> {
    Some(KeyEntry {
        id: "handshake".into(),
        key: Key::Mac(
            Box::new(MacKey::new(Alg::HmacSha256, secret)?),
            Secret::new(secret.to_vec()),
        ),
        valid_from: None,
        valid_until: None,
        inline: false,
    })
}

impl Handshaker {
    /// The route's handshake from its preset and `[route.verify]` knobs;
    /// `None` when the preset has none or `handshake = false`.
    pub fn from_file(
        f: &FileVerify,
        provider: Option<&'static Provider>,
        base_dir: &Path,
        route: &str,
    ) -> Result<Option<Handshaker>, VerifyConfigError> {
        let kind = provider
            .and_then(|p| p.handshake)
            .filter(|k| *k != Handshake::SnsSubscribe || f.auto_confirm == Some(true));
        let Some(kind) = kind.filter(|_| f.handshake != Some(false)) else {
            if f.handshake == Some(true) {
                return Err(cfg_err("verify.handshake", "this scheme has no handshake"));
            }
            if f.verify_token.is_some() || f.state_dir.is_some() {
                return Err(cfg_err(
                    "verify.verify_token",
                    "verify_token and state_dir apply only to a preset's handshake (handshake = true)",
                ));
            }
            return Ok(None);
        };
        let verify_token = match (&f.verify_token, kind) {
            (Some(v), Handshake::HubChallenge { .. }) => Some(
                SecretSource::parse(v)
                    .resolve(v, base_dir)
                    .map_err(|e| cfg_err("verify.verify_token", e.to_string()))?,
            ),
            (None, Handshake::HubChallenge { .. }) => {
                return Err(cfg_err(
                    "verify.verify_token",
                    "the hub.challenge handshake needs verify_token (the value you gave the provider), or handshake = false to forward it",
                ))
            }
            (Some(_), _) => {
                return Err(cfg_err(
                    "verify.verify_token",
                    "only for hub.challenge handshakes (meta, strava)",
                ))
            }
            (None, _) => None,
        };
        let learned = match (&f.state_dir, kind) {
            (Some(dir), Handshake::AsanaSecret) => Some(Arc::new(load_learned(&base_dir.join(dir), route)?)),
            (None, Handshake::AsanaSecret) => {
                return Err(cfg_err(
                    "verify.state_dir",
                    "the X-Hook-Secret handshake needs state_dir (where the secret it sends is kept), or handshake = false to forward it",
                ))
            }
            (Some(_), _) => {
                return Err(cfg_err("verify.state_dir", "only for the asana handshake"))
            }
            (None, _) => None,
        };
        Ok(Some(Handshaker {
            kind,
            verify_token,
            learned,
        }))
    }

    /// Does this handshake supply the route's secret (so `secrets` may be empty)?
    pub fn learns_secret(&self) -> bool {
        self.learned.is_some()
    }

    /// The secret learned through the handshake, if any.
    pub fn learned_key(&self) -> Option<Arc<KeyEntry>> {
        self.learned.as_ref().and_then(|l| l.key.load_full())
    }

    /// One line for `hookgate check`.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            Handshake::HubChallenge { .. } => "GET hub.challenge (verify_token)".to_string(),
            Handshake::QueryEcho(p) => format!("?{p}= echo"),
            Handshake::HeaderEcho(h) => format!("GET {h} echo"),
            Handshake::TwitterCrc => "GET crc_token (CRC response)".into(),
            Handshake::AsanaSecret => "X-Hook-Secret".into(),
            Handshake::ZoomValidation => "signed endpoint.url_validation".into(),
            Handshake::TwitchChallenge => "signed webhook_callback_verification".into(),
            Handshake::SlackChallenge => "signed url_verification".into(),
            Handshake::OktaChallenge => "GET X-Okta-Verification-Challenge".into(),
            Handshake::DiscordPing => "signed PING".into(),
            Handshake::SnsSubscribe => "signed SubscriptionConfirmation (auto_confirm)".into(),
            Handshake::HeadOk => "HEAD (URL check)".into(),
            Handshake::HeaderChallenge { header, .. } => format!("POST {header} echo"),
            Handshake::JsonChallenge => "POST {\"challenge\"} echo (signed or not)".into(),
        };
        match &self.learned {
            Some(l) => format!(
                "answers {what}; secret kept in {} ({})",
                l.path.display(),
                if l.key.load().is_some() {
                    "set"
                } else {
                    "not yet received"
                }
            ),
            None => format!("answers {what}"),
        }
    }

    /// Handshakes answered before the body is read (no signature to check).
    pub fn before_body(
        &self,
        req: &RequestParts<'_>,
        keys: &[&KeyEntry],
    ) -> Result<Option<Reply>, Rejection> {
        match self.kind {
            Handshake::HubChallenge { json } => self.hub_challenge(req, json),
            Handshake::QueryEcho(param) => query_param(req, param)
                .map(|r| r.map(Reply::text))
                .transpose(),
            Handshake::TwitterCrc if req.method == "GET" => {
                let Some(token) = query_param(req, "crc_token").transpose()? else {
                    return Ok(None);
                };
                let mac = first_mac(keys)?;
                let b64 = base64::engine::general_purpose::STANDARD
                    .encode(mac.compute(&[token.as_bytes()]));
                Ok(Some(Reply::json(
                    json!({ "response_token": format!("sha256={b64}") }),
                )))
            }
            Handshake::HeaderEcho(name) if req.method == "GET" => match req.headers.get(name) {
                Some(v) => Ok(Some(Reply::text(echoable(
                    v.to_str().map_err(|_| bad("challenge is not text"))?,
                )?))),
                None => Ok(None),
            },
            // Okta's one-time verification: answered without checking its
            // Authorization header (Okta does not document that it sends one
            // here); echoing the challenge grants nothing, deliveries are still
            // checked.
            Handshake::OktaChallenge if req.method == "GET" => {
                match req.headers.get("x-okta-verification-challenge") {
                    Some(v) => {
                        let v = echoable(v.to_str().map_err(|_| bad("challenge is not text"))?)?;
                        Ok(Some(Reply::json(json!({ "verification": v }))))
                    }
                    None => Ok(None),
                }
            }
            Handshake::AsanaSecret => self.asana(req),
            Handshake::HeadOk if req.method == "HEAD" => Ok(Some(Reply {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            })),
            Handshake::HeaderChallenge {
                header,
                reply_header,
                json_field,
            } if req.method == "POST" => match req.headers.get(header) {
                Some(v) => {
                    let v = echoable(v.to_str().map_err(|_| bad("challenge is not text"))?)?;
                    let mut reply = Reply::json(json!({ json_field: v }));
                    reply.headers.push((reply_header, v));
                    Ok(Some(reply))
                }
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// May this request, which carries no signature, be read to answer a
    /// [`Handshake::JsonChallenge`]? Only a POST declaring a body of at most
    /// [`MAX_CHALLENGE_BODY`] bytes: an unsigned sender can make hookgate
    /// buffer no more than that.
    pub fn reads_unsigned_challenge(&self, req: &RequestParts<'_>) -> bool {
        let declared = req
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        self.kind == Handshake::JsonChallenge
            && req.method == "POST"
            && declared.is_some_and(|n| n <= MAX_CHALLENGE_BODY)
    }

    /// The answer to a body that is exactly `{"challenge": "<text>"}`, if it is one.
    pub fn json_challenge(&self, body: &[u8]) -> Result<Option<Reply>, Rejection> {
        if self.kind != Handshake::JsonChallenge {
            return Ok(None);
        }
        let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(body) else {
            return Ok(None);
        };
        match (o.len(), o.get("challenge")) {
            (1, Some(serde_json::Value::String(c))) => {
                Ok(Some(Reply::json(json!({ "challenge": echoable(c)? }))))
            }
            _ => Ok(None),
        }
    }

    fn hub_challenge(
        &self,
        req: &RequestParts<'_>,
        json: bool,
    ) -> Result<Option<Reply>, Rejection> {
        if req.method != "GET" {
            return Ok(None);
        }
        let Some(mode) = query_param(req, "hub.mode").transpose()? else {
            return Ok(None);
        };
        let token = query_param(req, "hub.verify_token")
            .transpose()?
            .unwrap_or_default();
        let expected = self
            .verify_token
            .as_ref()
            .map(Secret::expose)
            .unwrap_or_default();
        if mode != "subscribe" || !ct_eq_hashed(expected, token.as_bytes()) {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                "hub.verify_token does not match verify_token",
            ));
        }
        let challenge =
            query_param(req, "hub.challenge").ok_or_else(|| bad("no hub.challenge"))??;
        Ok(Some(if json {
            Reply::json(json!({ "hub.challenge": challenge }))
        } else {
            Reply::text(challenge)
        }))
    }

    /// Asana: the first `X-Hook-Secret` sets the route's secret. A later one is
    /// refused while a secret is stored: whoever reaches the endpoint first
    /// must not be able to replace it.
    fn asana(&self, req: &RequestParts<'_>) -> Result<Option<Reply>, Rejection> {
        let Some(v) = req.headers.get("x-hook-secret") else {
            return Ok(None);
        };
        let secret = echoable(v.to_str().map_err(|_| bad("X-Hook-Secret is not text"))?)?;
        let Some(learned) = &self.learned else {
            return Ok(None);
        };
        let _writing = learned.writing.lock();
        if learned.key.load().is_some() {
            return Err(Rejection::new(
                Reason::SignatureInvalid,
                format!(
                    "a handshake secret is already stored in {}: delete it to subscribe again",
                    learned.path.display()
                ),
            ));
        }
        store(&learned.path, secret.as_bytes())
            .map_err(|e| Rejection::new(Reason::Internal, format!("storing X-Hook-Secret: {e}")))?;
        learned
            .key
            .store(learned_entry(secret.as_bytes()).map(Arc::new));
        Ok(Some(Reply {
            status: 200,
            headers: vec![("x-hook-secret", secret)],
            body: Vec::new(),
        }))
    }

    /// Handshakes that are signed like a delivery, answered after the signature verified.
    pub async fn after_verify(
        &self,
        req: &RequestParts<'_>,
        body: &[u8],
        keys: &[&KeyEntry],
        verified: &Verified,
        certs: Option<&Certs>,
    ) -> Result<Option<Reply>, Rejection> {
        let field = |p: &str| parse::body_field(body, &[p.to_string()]);
        let path = |ps: &[&str]| {
            parse::body_field(body, &ps.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        Ok(match self.kind {
            Handshake::ZoomValidation
                if field("event").as_deref() == Some("endpoint.url_validation") =>
            {
                let plain = echoable(
                    &path(&["payload", "plainToken"]).ok_or_else(|| bad("no plainToken"))?,
                )?;
                let key = keys.iter().find(|k| k.id == verified.key_id);
                let mac = first_mac(key.map(std::slice::from_ref).unwrap_or(keys))?;
                let encrypted = hex::encode(mac.compute(&[plain.as_bytes()]));
                Some(Reply::json(
                    json!({ "plainToken": plain, "encryptedToken": encrypted }),
                ))
            }
            Handshake::TwitchChallenge
                if req
                    .headers
                    .get("twitch-eventsub-message-type")
                    .is_some_and(|v| v == "webhook_callback_verification") =>
            {
                Some(Reply::text(echoable(
                    &field("challenge").ok_or_else(|| bad("no challenge"))?,
                )?))
            }
            Handshake::SlackChallenge if field("type").as_deref() == Some("url_verification") => {
                Some(Reply::text(echoable(
                    &field("challenge").ok_or_else(|| bad("no challenge"))?,
                )?))
            }
            Handshake::DiscordPing if field("type").as_deref() == Some("1") => {
                Some(Reply::json(json!({ "type": 1 })))
            }
            Handshake::JsonChallenge => self.json_challenge(body)?,
            Handshake::SnsSubscribe
                if field("Type").as_deref() == Some("SubscriptionConfirmation") =>
            {
                // Confirm under the same host allowlist as the certificate.
                let url = field("SubscribeURL").ok_or_else(|| bad("no SubscribeURL"))?;
                let certs = certs.ok_or_else(|| bad("no certificate fetcher"))?;
                certs.get(&url).await?;
                Some(Reply::text("subscription confirmed".into()))
            }
            _ => None,
        })
    }
}

/// The HMAC key of the first shared secret (Twitter CRC, Zoom), as SHA-256.
fn first_mac(keys: &[&KeyEntry]) -> Result<MacKey, Rejection> {
    keys.iter()
        .find_map(|k| match &k.key {
            Key::Mac(_, raw) => MacKey::new(Alg::HmacSha256, raw.expose()),
            _ => None,
        })
        .ok_or_else(|| Rejection::new(Reason::Internal, "no shared secret to answer the handshake"))
}

/// Read the route's stored secret, if a handshake already set it.
fn load_learned(dir: &Path, route: &str) -> Result<Learned, VerifyConfigError> {
    if !dir.is_dir() {
        return Err(cfg_err(
            "verify.state_dir",
            format!("{} is not a directory", dir.display()),
        ));
    }
    let path = state_file(dir, route);
    let key = match std::fs::read(&path) {
        Ok(bytes) => {
            let secret = parse::trim(&bytes);
            Some(Arc::new(learned_entry(secret).ok_or_else(|| {
                cfg_err(
                    "verify.state_dir",
                    format!("{} holds no usable secret", path.display()),
                )
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(cfg_err(
                "verify.state_dir",
                format!("cannot read {}: {e}", path.display()),
            ))
        }
    };
    Ok(Learned {
        path,
        key: ArcSwapOption::new(key),
        writing: parking_lot::Mutex::new(()),
    })
}

/// Write the secret next to its final name, readable by the owner only, then rename into place.
fn store(path: &Path, secret: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(secret)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
