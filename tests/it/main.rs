//! Black-box integration tests: a real hookgate process, real upstreams, real clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod harness;

mod admin;
mod attacks;
mod cli;
mod connections;
mod durable;
mod forwarding;
mod fuzz_corpus;
mod handshakes;
mod limits;
mod logs;
mod memory;
mod observability;
mod prometheus;
mod providers;
mod queue_cli;
mod queue_contract;
mod queue_embedded;
mod queue_redis;
mod queue_support;
mod queue_worker;
mod reload;
mod replay;
mod replay_store;
mod signatures;
mod startup;
mod tls;
mod upstream;
