//! Command line: `hookgate run|check -c FILE`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// hookgate: verify webhooks at the edge, forward only authenticated requests.
#[derive(Debug, Parser)]
#[command(name = "hookgate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output of `hookgate sign`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SignFormat {
    /// `Name: value` lines.
    Headers,
    /// A curl command line posting the body to the first listener.
    Curl,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve with a config file.
    Run {
        /// Config file.
        #[arg(short, long, default_value = "conf/hookgate.toml")]
        config: PathBuf,
        /// Take over listening sockets from a running hookgate (zero-downtime upgrade).
        #[arg(long)]
        upgrade: bool,
    },
    /// Validate a config file and print a summary; exit 1 with the errors otherwise.
    Check {
        /// Config file.
        #[arg(short, long, default_value = "conf/hookgate.toml")]
        config: PathBuf,
    },
    /// Print the headers a provider would send for a route's scheme, to test a deployment with curl.
    Sign {
        /// Config file holding the route and its secrets.
        #[arg(short, long, default_value = "conf/hookgate.toml")]
        config: PathBuf,
        /// Route name.
        #[arg(long)]
        route: String,
        /// File with the exact body to sign (`-` for stdin).
        #[arg(long)]
        body: PathBuf,
        /// Signing time as Unix seconds (default: now).
        #[arg(long)]
        time: Option<u64>,
        /// Request method.
        #[arg(long, default_value = "POST")]
        method: String,
        /// Path and query the request will use (default: the route's path_prefix).
        #[arg(long)]
        path: Option<String>,
        /// Extra request header `Name: value` (e.g. the content type Twilio signs form params under).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// `headers` (one `Name: value` per line) or `curl` (a complete command).
        #[arg(long, default_value = "headers")]
        format: SignFormat,
    },
    /// Ask a running hookgate to reload its config (POST /reload on the admin listener named in FILE).
    Reload {
        /// Config file of the running instance.
        #[arg(short, long, default_value = "conf/hookgate.toml")]
        config: PathBuf,
    },
    /// Generate certificates. `hookgate certs dev --out certs/` writes a dev CA,
    /// a localhost server certificate, two client certificates and an unrelated CA's client.
    Certs {
        /// Which set (only `dev`).
        #[arg(value_parser = ["dev"])]
        set: String,
        /// Output directory.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
    },
    /// Inspect and operate the durable-delivery queue: stats, list, show, retry, purge.
    Queue {
        /// What to do.
        #[command(subcommand)]
        command: crate::queue::cli::QueueCommand,
    },
    /// Run a demo receiver that prints each request and answers with the body's size and SHA-256.
    Echo {
        /// Address to listen on.
        #[arg(short, long, default_value = "127.0.0.1:3000")]
        listen: String,
    },
}
