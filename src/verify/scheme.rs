//! Compiling a [`Spec`] (static row or `generic` knobs) into the form the
//! engine runs: header names parsed, the content template split into parts.
//! Done once per route at load; a bad spec is a config error, never a panic.

use super::spec::{Alg, AlgSwitch, Enc, KeyFmt, RemoteCert, Sig, Spec, Text, Ts, TsFmt};
use http::HeaderName;

/// Header name alternatives, the first present in a request is used.
pub type Names = Vec<HeaderName>;

/// Where the signature is, compiled.
#[derive(Debug, Clone)]
pub enum SigLoc {
    /// One header with a prefix.
    Header(Names, String),
    /// Several prefixed items in one header.
    List(Names, char, String),
    /// `k=v` pairs: (header, pair separator, signature key, timestamp key, group separator).
    Pairs(Names, char, String, Option<String>, Option<char>),
    /// One signature per header.
    Each(Vec<HeaderName>),
    /// A token after a prefix.
    Token(Names, String),
    /// HTTP Basic.
    Basic,
    /// A body field (dotted path).
    Body(Vec<String>),
    /// A JWT after a prefix, with its body-hash claim.
    Jwt(Names, String, Option<(String, Enc)>),
}

/// Where the timestamp is, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsLoc {
    /// None.
    None,
    /// A header.
    Header(Names, TsFmt),
    /// The signature header's timestamp pair.
    Pair(TsFmt),
    /// A body field.
    Body(Vec<String>, TsFmt),
    /// JWT claims.
    Jwt,
}

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// The raw body.
    Body,
    /// The timestamp exactly as sent.
    Timestamp,
    /// A request header's value exactly as sent.
    Header(Names),
    /// The method.
    Method,
    /// Path and query as received.
    Path,
    /// `public_url` + path and query.
    Url,
    /// Form parameters sorted by name then value, each `name` + `value` (Twilio).
    SortedForm,
    /// A string field of the body.
    Field(Vec<String>),
    /// A value from the route's config (`webhook_id`).
    Config(ConfigValue),
    /// CRC-32 of the body in decimal (PayPal).
    Crc32Body,
    /// Amazon SNS string-to-sign, from the body's fields.
    Sns,
}

/// Config values a template can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigValue {
    /// `webhook_id` (PayPal).
    WebhookId,
}

/// A compiled scheme.
#[derive(Debug, Clone)]
pub struct Scheme {
    /// Preset name, reported upstream and in metrics.
    pub name: &'static str,
    /// Algorithm (the default when `alg_switch` picks per request).
    pub alg: Alg,
    /// Signature encoding.
    pub enc: Enc,
    /// Signature location.
    pub sig: SigLoc,
    /// Timestamp location.
    pub ts: TsLoc,
    /// Signed content.
    pub content: Vec<Part>,
    /// Key format.
    pub key: KeyFmt,
    /// Per-request algorithm switch.
    pub alg_switch: Option<AlgSwitch>,
    /// Certificate URL source.
    pub remote: Option<RemoteCert>,
}

impl Scheme {
    /// Does the signed content include the public URL?
    pub fn needs_public_url(&self) -> bool {
        self.content.iter().any(|p| matches!(p, Part::Url))
    }

    /// Does the signature cover the body (directly, through its hash, or through its fields)?
    pub fn covers_body(&self) -> bool {
        match &self.sig {
            SigLoc::Token(..) | SigLoc::Basic => false,
            SigLoc::Body(_) if self.alg == Alg::Token => false,
            SigLoc::Jwt(_, _, hash) => hash.is_some(),
            _ => self.content.iter().any(|p| {
                matches!(
                    p,
                    Part::Body | Part::SortedForm | Part::Crc32Body | Part::Sns
                )
            }),
        }
    }

    /// Is `name` one of the headers the signature covers?
    pub fn signs_header(&self, name: &str) -> bool {
        self.content.iter().any(|p| match p {
            Part::Header(names) => names.iter().any(|n| n.as_str() == name),
            _ => false,
        }) || matches!(&self.ts, TsLoc::Header(names, _) if names.iter().any(|n| n.as_str() == name)
            && self.content.contains(&Part::Timestamp))
    }

    /// Does the signature live in the body (so nothing can be checked before it is read)?
    pub fn sig_in_body(&self) -> bool {
        matches!(self.sig, SigLoc::Body(_))
    }
}

/// A spec compile error: which knob, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Knob name below `verify.` (`signature_header`, `signed_content`).
    pub knob: &'static str,
    /// What is wrong.
    pub message: String,
}

fn err(knob: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        knob,
        message: message.into(),
    }
}

/// Parse `a|b` into header names.
pub fn names(knob: &'static str, v: &str) -> Result<Names, SpecError> {
    let out: Result<Names, SpecError> = v
        .split('|')
        .map(|n| {
            HeaderName::from_bytes(n.trim().as_bytes())
                .map_err(|_| err(knob, format!("{n:?} is not a valid header name")))
        })
        .collect();
    let out = out?;
    if out.is_empty() {
        return Err(err(knob, "no header name"));
    }
    Ok(out)
}

