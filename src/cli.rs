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
    /// Ask a running hookgate to reload its config (POST /reload on the admin listener named in FILE).
    Reload {
        /// Config file of the running instance.
        #[arg(short, long, default_value = "conf/hookgate.toml")]
        config: PathBuf,
    },
    /// Run a demo receiver that prints each request and answers with the body's size and SHA-256.
    Echo {
        /// Address to listen on.
        #[arg(short, long, default_value = "127.0.0.1:3000")]
        listen: String,
    },
}
