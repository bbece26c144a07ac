//! Listening sockets: are the configured addresses free before start, and
//! is this process actually listening on them now?
//!
//! pingora binds listeners in its service threads, retries an address in use
//! for half a minute and then panics in that thread while the rest of the
//! process (admin included) lives on. So `run` binds every address itself
//! first and exits at once when one is taken, and `/readyz` looks at the
//! kernel's socket table for a listening socket this process owns rather
//! than trusting that the listener thread got there.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address that cannot be bound, with the name of what wanted it.
#[derive(Debug, thiserror::Error)]
#[error("{name} cannot listen on {addr}: {}", describe(.kind, .message))]
pub struct BindError {
    /// `listener "public"` or `[admin] listen`.
    pub name: String,
    /// The address.
    pub addr: SocketAddr,
    /// What went wrong.
    pub kind: ErrorKind,
    /// The OS message.
    pub message: String,
}

fn describe(kind: &ErrorKind, message: &str) -> String {
    match kind {
        ErrorKind::AddrInUse => {
            "address in use (another process, perhaps another hookgate, listens there)".into()
        }
        ErrorKind::AddrNotAvailable => {
            "address not available (no interface on this machine has it)".into()
        }
        _ => message.to_string(),
    }
}

/// Bind and release each `(name, address)`; the first that fails is the error.
pub fn ensure_free(addrs: impl IntoIterator<Item = (String, SocketAddr)>) -> Result<(), BindError> {
    for (name, addr) in addrs {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            return Err(BindError {
                name,
                addr,
                kind: e.kind(),
                message: e.to_string(),
            });
        }
    }
    Ok(())
}

/// The addresses among `want` that this process has no listening TCP socket
/// on. Reads `/proc/self/net/tcp{,6}` and `/proc/self/fd`: no connection is
/// made, so probes are not counted as clients. Errs when `/proc` cannot be read.
pub fn not_listening(want: &[SocketAddr]) -> Result<Vec<SocketAddr>, String> {
    let owned = own_socket_inodes()?;
    let mut listening = HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let text = std::fs::read_to_string(table).map_err(|e| format!("{table}: {e}"))?;
        listening.extend(
            text.lines()
                .skip(1)
                .filter_map(parse_listen_line)
                .filter(|(_, inode)| owned.contains(inode))
                .map(|(addr, _)| addr),
        );
    }
    Ok(want
        .iter()
        .filter(|a| !listening.contains(*a))
        .copied()
        .collect())
}

/// Inodes of the sockets among this process's open file descriptors.
fn own_socket_inodes() -> Result<HashSet<u64>, String> {
    let dir = std::fs::read_dir("/proc/self/fd").map_err(|e| format!("/proc/self/fd: {e}"))?;
    Ok(dir
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect())
}

/// `(local address, inode)` of a LISTEN line of `/proc/net/tcp` or `tcp6`.
fn parse_listen_line(line: &str) -> Option<(SocketAddr, u64)> {
    const LISTEN: &str = "0A";
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.get(3) != Some(&LISTEN) {
        return None;
    }
    let (ip, port) = f.get(1)?.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some((
        SocketAddr::new(parse_ip(ip)?, port),
        f.get(9)?.parse().ok()?,
    ))
}

/// The kernel prints addresses as 32-bit words in host byte order.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_its_own_listening_sockets_only() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0").ok();
        let mut want = vec![v4.local_addr().unwrap()];
        want.extend(v6.as_ref().map(|l| l.local_addr().unwrap()));
        assert_eq!(not_listening(&want).unwrap(), Vec::<SocketAddr>::new());
        let closed = want[0];
        drop(v4);
        assert_eq!(not_listening(&want).unwrap(), vec![closed]);
    }

    #[test]
    fn a_taken_address_is_named() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let e = ensure_free([("listener \"public\"".to_string(), addr)]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AddrInUse);
        assert!(
            e.to_string().starts_with(&format!(
                "listener \"public\" cannot listen on {addr}: address in use"
            )),
            "{e}"
        );
    }
}
