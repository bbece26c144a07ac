//! The `[route.verify]` call-site: bound the tolerance, build the verifier,
//! and map its errors to the key and line they are about.

use super::defaults::TOLERANCE;
use super::error::{Collector, Seg};
use crate::verify::{FileVerify, Verifier};
use std::path::Path;

/// Build route `name`'s verifier (`key` is how errors name the route; `index`
/// is its position among `[[route]]` tables, to find lines of keys the
/// verifier reports).
pub fn validate(
    c: &mut Collector,
    name: &str,
    key: &str,
    index: usize,
    v: &FileVerify,
    base_dir: &Path,
) -> Option<Verifier> {
    let at = |c: &Collector, field: &str| {
        c.span_of(&[
            Seg::Key("route"),
            Seg::Index(index),
            Seg::Key("verify"),
            Seg::Key(field),
        ])
        .or_else(|| Some(v.scheme.span()))
    };
    if let Some(t) = v.tolerance {
        if let Err(m) = TOLERANCE.check(t.0) {
            let span = at(c, "tolerance");
            c.push(format!("{key}.verify.tolerance"), m, span);
            return None;
        }
    }
    match Verifier::from_file(v, base_dir, name) {
        Ok(verifier) => Some(verifier),
        Err(e) => {
            // `verify.secrets[1]` → the second secret's span; `verify.x` → x's line.
            let secret = e
                .key
                .strip_prefix("verify.secrets[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| v.secrets.get(i))
                .map(|s| s.span());
            let field = e.key.strip_prefix("verify.").unwrap_or(&e.key);
            let span = secret.or_else(|| at(c, field.split(['.', '[']).next().unwrap_or(field)));
            c.push(format!("{key}.{}", e.key), e.message, span);
            None
        }
    }
}
