//! Talking to a running hookgate's admin listener from the command line
//! (`hookgate reload`, `hookgate queue ...`): the address and the token are
//! read from the config file, loosely, since the file may be the broken one
//! being tested. The token is sent, never printed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Deadline for connecting, sending and reading the answer.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read.
const MAX_ANSWER: u64 = 16 << 20;

/// The admin listener's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body, as text.
    pub body: String,
}

/// Send `method target` (no body) to the admin listener the config at
/// `path` names, with its `[admin] token` when it has one.
pub fn call(path: &Path, method: &str, target: &str) -> Result<Answer, String> {
    let text = crate::files::read_text_bounded(path, 16 << 20)
        .map_err(|e| format!("{}: {e}\n", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {}\n", path.display(), e.message()))?;
    let admin = table.get("admin");
    let listen = admin
        .and_then(|a| a.get("listen"))
        .and_then(|l| l.as_str())
        .ok_or_else(|| format!("{}: admin.listen is not set\n", path.display()))?;
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|_| format!("admin.listen {listen:?} is not ip:port\n"))?;
    let authorization = match admin.and_then(|a| a.get("token")).and_then(|t| t.as_str()) {
        None => String::new(),
        Some(raw) => {
            let base = path.parent().unwrap_or(Path::new("."));
            let token = crate::secret::SecretSource::parse(raw)
                .resolve(raw, base)
                .map_err(|e| format!("admin.token: {e}\n"))?;
            let token = String::from_utf8(token.expose().to_vec())
                .map_err(|_| "admin.token: not UTF-8\n".to_string())?;
            format!("authorization: Bearer {token}\r\n")
        }
    };
    let mut s = std::net::TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot reach hookgate admin at {listen}: {e}\n"))?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    s.write_all(
        format!("{method} {target} HTTP/1.1\r\nhost: {listen}\r\n{authorization}content-length: 0\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| format!("sending {method} {target}: {e}\n"))?;
    let mut resp = Vec::new();
    s.take(MAX_ANSWER)
        .read_to_end(&mut resp)
        .map_err(|e| format!("reading the answer to {method} {target}: {e}\n"))?;
    let resp = String::from_utf8_lossy(&resp);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("hookgate admin at {listen} sent no HTTP answer\n"))?;
    Ok(Answer {
        status,
        body: body.to_string(),
    })
}
