//! Identifiers that must be unique and unguessable, made without a system
//! call each: request ids (logs, `X-Request-Id`) and replay reservation
//! tokens.
//!
//! They come from `rand`'s thread-local generator: ChaCha12, a
//! cryptographically secure stream cipher, seeded from the operating system
//! once per thread and reseeded from it after every 64 KiB of output (one
//! `getrandom` per ~4,000 ids instead of one per id, as `Uuid::new_v4` does).
//! A request id carries 122 random bits: two ids collide with probability
//! about n²/2¹²³, nothing in practice, and knowing past ids does not help
//! predict the next one, so an id can be trusted for log correlation and
//! cannot be forged to match someone else's request.

use rand::Rng;

/// A random (version 4) UUID, hyphenated, lower case: 36 bytes.
pub fn request_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid.hyphenated().encode_lower(&mut buf).to_owned()
}

/// 128 random bits, for a reservation only its holder may release.
pub fn token() -> u128 {
    rand::thread_rng().gen()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn request_ids_are_uuid_v4_and_unique_across_threads() {
        let per_thread = 50_000;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    (0..per_thread).map(|_| request_id()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                let parsed = uuid::Uuid::parse_str(&id).unwrap();
                assert_eq!(parsed.get_version_num(), 4, "{id}");
                assert_eq!(id, parsed.hyphenated().to_string(), "lower-case hyphenated");
                assert!(seen.insert(id), "duplicate request id");
            }
        }
        assert_eq!(seen.len(), 4 * per_thread);
    }

    #[test]
    fn tokens_differ() {
        let tokens: HashSet<u128> = (0..10_000).map(|_| token()).collect();
        assert_eq!(tokens.len(), 10_000);
    }
}