fn path(v: &str) -> Vec<String> {
    v.split('.').map(str::to_string).collect()
}

/// Parse a content template into parts.
pub fn template(t: &str) -> Result<Vec<Part>, SpecError> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(unescape(&rest[..open]).into_bytes()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| err("signed_content", format!("unclosed '{{' in {t:?}")))?;
        let name = &rest[open + 1..open + close];
        parts.push(match name {
            "body" => Part::Body,
            "timestamp" => Part::Timestamp,
            "method" => Part::Method,
            "path" => Part::Path,
            "url" => Part::Url,
            "form:sorted" => Part::SortedForm,
            "config:webhook_id" => Part::Config(ConfigValue::WebhookId),
            "crc32:body" => Part::Crc32Body,
            "sns" => Part::Sns,
            h if h.starts_with("header:") => Part::Header(names("signed_content", &h[7..])?),
            f if f.starts_with("field:") => Part::Field(path(&f[6..])),
            other => {
                return Err(err(
                    "signed_content",
                    format!("unknown placeholder {{{other}}} (use body, timestamp, method, path, url, header:NAME)"),
                ))
            }
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(unescape(rest).into_bytes()));
    }
    Ok(parts)
}

/// `\n` in a template is a newline (Contentful-style canonical requests, SNS).
fn unescape(s: &str) -> String {
    s.replace("\\n", "\n")
}

/// Compile `spec` under the preset name `name`.
pub fn compile<S: Text>(name: &'static str, spec: &Spec<S>) -> Result<Scheme, SpecError> {
    let hdr = |v: &str| names("signature_header", v);
    let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let sig = match &spec.sig {
        Sig::Header { name, prefix } => SigLoc::Header(hdr(name.as_ref())?, prefix.as_ref().into()),
        Sig::List { name, sep, prefix } => {
            SigLoc::List(hdr(name.as_ref())?, *sep, prefix.as_ref().into())
        }
        Sig::Pairs {
            name,
            sep,
            key,
            ts_key,
            groups,
        } => SigLoc::Pairs(
            hdr(name.as_ref())?,
            *sep,
            key.as_ref().into(),
            opt(ts_key.as_ref()),
            *groups,
        ),
        Sig::Each { names: list } => SigLoc::Each(each(list.as_ref())?),
        Sig::Token { name, prefix } => SigLoc::Token(hdr(name.as_ref())?, prefix.as_ref().into()),
        Sig::Basic => SigLoc::Basic,
        Sig::Body { path: p } => SigLoc::Body(path(p.as_ref())),
        Sig::Jwt {
            name,
            prefix,
            body_hash,
        } => SigLoc::Jwt(
            hdr(name.as_ref())?,
            prefix.as_ref().into(),
            body_hash.as_ref().map(|(c, e)| (c.as_ref().into(), *e)),
        ),
    };
    let ts = match &spec.ts {
        Ts::None => TsLoc::None,
        Ts::Header { name, fmt } => TsLoc::Header(names("timestamp_header", name.as_ref())?, *fmt),
        Ts::Pair { fmt } => match &sig {
            SigLoc::Pairs(_, _, _, Some(_), _) => TsLoc::Pair(*fmt),
            _ => {
                return Err(err(
                    "timestamp_key",
                    "a pair timestamp needs a pairs signature header with a timestamp key",
                ))
            }
        },
        Ts::Body { path: p, fmt } => TsLoc::Body(path(p.as_ref()), *fmt),
        Ts::Jwt => TsLoc::Jwt,
    };
    let content = template(spec.content.as_ref())?;
    if content.contains(&Part::Timestamp) && matches!(ts, TsLoc::None | TsLoc::Jwt) {
        return Err(err(
            "signed_content",
            "{timestamp} needs a timestamp location",
        ));
    }
    let signs_something = content.iter().any(|p| !matches!(p, Part::Lit(_)));
    let credential = matches!(sig, SigLoc::Token(..) | SigLoc::Basic | SigLoc::Jwt(..))
        || (matches!(sig, SigLoc::Body(_)) && spec.alg == Alg::Token);
    if !signs_something && !credential {
        return Err(err(
            "signed_content",
            "the template signs nothing from the request",
        ));
    }
    Ok(Scheme {
        name,
        alg: spec.alg,
        enc: spec.enc,
        sig,
        ts,
        content,
        key: spec.key,
        alg_switch: spec.alg_switch,
        remote: spec.remote,
    })
}

/// `a,b` or `prefix*` (numbered 1..=16).
fn each(list: &str) -> Result<Vec<HeaderName>, SpecError> {
    if let Some(prefix) = list.strip_suffix('*') {
        return (1..=super::MAX_CANDIDATES)
            .map(|i| names("signature_header", &format!("{prefix}{i}")).map(|mut v| v.remove(0)))
            .collect();
    }
    list.split(',')
        .map(|n| names("signature_header", n).map(|mut v| v.remove(0)))
        .collect()
}
