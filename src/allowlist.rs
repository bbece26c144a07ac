//! IP allowlists and trusted proxies, decided before the body is read.

use crate::reject::{Reason, Rejection};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;

/// Largest `file:` IP list read (about 200,000 CIDRs).
pub const MAX_LIST_FILE: u64 = 8 << 20;

/// A list of networks, from CIDRs, single addresses and `file:` includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList(Vec<IpNet>);

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

impl IpList {
    /// Parse config entries; `file:path` reads one CIDR per line (`#` comments)
    /// relative to `base_dir`. Errors name the entry or file and line.
    pub fn parse(entries: &[String], base_dir: &Path) -> Result<IpList, String> {
        let mut nets = Vec::new();
        for e in entries {
            nets.extend(Self::parse_entry(e, base_dir)?);
        }
        Ok(IpList(nets))
    }

    /// The networks of one config entry (a CIDR, an address or `file:path`).
    pub fn parse_entry(entry: &str, base_dir: &Path) -> Result<Vec<IpNet>, String> {
        let Some(path) = entry.strip_prefix("file:") else {
            return parse_net(entry)
                .map(|n| vec![n])
                .ok_or_else(|| format!("invalid CIDR or address {entry:?}"));
        };
        let full = base_dir.join(path);
        let text = crate::files::read_text_bounded(&full, MAX_LIST_FILE)
            .map_err(|err| format!("{}: {err}", full.display()))?;
        let mut nets = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            nets.push(parse_net(line).ok_or_else(|| {
                format!("{}: line {}: invalid CIDR {line:?}", full.display(), i + 1)
            })?);
        }
        Ok(nets)
    }

    /// A list of already parsed networks.
    pub fn from_nets(nets: Vec<IpNet>) -> IpList {
        IpList(nets)
    }

    /// Does any network contain `ip`?
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Does the list admit every address (0.0.0.0/0 or ::/0)?
    pub fn is_everything(&self) -> bool {
        self.0.iter().any(|n| n.prefix_len() == 0)
    }
}

/// Allow and deny lists; deny wins, an empty allow list admits everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpPolicy {
    /// If non-empty, only these.
    pub allow: IpList,
    /// Never these.
    pub deny: IpList,
}

impl IpPolicy {
    /// 403 `ip_not_allowed` unless `ip` passes.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Rejection> {
        if self.allow.is_empty() && self.deny.is_empty() {
            return Ok(());
        }
        let Some(ip) = ip else {
            return Err(Rejection::new(Reason::IpNotAllowed, "no client address"));
        };
        if self.deny.contains(ip) {
            return Err(Rejection::new(
                Reason::IpNotAllowed,
                format!("{ip} is denied"),
            ));
        }
        if !self.allow.is_empty() && !self.allow.contains(ip) {
            return Err(Rejection::new(
                Reason::IpNotAllowed,
                format!("{ip} is not in the allowlist"),
            ));
        }
        Ok(())
    }
}

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub IpList);

/// Most `X-Forwarded-For` entries looked at.
const MAX_HOPS: usize = 32;

impl TrustedProxies {
    /// The client address: the peer itself unless it is a trusted proxy; then
    /// the right-most `X-Forwarded-For` entry that is not a trusted proxy.
    /// Entries may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`, as
    /// some load balancers write them); empty entries are skipped. Garbage
    /// stops the walk at the last trustworthy hop.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        xff: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.0.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let hops: Vec<&str> = xff
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let parsed = hop
                .parse::<IpAddr>()
                .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()));
            match parsed {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.0.contains(client) {
                        return client;
                    }
                }
                Err(_) => return client,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> IpList {
        IpList::parse(
            &v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            Path::new("."),
        )
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_deny_v4_v6_and_mapped() {
        let p = IpPolicy {
            allow: list(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]),
            deny: list(&["10.6.0.0/16"]),
        };
        assert!(p.check(Some(ip("10.1.2.3"))).is_ok());
        assert!(
            p.check(Some(ip("::ffff:10.1.2.3"))).is_ok(),
            "IPv4-mapped IPv6"
        );
        assert!(p.check(Some(ip("192.0.2.7"))).is_ok());
        assert!(p.check(Some(ip("2001:db8::1"))).is_ok());
        assert_eq!(
            p.check(Some(ip("10.6.0.1"))).unwrap_err().reason,
            Reason::IpNotAllowed,
            "deny wins"
        );
        assert!(p.check(Some(ip("192.0.2.8"))).is_err());
        assert!(p.check(Some(ip("2001:db9::1"))).is_err());
        assert!(IpPolicy::default().check(None).is_ok());
    }

    #[test]
    fn files_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("gh.txt"),
            "# GitHub hooks\n192.30.252.0/22\n\n140.82.112.0/20 # api\n",
        )
        .unwrap();
        let l = IpList::parse(&["file:gh.txt".into()], dir.path()).unwrap();
        assert!(l.contains(ip("140.82.112.9")));
        std::fs::write(dir.path().join("bad.txt"), "1.2.3.0/24\nnot-an-ip\n").unwrap();
        let e = IpList::parse(&["file:bad.txt".into()], dir.path()).unwrap_err();
        assert!(
            e.ends_with("bad.txt: line 2: invalid CIDR \"not-an-ip\""),
            "{e}"
        );
        assert_eq!(
            IpList::parse(&["10.0.0.0/33".into()], dir.path()).unwrap_err(),
            "invalid CIDR or address \"10.0.0.0/33\""
        );
        assert!(list(&["0.0.0.0/0"]).is_everything());
    }

    #[test]
    fn xff_only_from_trusted_proxies_right_most_untrusted() {
        let t = TrustedProxies(list(&["10.0.0.0/8"]));
        // Untrusted peer: its XFF is ignored.
        assert_eq!(
            t.client_ip(ip("203.0.113.9"), ["1.1.1.1"].into_iter()),
            ip("203.0.113.9")
        );
        // Trusted peer: right-most untrusted hop; a spoofed left entry is ignored.
        assert_eq!(
            t.client_ip(
                ip("10.0.0.2"),
                ["6.6.6.6, 198.51.100.4, 10.0.0.9"].into_iter()
            ),
            ip("198.51.100.4")
        );
        // Several headers are one list, in order.
        assert_eq!(
            t.client_ip(ip("10.0.0.2"), ["6.6.6.6", "198.51.100.5"].into_iter()),
            ip("198.51.100.5")
        );
        // Ports are dropped, empty entries skipped.
        assert_eq!(
            t.client_ip(
                ip("10.0.0.2"),
                ["198.51.100.6:4711, , 10.0.0.9:80,"].into_iter()
            ),
            ip("198.51.100.6")
        );
        assert_eq!(
            t.client_ip(ip("10.0.0.2"), ["[2001:db8::7]:4711"].into_iter()),
            ip("2001:db8::7")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            t.client_ip(ip("10.0.0.2"), ["198.51.100.4, junk"].into_iter()),
            ip("10.0.0.2")
        );
        // Only trusted hops: the left-most of them.
        assert_eq!(
            t.client_ip(ip("10.0.0.2"), ["10.0.0.3"].into_iter()),
            ip("10.0.0.3")
        );
        assert_eq!(t.client_ip(ip("::1"), std::iter::empty()), ip("::1"));
    }
}
