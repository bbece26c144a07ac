//! Black-box integration tests: a real hookgate process, real upstreams, real clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly by design

mod harness;

mod attacks;
mod cli;
mod connections;
mod forwarding;
mod limits;
mod memory;
mod observability;
mod prometheus;
mod reload;
mod replay;
mod signatures;
mod tls;
mod upstream;
