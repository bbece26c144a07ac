//! `[[listener]]`: addresses (no two that would collide, none on the admin
//! address), TLS material loaded from disk, IP lists, PROXY protocol.

use super::bounded;
use super::defaults::{DEFAULT_MAX_CONNECTIONS, MAX_CONNECTIONS};
use super::error::Collector;
use super::file::{FileListener, FileTls};
use super::runtime::Listener;
use crate::allowlist::{IpList, IpPolicy, TrustedProxies};
use crate::tls::{ClientAuth, ClientCertPaths, ListenerTls, TlsPaths};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use toml::Spanned;

/// Validate every listener, then check the addresses against each other and `admin`.
pub fn validate_all(
    c: &mut Collector,
    files: &[FileListener],
    admin: Option<SocketAddr>,
    base_dir: &Path,
) -> Vec<Listener> {
    if files.is_empty() {
        c.push("listener", "at least one [[listener]] is required", None);
    }
    let mut names = HashSet::new();
    let mut out = Vec::new();
    let mut bound: Vec<(String, SocketAddr)> = admin
        .map(|a| ("[admin] listen".to_string(), a))
        .into_iter()
        .collect();
    for f in files {
        let key = format!("listener {:?}", f.name.get_ref());
        if !names.insert(f.name.get_ref().clone()) {
            c.push(&key, "duplicate listener name", Some(f.name.span()));
        }
        let addr = parse_socket(c, &format!("{key}.listen"), &f.listen);
        if let Some(addr) = addr {
            if let Some((other, at)) = bound.iter().find(|(_, b)| collide(*b, addr)) {
                c.push(
                    format!("{key}.listen"),
                    format!("{addr} collides with {other} ({at}): both cannot listen on it; give each listener its own port"),
                    Some(f.listen.span()),
                );
            }
            bound.push((format!("listener {:?}", f.name.get_ref()), addr));
        }
        if let Some(l) = validate(c, f, &key, addr, base_dir) {
            out.push(l);
        }
    }
    out
}

/// One listener; `None` (with errors recorded) when it cannot be built.
fn validate(
    c: &mut Collector,
    f: &FileListener,
    key: &str,
    addr: Option<SocketAddr>,
    base_dir: &Path,
) -> Option<Listener> {
    let tls = f.tls.as_ref().map(|t| tls(c, key, t, base_dir));
    let trusted = ip_list(c, key, "trusted_proxies", &f.trusted_proxies, base_dir);
    let allow = ip_list(c, key, "allow_ips", &f.allow_ips, base_dir);
    let deny = ip_list(c, key, "deny_ips", &f.deny_ips, base_dir);
    let proxy_protocol = f.proxy_protocol.as_ref().is_some_and(|p| *p.get_ref());
    if proxy_protocol && f.trusted_proxies.is_empty() {
        c.push(
            format!("{key}.proxy_protocol"),
            "needs trusted_proxies: the load balancers allowed to send the header (anyone else could claim any address)",
            f.proxy_protocol.as_ref().map(|p| p.span()),
        );
    }
    let max_connections = bounded(
        c,
        &format!("{key}.max_connections"),
        f.max_connections.as_ref(),
        |n| *n,
        DEFAULT_MAX_CONNECTIONS,
        MAX_CONNECTIONS,
    );
    Some(Listener {
        name: f.name.get_ref().clone(),
        addr: addr?,
        tls: tls.map_or(Some(None), |t| t.map(Some))?,
        trusted_proxies: TrustedProxies(trusted?),
        ip: IpPolicy {
            allow: allow?,
            deny: deny?,
        },
        proxy_protocol,
        max_connections,
    })
}

/// Would binding `a` make binding `b` fail (or the reverse)? The same port on
/// the same address, or on an unspecified address covering the other:
/// `0.0.0.0` covers every IPv4 address, `[::]` (dual-stack) every address.
pub fn collide(a: SocketAddr, b: SocketAddr) -> bool {
    fn covers(a: IpAddr, b: IpAddr) -> bool {
        a == b || (a.is_unspecified() && (a.is_ipv6() || b.is_ipv4()))
    }
    a.port() == b.port() && (covers(a.ip(), b.ip()) || covers(b.ip(), a.ip()))
}

