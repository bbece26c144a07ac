//! Configuration: TOML file → `File*` serde types → validated runtime types.

pub mod units;
