//! `[limits]`: what one client can make hookgate hold or wait for.

use super::bounded;
use super::defaults::*;
use super::error::Collector;
use super::file::FileLimits;
use super::runtime::Limits;
use super::units::ByteSize;

/// Validate `[limits]`. Also returns the default route body limit.
pub fn validate(c: &mut Collector, f: &FileLimits) -> (Limits, u64) {
    let size = |c: &mut Collector, key, v, default, b| {
        bounded(c, key, v, |s: &ByteSize| *s, ByteSize(default), b).0
    };
    let max_header_bytes = size(
        c,
        "limits.max_header_bytes",
        f.max_header_bytes.as_ref(),
        DEFAULT_MAX_HEADER_BYTES,
        MAX_HEADER_BYTES,
    );
    let max_buffered_bytes = size(
        c,
        "limits.max_buffered_bytes",
        f.max_buffered_bytes.as_ref(),
        DEFAULT_MAX_BUFFERED_BYTES,
        MAX_BUFFERED_BYTES,
    );
    let max_body_bytes = size(
        c,
        "limits.max_body_bytes",
        f.max_body_bytes.as_ref(),
        DEFAULT_MAX_BODY,
        MAX_BODY,
    );
    if let Some(b) = &f.max_body_bytes {
        check_body_fits(c, "limits.max_body_bytes", b, max_buffered_bytes);
    }
    let dur = |c: &mut Collector, key, v: Option<&toml::Spanned<super::units::Dur>>, default, b| {
        bounded(c, key, v, |d| d.0, default, b)
    };
    let limits = Limits {
        // Bounded to 1MiB above, so this cannot truncate.
        max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
        max_headers: bounded(
            c,
            "limits.max_headers",
            f.max_headers.as_ref(),
            |n| *n,
            DEFAULT_MAX_HEADERS,
            MAX_HEADERS,
        ),
        header_timeout: dur(
            c,
            "limits.header_timeout",
            f.header_timeout.as_ref(),
            DEFAULT_HEADER_TIMEOUT,
            HEADER_TIMEOUT,
        ),
        request_timeout: dur(
            c,
            "limits.request_timeout",
            f.request_timeout.as_ref(),
            DEFAULT_REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ),
        read_timeout: dur(
            c,
            "limits.read_timeout",
            f.read_timeout.as_ref(),
            DEFAULT_READ_TIMEOUT,
            READ_TIMEOUT,
        ),
        auth_failure_delay: dur(
            c,
            "limits.auth_failure_delay",
            f.auth_failure_delay.as_ref(),
            DEFAULT_AUTH_FAILURE_DELAY,
            AUTH_FAILURE_DELAY,
        ),
        max_buffered_bytes,
    };
    (limits, max_body_bytes)
}

/// A body limit above the global buffer budget could never be met: every
/// such request would wait for budget that cannot exist.
pub fn check_body_fits(
    c: &mut Collector,
    key: &str,
    body: &toml::Spanned<ByteSize>,
    max_buffered_bytes: u64,
) {
    if body.get_ref().0 > max_buffered_bytes {
        c.push(
            key,
            format!(
                "{} is more than [limits] max_buffered_bytes ({}), so no such body could ever be buffered",
                body.get_ref(),
                ByteSize(max_buffered_bytes)
            ),
            Some(body.span()),
        );
    }
}
