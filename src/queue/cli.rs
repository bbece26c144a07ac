//! `hookgate queue stats|list|show|retry|purge -c FILE`: operate the queue
//! named by a config file, directly on its store.
//!
//! The embedded store's file is locked by the hookgate that serves it, so
//! these commands run against a stopped instance's file (or a Redis shared
//! with running ones); a running embedded instance is operated through its
//! admin API, which calls the same [`super::ops`] functions.

use super::ops::{self, OpsError};
use super::{DeliveryId, RetryTarget, StateFilter};
use crate::config::units::parse_duration;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The config file option every queue command takes.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file naming the queue store.
    #[arg(short, long, default_value = "conf/hookgate.toml")]
    pub config: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `hookgate queue ...`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Depth per route (pending, dead, oldest pending) and bytes used.
    Stats {
        #[command(flatten)]
        common: ConfigArg,
    },
    /// A route's deliveries, oldest first.
    List {
        #[command(flatten)]
        common: ConfigArg,
        /// Route name.
        #[arg(long)]
        route: String,
        /// Which deliveries.
        #[arg(long, value_enum, default_value = "pending")]
        state: StateFilter,
        /// Most deliveries printed.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One delivery: headers (credentials and signatures redacted) and body size.
    Show {
        #[command(flatten)]
        common: ConfigArg,
        /// Delivery id (as printed by `list` and sent as X-Hookgate-Delivery-Id).
        id: String,
    },
    /// Deliver dead letters again, with a fresh attempt budget.
    Retry {
        #[command(flatten)]
        common: ConfigArg,
        /// Route name.
        #[arg(long)]
        route: String,
        /// One dead letter's id.
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Every dead letter of the route.
        #[arg(long)]
        all_dead: bool,
    },
    /// Delete dead letters.
    Purge {
        #[command(flatten)]
        common: ConfigArg,
        /// Route name.
        #[arg(long)]
        route: String,
        /// Only `dead` can be purged: pending deliveries are never thrown away.
        #[arg(long, value_parser = ["dead"])]
        state: String,
        /// Only those dead-lettered longer ago than this, e.g. `7d`.
        #[arg(long, value_parser = parse_duration)]
        older_than: Option<Duration>,
    },
}

impl QueueCommand {
    fn common(&self) -> &ConfigArg {
        match self {
            QueueCommand::Stats { common }
            | QueueCommand::List { common, .. }
            | QueueCommand::Show { common, .. }
            | QueueCommand::Retry { common, .. }
            | QueueCommand::Purge { common, .. } => common,
        }
    }
}

/// Run a queue command; prints the result or the error.
pub fn run(cmd: QueueCommand) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookgate: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(execute(&cmd)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn parse_id(id: &str) -> Result<DeliveryId, String> {
    DeliveryId::parse(id).ok_or_else(|| format!("{id:?} is not a delivery id"))
}

fn render(json: bool, value: serde_json::Value, text: String) -> String {
    if json {
        format!("{value:#}\n")
    } else {
        text
    }
}

async fn execute(cmd: &QueueCommand) -> Result<String, String> {
    let common = cmd.common();
    let cfg = crate::config::load(&common.config).map_err(|e| e.to_string())?;
    let settings = cfg
        .queue
        .as_ref()
        .ok_or_else(|| OpsError::NoQueue.to_string())?;
    let store = super::open(settings).await.map_err(|e| e.to_string())?;
    let store = store.as_ref();
    let json = common.json;
    let err = |e: OpsError| e.to_string();
    match cmd {
        QueueCommand::Stats { .. } => {
            let s = ops::stats(store, &cfg).await.map_err(err)?;
            Ok(render(json, ops::stats_json(&s), ops::stats_text(&s)))
        }
        QueueCommand::List {
            route,
            state,
            limit,
            ..
        } => {
            let items = ops::list(store, &cfg, route, *state, *limit)
                .await
                .map_err(err)?;
            Ok(render(json, ops::list_json(&items), ops::list_text(&items)))
        }
        QueueCommand::Show { id, .. } => {
            let d = ops::show(store, parse_id(id)?).await.map_err(err)?;
            let secret = ops::secret_headers(&cfg, &d.route);
            Ok(render(
                json,
                ops::show_json(&d, &secret),
                ops::show_text(&d, &secret),
            ))
        }
        QueueCommand::Retry { route, id, .. } => {
            let target = match id {
                Some(id) => RetryTarget::One(parse_id(id)?),
                None => RetryTarget::AllDead,
            };
            let n = ops::retry(store, &cfg, route, target).await.map_err(err)?;
            Ok(render(
                json,
                serde_json::json!({ "retried": n }),
                format!("{n} dead letter(s) of route {route:?} queued for delivery again\n"),
            ))
        }
        QueueCommand::Purge {
            route, older_than, ..
        } => {
            let n = ops::purge(store, &cfg, route, *older_than)
                .await
                .map_err(err)?;
            Ok(render(
                json,
                serde_json::json!({ "purged": n }),
                format!("{n} dead letter(s) of route {route:?} deleted\n"),
            ))
        }
    }
}
