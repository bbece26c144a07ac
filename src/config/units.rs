//! Human-friendly sizes and durations for the TOML file.
//!
//! Ops write `"5MiB"` and `"30s"`; scripts write plain numbers (bytes,
//! seconds). Both deserialize into the same validated types so nothing at run
//! time handles a raw string.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// A byte count: an integer, or a string like `"512"`, `"64KiB"`, `"5MiB"`, `"1GB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// A duration: an integer number of seconds, or a string like `"250ms"`, `"30s"`, `"5m"`, `"72h"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

/// Parse `"5MiB"`-style sizes. Binary (KiB, MiB, GiB) and decimal (KB, MB, GB) units.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: u64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected e.g. \"64KiB\" or \"5MiB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    num.checked_mul(mult)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// Parse `"30s"`-style durations with humantime (`ms`, `s`, `m`, `h`, `d`, combinations).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration {s:?}: {e} (use e.g. \"500ms\", \"30s\", \"5m\")"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte count (integer) or a size string like \"5MiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("size must not be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_size(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("seconds (integer) or a duration string like \"30s\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom("duration must not be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
            write!(f, "{}GiB", b >> 30)
        } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
            write!(f, "{}MiB", b >> 20)
        } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
            write!(f, "{}KiB", b >> 10)
        } else {
            write!(f, "{b}B")
        }
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.show())
    }
}

/// The inclusive range a key's value must fall in, enforced at load.
///
/// Every duration and size has one: values outside it are refused with the
/// key, the line and the range, so nothing downstream can overflow (a
/// `Duration` added to an `Instant`, doubled, or turned into milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds<T> {
    /// Smallest accepted value.
    pub min: T,
    /// Largest accepted value.
    pub max: T,
}

/// How a bounded value is written back in messages: the same notation as the file.
pub trait Show: Copy + PartialOrd {
    /// The value as ops would write it.
    fn show(&self) -> String;
}

impl Show for Duration {
    /// In the largest whole unit (`"30d"`, `"5m"`, `"250ms"`), which humantime
    /// parses back; humantime's own format uses 30.44-day months.
    fn show(&self) -> String {
        let (secs, nanos) = (self.as_secs(), self.subsec_nanos());
        if nanos == 0 {
            for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
                if secs >= size && secs % size == 0 {
                    return format!("{}{unit}", secs / size);
                }
            }
            return format!("{secs}s");
        }
        if nanos % 1_000_000 == 0 {
            return format!("{}ms", self.as_millis());
        }
        humantime::format_duration(*self).to_string()
    }
}

impl Show for ByteSize {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Show for usize {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Show for u32 {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl<T: Show> Bounds<T> {
    /// `min..=max`.
    pub const fn new(min: T, max: T) -> Self {
        Bounds { min, max }
    }

    /// `v` when inside the range; otherwise a message giving the range.
    pub fn check(&self, v: T) -> Result<T, String> {
        if v < self.min || v > self.max {
            Err(format!(
                "{} is out of range: use {}",
                v.show(),
                self.describe()
            ))
        } else {
            Ok(v)
        }
    }

    /// `"1s to 1h"`: the range as documented in conf/hookgate.toml.
    pub fn describe(&self) -> String {
        format!("{} to {}", self.min.show(), self.max.show())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5MiB").unwrap(), 5 << 20);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert_eq!(parse_size("1_000").unwrap(), 1000);
        assert_eq!(parse_size("2MB").unwrap(), 2_000_000);
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn bounds_name_the_range_in_the_files_notation() {
        let b = Bounds::new(Duration::from_millis(100), Duration::from_secs(3600));
        assert_eq!(b.describe(), "100ms to 1h");
        assert!(b.check(Duration::from_secs(30)).is_ok());
        assert_eq!(
            b.check(Duration::from_secs(7200)).unwrap_err(),
            "2h is out of range: use 100ms to 1h"
        );
        let huge = parse_duration("300000000000y").unwrap_or(Duration::MAX);
        assert!(b.check(huge).is_err());
        assert_eq!(Duration::from_secs(90).show(), "90s");
        assert_eq!(Duration::from_secs(30 * 86_400).show(), "30d");
        assert_eq!(
            Bounds::new(ByteSize(1), ByteSize(1 << 30)).describe(),
            "1B to 1GiB"
        );
    }

    #[test]
    fn deserialize_both_forms() {
        #[derive(Deserialize)]
        struct T {
            a: ByteSize,
            b: ByteSize,
            c: Dur,
            d: Dur,
        }
        let t: T = toml::from_str("a = 1024\nb = \"1MiB\"\nc = 5\nd = \"2m\"").unwrap();
        assert_eq!(t.a, ByteSize(1024));
        assert_eq!(t.b, ByteSize(1 << 20));
        assert_eq!(t.c, Dur(Duration::from_secs(5)));
        assert_eq!(t.d, Dur(Duration::from_secs(120)));
    }
}
