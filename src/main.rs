//! The `hookgate` binary: parse the command line, load config, run.

use clap::Parser;
use hookgate::cli::{Cli, Command};
use std::process::ExitCode;

/// `EX_USAGE`/`EX_CONFIG`-style exit for a bad config, as linkerd does.
const EXIT_CONFIG: u8 = 78;

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
    /// glibc's initial value, kept instead of raised.
    const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
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
            let metrics = match hookgate::metrics::Metrics::new() {
                Ok(m) => std::sync::Arc::new(m),
                Err(e) => {
                    eprintln!("hookgate: cannot start: {e}");
                    return ExitCode::from(1);
                }
            };
            let cfg = match hookgate::config::load_metered(&config, &metrics) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            if let Err(e) =
                hookgate::logging::init(cfg.log.format, metrics.log_lines_dropped.clone())
            {
                eprintln!("hookgate: cannot start the log writer: {e}");
                return ExitCode::from(1);
            }
            let built = match hookgate::server::build(cfg, metrics, upgrade) {
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
