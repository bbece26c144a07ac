//! hookgate: a verifying reverse proxy for inbound webhooks.
//!
//! A request flows listener → route → checks (IP, client identity, signature
//! headers) → bounded body read → signature → replay reservation → upstream.
//! Each concern lives in its own module; [`proxy`] composes them.

#![forbid(unsafe_code)]

pub mod admin;
pub mod admin_client;
pub mod allowlist;
pub mod certs;
pub mod check;
pub mod cli;
pub mod config;
pub mod connection;
pub mod drain;
pub mod echo;
pub mod files;
pub mod fuzz;
pub mod identity;
pub mod ids;
pub mod logging;
pub mod metered;
pub mod metrics;
pub mod proxy;
pub mod proxy_protocol;
pub mod queue;
pub mod reject;
pub mod reload;
pub mod replay;
pub mod secret;
pub mod server;
pub mod sign;
pub mod sockets;
pub mod target;
pub mod tls;
pub mod verify;
