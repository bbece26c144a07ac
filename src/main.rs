//! The `hookgate` binary: parse the command line, load config, run.

use clap::Parser;
use hookgate::cli::{Cli, Command};
use std::process::ExitCode;

/// `EX_USAGE`/`EX_CONFIG`-style exit for a bad config, as linkerd does.
const EXIT_CONFIG: u8 = 78;

/// JSON lines on stdout, filtered by `HOOKGATE_LOG` (default `info`).
///
/// Whatever `HOOKGATE_LOG` says, pingora's own trace events, and its debug
/// events from the HTTP codec, stay out: they dump request and response
/// headers and bodies (tokens, Basic credentials, signatures) verbatim.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOOKGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_dumps = tracing_subscriber::filter::filter_fn(|meta| !is_pingora_dump(meta));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_writer(std::io::stdout)
        .with_filter(filter)
        .with_filter(no_dumps);
    tracing_subscriber::registry().with(json).init();
}

/// pingora events that may carry message contents.
fn is_pingora_dump(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    target.starts_with("pingora")
        && (*meta.level() == tracing::Level::TRACE
            || (*meta.level() == tracing::Level::DEBUG
                && target.starts_with("pingora_core::protocols::http")))
}

/// Large allocations (a request body's buffer) always get their own mapping,
/// returned to the kernel when freed.
///
/// glibc otherwise raises its mmap threshold to the size of each mapped
/// buffer it frees (up to 32 MiB), so after a few bodies the next ones come
/// from its heaps, which keep freed memory resident and fragment: under a
/// flood of chunked bodies with fake signatures, whose buffers grow by
/// doubling, peak RSS reached 1.7 times `[limits] max_buffered_bytes`. With
/// the threshold fixed, resident memory follows the budget's count.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn map_large_allocations() {
    const MMAP_THRESHOLD: libc::c_int = 128 * 1024; // glibc's initial value
                                                    // SAFETY: mallopt only sets an allocator parameter; it is called before
                                                    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn map_large_allocations() {}

fn main() -> ExitCode {
    map_large_allocations();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match hookgate::config::load(&config) {
            Ok(cfg) => {
                print!("{}", hookgate::check::summary(&cfg));
                if let Some(w) = hookgate::check::redis_persistence(&cfg) {
                    println!("warning: {w}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::Sign {
            config,
            route,
            body,
            time,
            method,
            path,
            headers,
            format,
        } => {
            let result = hookgate::config::load(&config)
                .map_err(|e| e.to_string())
                .and_then(|cfg| {
                    let bytes = if body.as_os_str() == "-" {
                        let mut b = Vec::new();
                        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map(|_| b)
                    } else {
                        std::fs::read(&body)
                    }
                    .map_err(|e| format!("{}: {e}", body.display()))?;
                    hookgate::sign::sign(
                        &cfg,
                        &hookgate::sign::SignRequest {
                            route: &route,
                            body: &bytes,
                            time,
                            method: &method,
                            path: path.as_deref(),
                            headers: &headers,
                            format,
                            body_path: &body.display().to_string(),
                        },
                    )
                });
            match result {
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
        Command::Reload { config } => match hookgate::reload::request(&config) {
            Ok(msg) => {
                print!("{msg}");
                ExitCode::SUCCESS
            }
            Err(msg) => {
                eprint!("{msg}");
                ExitCode::from(1)
            }
        },
        Command::Certs { set: _, out } => match hookgate::certs::generate_dev(&out) {
            Ok(files) => {
                for f in files {
                    println!("{}", f.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        },
        Command::Echo { listen } => hookgate::echo::run(&listen),
        Command::Queue { command } => hookgate::queue::cli::run(command),
        Command::Run { config, upgrade } => {
            init_logging();
            let cfg = match hookgate::config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let built = match hookgate::server::build(cfg, upgrade) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("hookgate: cannot start: {e:#}");
                    return ExitCode::from(1);
                }
            };
            tracing::info!(config = %config.display(), version = env!("CARGO_PKG_VERSION"), "hookgate starting");
            built.server.run_forever()
        }
    }
}
