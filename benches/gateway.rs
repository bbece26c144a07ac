//! Micro-benchmarks for the per-request work hookgate adds in front of an app.
//!
//! Targets (checked by reading the numbers, never by a timed test):
//! route lookup well under 1 µs for 50 routes; header sanitising under 2 µs;
//! an IP list lookup under 1 µs for 10 CIDRs (10,000 CIDRs shows how a long
//! list scales); loading a 50-route config in milliseconds, not seconds, so
//! a reload is never felt.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a benchmark with a broken fixture should stop loudly

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::path::Path;

fn config_with_routes(n: usize) -> hookgate::config::Config {
    let mut src = String::from("[admin]\nlisten = \"127.0.0.1:9901\"\n[[listener]]\nname = \"p\"\nlisten = \"127.0.0.1:8080\"\n");
    for i in 0..n {
        src.push_str(&format!(
            "[[route]]\nname = \"r{i}\"\npath_prefix = \"/hooks/provider-{i}\"\nupstreams = [\"127.0.0.1:3000\"]\nallow_unauthenticated = true\n"
        ));
    }
    parse_config(&src)
}

fn parse_config(src: &str) -> hookgate::config::Config {
    match hookgate::config::parse(Path::new("bench.toml"), src) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// A config as an operator writes it: `n` GitHub routes with signature
/// checks, replay protection and an IP allowlist.
fn verified_config_text(n: usize) -> String {
    let mut src = String::from("[admin]\nlisten = \"127.0.0.1:9901\"\n[[listener]]\nname = \"p\"\nlisten = \"127.0.0.1:8080\"\n");
    for i in 0..n {
        src.push_str(&format!(
            "[[route]]\nname = \"r{i}\"\npath_prefix = \"/hooks/provider-{i}\"\nupstreams = [\"127.0.0.1:3000\"]\n\
             allow_ips = [\"192.30.252.0/22\", \"185.199.108.0/22\", \"140.82.112.0/20\"]\n\
             [route.verify]\nscheme = \"github\"\nsecrets = [\"bench-secret-{i}\"]\n\
             [route.replay]\nkey = \"header:X-GitHub-Delivery\"\n"
        ));
    }
    src
}

fn route_lookup(c: &mut Criterion) {
    let cfg = config_with_routes(50);
    c.bench_function("route_lookup/50_routes/last", |b| {
        b.iter(|| cfg.route_for(black_box(None), black_box("/hooks/provider-49/event")))
    });
    c.bench_function("route_lookup/50_routes/miss", |b| {
        b.iter(|| cfg.route_for(black_box(None), black_box("/nothing/here")))
    });
}

fn hop_by_hop(c: &mut Criterion) {
    let mut base = http::HeaderMap::new();
    for (k, v) in [
        ("host", "hooks.example.com"),
        ("user-agent", "GitHub-Hookshot/abc"),
        ("content-type", "application/json"),
        ("x-github-event", "push"),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        (
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
    ] {
        base.insert(k, http::HeaderValue::from_static(v));
    }
    c.bench_function("strip_hop_by_hop/8_headers", |b| {
        b.iter(|| {
            let mut h = base.clone();
            for name in hookgate::proxy::upstream::hop_by_hop_names(&h.clone()) {
                h.remove(name);
            }
            h
        })
    });
}

/// `n` distinct /24 networks, none of which holds 192.0.2.1.
fn ip_list(n: usize) -> hookgate::allowlist::IpList {
    let entries: Vec<String> = (0..n)
        .map(|i| format!("10.{}.{}.0/24", (i >> 8) & 0xff, i & 0xff))
        .collect();
    hookgate::allowlist::IpList::parse(&entries, Path::new(".")).unwrap()
}

fn ip_lookup(c: &mut Criterion) {
    let miss: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    for n in [10, 10_000] {
        let list = ip_list(n);
        let last: std::net::IpAddr = format!("10.{}.{}.7", ((n - 1) >> 8) & 0xff, (n - 1) & 0xff)
            .parse()
            .unwrap();
        assert!(list.contains(last) && !list.contains(miss));
        c.bench_function(&format!("ip_list/{n}_cidrs/miss"), |b| {
            b.iter(|| list.contains(black_box(miss)))
        });
        c.bench_function(&format!("ip_list/{n}_cidrs/last"), |b| {
            b.iter(|| list.contains(black_box(last)))
        });
    }
}

fn config_load(c: &mut Criterion) {
    let src = verified_config_text(50);
    parse_config(&src);
    c.bench_function("config_load/50_verified_routes", |b| {
        b.iter(|| parse_config(black_box(&src)))
    });
}

fn normalize_target(c: &mut Criterion) {
    c.bench_function("normalize_target/plain", |b| {
        b.iter(|| hookgate::target::normalize_target(black_box(b"/hooks/github/events?x=1")))
    });
    c.bench_function("normalize_target/dots_and_escapes", |b| {
        b.iter(|| hookgate::target::normalize_target(black_box(b"/hooks/a/./b/../%7Ec//d?x=1")))
    });
}

criterion_group!(
    benches,
    route_lookup,
    hop_by_hop,
    normalize_target,
    ip_lookup,
    config_load
);
criterion_main!(benches);
