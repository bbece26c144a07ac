//! The pingora ceiling for `make bench`: a `ProxyHttp` that checks nothing.
//!
//! It implements `upstream_peer` only, so what it costs per request is what
//! pingora's own proxy loop costs. Built as a cargo example of this package,
//! it links the very pingora version and features hookgate uses, so the ratio
//! "hookgate / minimal pingora proxy" measures hookgate's own path and nothing
//! else, on every machine the benchmark runs on.
//!
//! ```text
//! minimal_proxy --listen 127.0.0.1:18102 --upstream 127.0.0.1:18100 \
//!     [--tls-listen 127.0.0.1:18402 --cert server.pem --key server.key] [--threads 1]
//! ```

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;
use std::net::SocketAddr;

/// Forwards every request to one fixed plain-HTTP upstream.
struct Minimal {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Minimal {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

/// Command line: `--name value` pairs.
struct Args {
    listen: String,
    upstream: SocketAddr,
    tls: Option<(String, String, String)>,
    threads: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut pairs = std::collections::HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(name) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?;
        pairs.insert(name, value);
    }
    let mut take = |name: &str| pairs.remove(name);
    let listen = take("--listen").ok_or_else(|| anyhow::anyhow!("--listen is required"))?;
    let upstream = take("--upstream")
        .ok_or_else(|| anyhow::anyhow!("--upstream is required"))?
        .parse()?;
    let tls = match (take("--tls-listen"), take("--cert"), take("--key")) {
        (Some(addr), Some(cert), Some(key)) => Some((addr, cert, key)),
        (None, None, None) => None,
        _ => anyhow::bail!("--tls-listen, --cert and --key go together"),
    };
    let threads = take("--threads").map_or(Ok(1), |t| t.parse())?;
    if let Some(unknown) = pairs.keys().next() {
        anyhow::bail!("unknown argument {unknown}");
    }
    Ok(Args {
        listen,
        upstream,
        tls,
        threads,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let conf = ServerConf {
        threads: args.threads,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Minimal {
            upstream: args.upstream,
        },
    );
    proxy.add_tcp(&args.listen);
    if let Some((addr, cert, key)) = &args.tls {
        proxy.add_tls(addr, cert, key)?;
    }
    server.add_service(proxy);
    server.run_forever()
}
