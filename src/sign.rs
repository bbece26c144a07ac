//! `hookgate sign`: the headers a provider would send, for testing a deployment.

use crate::cli::SignFormat;
use crate::config::Config;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to sign.
pub struct SignRequest<'a> {
    /// Route name.
    pub route: &'a str,
    /// Exact body bytes.
    pub body: &'a [u8],
    /// Signing time (Unix seconds), default now.
    pub time: Option<u64>,
    /// Method.
    pub method: &'a str,
    /// Path and query (default: the route's prefix).
    pub path: Option<&'a str>,
    /// Extra `Name: value` headers sent along (and signed where the scheme signs them).
    pub headers: &'a [String],
    /// Output format.
    pub format: SignFormat,
    /// Where the body will be read from, for the curl line.
    pub body_path: &'a str,
}

/// Produce the output text, or an error message.
pub fn sign(cfg: &Config, r: &SignRequest<'_>) -> Result<String, String> {
    let route = cfg
        .routes
        .iter()
        .find(|x| x.name == r.route)
        .ok_or_else(|| format!("no route named {:?}", r.route))?;
    let verifier = route
        .verifier
        .as_ref()
        .ok_or_else(|| format!("route {:?} has no [route.verify]: nothing to sign", r.route))?;
    let mut extra = http::HeaderMap::new();
    for h in r.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        let name = http::HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| format!("bad header name {k:?}"))?;
        let value = http::HeaderValue::from_str(v.trim())
            .map_err(|_| format!("bad header value in {h:?}"))?;
        extra.append(name, value);
    }
    let now = r
        .time
        .map_or_else(SystemTime::now, |t| UNIX_EPOCH + Duration::from_secs(t));
    let path = r.path.unwrap_or(&route.path_prefix);
    let parts = crate::verify::RequestParts {
        method: r.method,
        path_and_query: path,
        headers: &extra,
    };
    let signed = verifier
        .sign(&parts, r.body, now)
        .map_err(|e| e.to_string())?;
    let all: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .chain(signed)
        .collect();
    Ok(match r.format {
        SignFormat::Headers => all.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
        SignFormat::Curl => {
            let listener = cfg
                .listeners
                .first()
                .map(|l| l.addr.to_string())
                .unwrap_or_default();
            let host = listener
                .replace("0.0.0.0", "127.0.0.1")
                .replace("[::]", "[::1]");
            let mut cmd = format!(
                "curl -sS -X {} --data-binary @{}",
                r.method,
                shell_quote(r.body_path)
            );
            for (k, v) in &all {
                cmd.push_str(&format!(" -H {}", shell_quote(&format!("{k}: {v}"))));
            }
            cmd.push_str(&format!(
                " {}\n",
                shell_quote(&format!("http://{host}{path}"))
            ));
            cmd
        }
    })
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
