//! `hookgate queue stats|list|show|retry|purge -c FILE`: operate the queue
//! named by a config file.
//!
//! The command opens the store itself: a Redis store is shared with the
//! running instances anyway, and a stopped instance's embedded file is free.
//! A running instance holds its embedded file locked; then the command asks
//! that instance's admin API (address and token from the same config file),
//! which runs the same [`super::ops`] action and renders the same text or
//! JSON. Either way, `show` prints headers with secrets redacted and never
//! the body.

use super::ops::{self, Action, Format, OpsError};
use super::{DeliveryId, QueueError, RetryTarget, StateFilter};
use crate::config::units::parse_duration;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
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
        #[arg(long, default_value_t = ops::DEFAULT_LIST)]
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

/// The operator action a command asks for.
fn action(cmd: &QueueCommand) -> Result<Action, String> {
    Ok(match cmd {
        QueueCommand::Stats { .. } => Action::Stats,
        QueueCommand::List {
            route,
            state,
            limit,
            ..
        } => Action::List {
            route: route.clone(),
            state: *state,
            limit: *limit,
        },
        QueueCommand::Show { id, .. } => Action::Show { id: parse_id(id)? },
        QueueCommand::Retry { route, id, .. } => Action::Retry {
            route: route.clone(),
            target: match id {
                Some(id) => RetryTarget::One(parse_id(id)?),
                None => RetryTarget::AllDead,
            },
        },
        QueueCommand::Purge {
            route, older_than, ..
        } => Action::Purge {
            route: route.clone(),
            older_than: *older_than,
        },
    })
}

async fn execute(cmd: &QueueCommand) -> Result<String, String> {
    let common = cmd.common();
    let action = action(cmd)?;
    let format = if common.json {
        Format::Json
    } else {
        Format::Text
    };
    let cfg = crate::config::load(&common.config).map_err(|e| e.to_string())?;
    let settings = cfg
        .queue
        .as_ref()
        .ok_or_else(|| OpsError::NoQueue.to_string())?;
    match super::open(settings).await {
        Ok(store) => ops::execute(store.as_ref(), &cfg, &action, format)
            .await
            .map_err(|e| e.to_string()),
        Err(QueueError::InUse(_)) => through_admin(&common.config, &action, format),
        Err(e) => Err(e.to_string()),
    }
}

/// Ask the running instance that holds the store.
fn through_admin(config: &Path, action: &Action, format: Format) -> Result<String, String> {
    let method = if action.writes() { "POST" } else { "GET" };
    let answer = crate::admin_client::call(config, method, &action.target(format))?;
    match answer.status {
        200 => Ok(answer.body),
        401 => Err(format!(
            "the running hookgate holds the queue file and its admin API refused the request ({}): set [admin] token in this file to the running instance's token\n",
            answer.body.trim_end()
        )),
        _ => Err(answer.body.trim_end().to_string()),
    }
}
