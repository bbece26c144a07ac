//! What hookgate writes to stdout, for people and for log pipelines.
//!
//! - **Format.** `[log] format`: `json` (one object per line, for
//!   collectors), `text` (human-readable lines, coloured on a terminal), or
//!   `auto` (the default): text when stdout is a terminal, JSON otherwise.
//! - **Level.** `HOOKGATE_LOG` (an `EnvFilter` spec, default `info`). The
//!   access log is the info event of target `hookgate::access`.
//! - **pingora's chatter** (start-up, per-connection) is shown at `debug`
//!   only: unless `HOOKGATE_LOG` asks for debug or names a `pingora` target,
//!   pingora events below `warn` are left out.
//! - **No dumps, whatever the level.** pingora's trace events, and its debug
//!   events from the HTTP codec, print request and response headers and
//!   bodies (tokens, Basic credentials, signatures) verbatim: they never
//!   reach the log.
//! - **Cheap.** Lines go through a bounded buffer emptied by one writer
//!   thread ([`sink`]); the JSON is written field by field ([`json`]). The
//!   filter's level is also what `log` records from pingora are checked
//!   against before they are even built.

pub mod json;
pub mod sink;

use serde::Deserialize;
use sink::{LineWriter, Sink};
use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};
use tracing::level_filters::LevelFilter;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The environment variable holding the filter spec.
pub const ENV: &str = "HOOKGATE_LOG";
/// The filter when `HOOKGATE_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info";
/// The access log's target: buffered, and dropped (and counted) when full.
pub const ACCESS_TARGET: &str = "hookgate::access";

/// `[log] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    #[default]
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

impl LogFormat {
    /// The format used when stdout is (or is not) a terminal.
    pub fn resolve(self, terminal: bool) -> Resolved {
        match (self, terminal) {
            (LogFormat::Json, _) | (LogFormat::Auto, false) => Resolved::Json,
            (LogFormat::Text, _) | (LogFormat::Auto, true) => Resolved::Text { ansi: terminal },
        }
    }
}

/// The format in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// [`json::JsonLines`].
    Json,
    /// `tracing-subscriber`'s full text format; coloured when `ansi`.
    Text {
        /// Colour escapes (stdout is a terminal).
        ansi: bool,
    },
}

static SINK: OnceLock<Arc<Sink>> = OnceLock::new();

/// Install the global subscriber writing to stdout in `format`; access-log
/// lines the buffer cannot take are counted in `dropped`.
pub fn init(format: LogFormat, dropped: prometheus::IntCounter) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let resolved = format.resolve(stdout.is_terminal());
    let sink = SINK.get_or_init(|| Sink::new(dropped, sink::CAPACITY));
    sink.spawn(Box::new(stdout))?;
    let writer = MakeLine(sink.clone());
    let policy = Policy::from_env();
    let layer = match resolved {
        Resolved::Json => tracing_subscriber::fmt::layer()
            .event_format(json::JsonLines)
            .with_writer(writer)
            .with_filter(policy)
            .boxed(),
        Resolved::Text { ansi } => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .with_filter(policy)
            .boxed(),
    };
    tracing_subscriber::registry().with(layer).init();
    Ok(())
}

/// Write everything buffered, and every later line at once: call before the
/// process exits, so the last lines are not lost.
pub fn flush_for_exit() {
    if let Some(sink) = SINK.get() {
        sink.write_through();
    }
}

/// Hands the formatter a writer into the sink, urgent for all but the access log.
struct MakeLine(Arc<Sink>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for MakeLine {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: &self.0,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            sink: &self.0,
            urgent: meta.target() != ACCESS_TARGET,
        }
    }
}

/// `HOOKGATE_LOG`, plus the two rules that hold whatever it says (see the
/// module docs). Its level hint is the env filter's, so disabled events,
/// `log` records included, are skipped at their call site.
pub struct Policy {
    env: EnvFilter,
    /// pingora below `warn` is left out.
    quiet_pingora: bool,
}

impl Policy {
    /// From `HOOKGATE_LOG`, or [`DEFAULT_FILTER`].
    pub fn from_env() -> Self {
        let spec = std::env::var(ENV).ok();
        Policy::new(spec.as_deref())
    }

    /// From a filter spec (`None` or an invalid spec: [`DEFAULT_FILTER`]).
    pub fn new(spec: Option<&str>) -> Self {
        let (env, spec) = match spec.map(|s| (EnvFilter::try_new(s), s)) {
            Some((Ok(env), spec)) => (env, spec),
            _ => (EnvFilter::new(DEFAULT_FILTER), DEFAULT_FILTER),
        };
        let verbose = env
            .max_level_hint()
            .is_some_and(|l| l >= LevelFilter::DEBUG);
        Policy {
            env,
            quiet_pingora: !verbose && !spec.contains("pingora"),
        }
    }

    /// The rules that hold whatever the spec says.
    fn admits(&self, level: tracing::Level, target: &str) -> bool {
        if !target.starts_with("pingora") {
            return true;
        }
        let dump = level == tracing::Level::TRACE
            || (level == tracing::Level::DEBUG
                && target.starts_with("pingora_core::protocols::http"));
        let noise = self.quiet_pingora && level > tracing::Level::WARN;
        !dump && !noise
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Filter<S> for Policy {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.admits(*meta.level(), meta.target()) && Filter::<S>::enabled(&self.env, meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        if self.admits(*meta.level(), meta.target()) {
            Filter::<S>::callsite_enabled(&self.env, meta)
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.env)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        cx: Context<'_, S>,
    ) {
        Filter::<S>::on_new_span(&self.env, attrs, id, cx);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        cx: Context<'_, S>,
    ) {
        Filter::<S>::on_record(&self.env, id, values, cx);
    }

    fn on_enter(&self, id: &tracing::span::Id, cx: Context<'_, S>) {
        Filter::<S>::on_enter(&self.env, id, cx);
    }

    fn on_exit(&self, id: &tracing::span::Id, cx: Context<'_, S>) {
        Filter::<S>::on_exit(&self.env, id, cx);
    }

    fn on_close(&self, id: tracing::span::Id, cx: Context<'_, S>) {
        Filter::<S>::on_close(&self.env, id, cx);
    }
}

#[cfg(test)]
mod tests;