/// `ip:port`, or an error naming the expected form.
pub fn parse_socket(c: &mut Collector, key: &str, v: &Spanned<String>) -> Option<SocketAddr> {
    match v.get_ref().parse::<SocketAddr>() {
        Ok(a) if a.port() == 0 => {
            c.push(
                key,
                "port 0 is not a fixed port: give the port to listen on",
                Some(v.span()),
            );
            None
        }
        Ok(a) => Some(a),
        Err(_) => {
            c.push(
                key,
                format!("invalid listen address {:?}: expected ip:port such as \"127.0.0.1:8080\" or \"[::]:8080\"", v.get_ref()),
                Some(v.span()),
            );
            None
        }
    }
}

/// An IP list whose every entry (or `file:` include) is checked, errors at the entry's line.
pub fn ip_list(
    c: &mut Collector,
    key: &str,
    what: &str,
    entries: &[Spanned<String>],
    base_dir: &Path,
) -> Option<IpList> {
    let mut nets = Vec::new();
    let mut ok = true;
    for (i, e) in entries.iter().enumerate() {
        match IpList::parse_entry(e.get_ref(), base_dir) {
            Ok(n) => nets.extend(n),
            Err(m) => {
                c.push(format!("{key}.{what}[{i}]"), m, Some(e.span()));
                ok = false;
            }
        }
    }
    ok.then(|| IpList::from_nets(nets))
}

/// The listener's TLS settings with every file loaded (what `run` will serve).
fn tls(c: &mut Collector, key: &str, t: &Spanned<FileTls>, base_dir: &Path) -> Option<ListenerTls> {
    let f = t.get_ref();
    let mode = f
        .client_auth
        .as_ref()
        .map_or(ClientAuth::Off, |m| *m.get_ref());
    let client = match (mode, &f.client_ca) {
        // Without client certificates, a CA bundle and CRLs have nothing to check.
        (ClientAuth::Off, _) => None,
        (_, Some(ca)) => Some(ClientCertPaths {
            mode,
            ca: base_dir.join(ca.get_ref()),
            crls: f.crls.iter().map(|p| base_dir.join(p.get_ref())).collect(),
        }),
        (_, None) => {
            c.push(
                format!("{key}.tls.client_ca"),
                "required when client_auth is not \"off\": the CA bundle client certificates must chain to",
                Some(t.span()),
            );
            return None;
        }
    };
    let paths = TlsPaths {
        cert: base_dir.join(f.cert.get_ref()),
        key: base_dir.join(f.key.get_ref()),
        client,
    };
    ListenerTls::load(paths.clone())
        .map_err(|e| {
            // Point at the key that named the file at fault.
            let (field, span) = if e.file == paths.cert {
                ("cert".to_string(), f.cert.span())
            } else if e.file == paths.key {
                ("key".to_string(), f.key.span())
            } else if let Some(i) = f
                .crls
                .iter()
                .position(|p| base_dir.join(p.get_ref()) == e.file)
            {
                (format!("crls[{i}]"), f.crls[i].span())
            } else {
                (
                    "client_ca".to_string(),
                    f.client_ca.as_ref().map_or(t.span(), |s| s.span()),
                )
            };
            c.push(format!("{key}.tls.{field}"), e.to_string(), Some(span));
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::collide;

    #[test]
    fn addresses_that_cannot_both_be_bound() {
        let a = |s: &str| s.parse().unwrap();
        assert!(collide(a("127.0.0.1:80"), a("127.0.0.1:80")));
        assert!(collide(a("0.0.0.0:80"), a("127.0.0.1:80")));
        assert!(collide(a("127.0.0.1:80"), a("0.0.0.0:80")));
        assert!(collide(a("[::]:80"), a("127.0.0.1:80")));
        assert!(collide(a("[::]:80"), a("0.0.0.0:80")));
        assert!(collide(a("[::1]:80"), a("[::]:80")));
        assert!(!collide(a("127.0.0.1:80"), a("127.0.0.1:81")));
        assert!(!collide(a("127.0.0.1:80"), a("127.0.0.2:80")));
        assert!(!collide(a("0.0.0.0:80"), a("[::1]:80")));
    }
}
