//! Memory the in-process replay store holds per live key (issue 10, target 5:
//! at most 100 bytes per key at 1,000,000 keys).
//!
//! Measured as the growth of this process's resident set while the store
//! takes N committed keys shaped like hookgate's own (`<route>:id:<GitHub
//! delivery id>`), divided by N: allocator overhead and fragmentation count,
//! because they are what an operator pays for. Keys are made one at a time
//! and dropped after use, so only the store's copies are resident.
//!
//! ```text
//! replay_rss [keys=1000000]
//! keys=1000000 rss_before=... rss_after=... bytes_per_key=...
//! ```

use hookgate::replay::memory::MemoryStore;
use hookgate::replay::{ReplayStore, ReserveOutcome};
use std::time::Duration;

/// Long enough that no key expires (and is swept) during the measurement.
const RETAIN: Duration = Duration::from_secs(3600);
const DEFAULT_KEYS: usize = 1_000_000;

/// Resident set size in bytes, from the `VmRSS` line of `/proc/self/status`.
fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .ok_or_else(|| anyhow::anyhow!("/proc/self/status: no VmRSS line"))?
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// A key shaped like the one hookgate stores for a GitHub delivery id.
fn delivery_key(i: usize) -> String {
    format!(
        "github:id:{:08x}-cc78-11e3-81ab-{:012x}",
        i as u32,
        i as u64 * 7919
    )
}

fn main() -> anyhow::Result<()> {
    let keys = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => DEFAULT_KEYS,
    };
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let store = MemoryStore::new(keys + 1, None).map_err(anyhow::Error::msg)?;
    let before = rss_bytes()?;
    rt.block_on(async {
        for i in 0..keys {
            match store.reserve(&delivery_key(i), RETAIN).await? {
                ReserveOutcome::Reserved(r) => store.commit(&r, RETAIN).await?,
                other => anyhow::bail!("key {i}: expected a fresh reservation, got {other:?}"),
            }
        }
        Ok(())
    })?;
    let after = rss_bytes()?;
    let held = store.keys_held().unwrap_or(0);
    anyhow::ensure!(
        held == keys as u64,
        "store holds {held} keys, expected {keys}"
    );
    println!(
        "keys={keys} rss_before={before} rss_after={after} bytes_per_key={:.1}",
        after.saturating_sub(before) as f64 / keys as f64
    );
    Ok(())
}
