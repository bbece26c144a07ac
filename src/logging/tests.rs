use super::*;
use std::sync::Mutex;
use tracing::Level;

#[test]
fn auto_is_text_on_a_terminal_and_json_otherwise() {
    assert_eq!(LogFormat::Auto.resolve(true), Resolved::Text { ansi: true });
    assert_eq!(LogFormat::Auto.resolve(false), Resolved::Json);
    assert_eq!(LogFormat::Json.resolve(true), Resolved::Json);
    assert_eq!(
        LogFormat::Text.resolve(false),
        Resolved::Text { ansi: false }
    );
}

fn admitted(policy: &Policy, level: Level, target: &str) -> bool {
    policy.admits(level, target)
}

#[test]
fn pingora_chatter_is_shown_at_debug_and_its_dumps_never() {
    let default = Policy::new(None);
    assert!(!admitted(&default, Level::INFO, "pingora_core::server"));
    assert!(admitted(&default, Level::WARN, "pingora_core::server"));
    assert!(admitted(&default, Level::INFO, "hookgate::access"));

    let debug = Policy::new(Some("debug"));
    assert!(admitted(&debug, Level::INFO, "pingora_core::server"));
    assert!(admitted(&debug, Level::DEBUG, "pingora_core::listeners"));
    let named = Policy::new(Some("info,pingora_core=info"));
    assert!(admitted(&named, Level::INFO, "pingora_core::server"));

    // Whatever the spec: no trace, no codec debug from pingora.
    let all = Policy::new(Some("trace"));
    assert!(!admitted(&all, Level::TRACE, "pingora_core::server"));
    assert!(!admitted(
        &all,
        Level::DEBUG,
        "pingora_core::protocols::http::v1::server"
    ));
    assert!(admitted(&all, Level::TRACE, "hookgate::proxy"));
}

#[test]
fn the_level_hint_is_the_filters_so_disabled_records_are_skipped_early() {
    let hint = |spec| Filter::<tracing_subscriber::Registry>::max_level_hint(&Policy::new(spec));
    assert_eq!(hint(None), Some(LevelFilter::INFO));
    assert_eq!(hint(Some("warn")), Some(LevelFilter::WARN));
    assert_eq!(hint(Some("not a [valid spec")), Some(LevelFilter::INFO));
}

/// Captures what the formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn json_lines_have_the_fields_at_top_level_and_leave_log_paths_out() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .event_format(json::JsonLines)
            .with_writer(move || writer.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            target: "hookgate::access",
            route = %"gh",
            status = 200u16,
            duration_ms = 1.5,
            ok = true,
            detail = "quote \" and\nnewline",
            log.file = "/root/.cargo/registry/src/x.rs",
            "request"
        );
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(v["target"], "hookgate::access");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["message"], "request");
    assert_eq!(v["route"], "gh");
    assert_eq!(v["status"], 200);
    assert_eq!(v["duration_ms"], 1.5);
    assert_eq!(v["ok"], true);
    assert_eq!(v["detail"], "quote \" and\nnewline");
    assert!(v.get("log.file").is_none(), "{text}");
    let ts = v["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
}
