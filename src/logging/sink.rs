//! Log lines leave the request path through a bounded in-memory buffer that
//! one writer thread empties in batches.
//!
//! A request appends its access-log line under a short lock and returns: it
//! never waits for stdout (a slow pipe, a full disk, a stalled collector), and
//! it never wakes another thread. The writer thread wakes on its own every
//! [`FLUSH_EVERY`], or early when the buffer passes [`WAKE_AT`] bytes or an
//! urgent line (anything but the access log) arrives, and writes everything
//! pending with one `write`. When [`CAPACITY`] bytes are pending, further
//! access-log lines are dropped and counted (`hookgate_log_lines_dropped_total`)
//! instead of growing memory or stalling requests; urgent lines are kept.
//!
//! `tracing-appender`'s non-blocking writer was the obvious candidate, but it
//! hands every line to its worker through a channel that wakes the worker per
//! line: one futex wake-up per request, which is what this sink avoids.

use parking_lot::{Condvar, Mutex};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

/// Most bytes held for the writer; past it access-log lines are dropped.
pub const CAPACITY: usize = 4 << 20;
/// Pending bytes at which the writer is woken before its next tick.
pub const WAKE_AT: usize = 256 << 10;
/// How often the writer empties the buffer when nothing wakes it earlier.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// Where the writer thread puts the bytes.
pub type Output = Box<dyn Write + Send>;

/// The shared buffer; cloned into the subscriber and the writer thread.
pub struct Sink {
    state: Mutex<State>,
    /// Held while writing, so batches and flushes reach the output whole and
    /// in order. Lock order: `output`, then `state`.
    output: Mutex<Option<Output>>,
    wake: Condvar,
    dropped: prometheus::IntCounter,
    capacity: usize,
}

struct State {
    pending: Vec<u8>,
    /// Set by an urgent line or a full-enough buffer; cleared by the writer.
    wake: bool,
    /// After [`Sink::write_through`], lines go straight to the output.
    direct: bool,
}

impl Sink {
    /// A sink counting drops in `dropped`; start its writer with [`Sink::spawn`].
    pub fn new(dropped: prometheus::IntCounter, capacity: usize) -> Arc<Self> {
        Arc::new(Sink {
            state: Mutex::new(State {
                pending: Vec::with_capacity(WAKE_AT * 2),
                wake: false,
                direct: false,
            }),
            output: Mutex::new(None),
            wake: Condvar::new(),
            dropped,
            capacity,
        })
    }

    /// Start the writer thread writing to `output`.
    pub fn spawn(self: &Arc<Self>, output: Output) -> io::Result<()> {
        *self.output.lock() = Some(output);
        let sink = self.clone();
        std::thread::Builder::new()
            .name("hookgate-log".into())
            .spawn(move || sink.run())
            .map(|_| ())
    }

    /// Append one formatted line. `urgent` lines (start-up, warnings,
    /// errors) wake the writer and are never dropped; access-log lines wait
    /// for the next batch and are dropped when the buffer is full.
    pub fn push(&self, line: &[u8], urgent: bool) {
        let mut s = self.state.lock();
        if s.direct {
            drop(s);
            if let Some(out) = self.output.lock().as_mut() {
                let _ = out.write_all(line).and_then(|()| out.flush());
            }
            return;
        }
        if !urgent && s.pending.len() + line.len() > self.capacity {
            drop(s);
            self.dropped.inc();
            return;
        }
        s.pending.extend_from_slice(line);
        if (urgent || s.pending.len() >= WAKE_AT) && !s.wake {
            s.wake = true;
            self.wake.notify_one();
        }
    }

    /// Write whatever is pending now, from the calling thread.
    pub fn flush(&self) {
        self.write_pending(&mut Vec::new(), false);
    }

    /// Flush, then write every later line synchronously: the process is
    /// about to exit, and nothing written after this may be lost.
    pub fn write_through(&self) {
        self.write_pending(&mut Vec::new(), true);
    }

    /// Swap the pending bytes into `batch` and write them, holding the
    /// output so that nothing overtakes them.
    fn write_pending(&self, batch: &mut Vec<u8>, then_direct: bool) {
        let mut out = self.output.lock();
        {
            let mut s = self.state.lock();
            std::mem::swap(&mut s.pending, batch);
            s.direct |= then_direct;
        }
        if let Some(o) = out.as_mut() {
            if !batch.is_empty() {
                let _ = o.write_all(batch).and_then(|()| o.flush());
            }
        }
        batch.clear();
    }

    /// The writer thread: swap the buffer out under the lock, write it
    /// outside, so requests are never held up by the write itself.
    fn run(&self) {
        let mut batch = Vec::with_capacity(WAKE_AT * 2);
        loop {
            {
                let mut s = self.state.lock();
                if !s.wake {
                    self.wake.wait_for(&mut s, FLUSH_EVERY);
                }
                s.wake = false;
                if s.direct {
                    return;
                }
            }
            self.write_pending(&mut batch, false);
            // A batch that once grew large is not kept at that size.
            batch.shrink_to(WAKE_AT * 2);
        }
    }
}

/// The `io::Write` handed to the formatter for one event.
pub struct LineWriter<'a> {
    pub(super) sink: &'a Sink,
    pub(super) urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sink.push(buf, self.urgent);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// An output whose bytes the test can read, and that can be made to block.
    #[derive(Clone, Default)]
    struct Shared(Arc<StdMutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn counter() -> prometheus::IntCounter {
        prometheus::IntCounter::new("dropped", "test").unwrap()
    }

    fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn lines_reach_the_output_in_order_without_a_flush() {
        let out = Shared::default();
        let sink = Sink::new(counter(), CAPACITY);
        sink.spawn(Box::new(out.clone())).unwrap();
        for i in 0..100 {
            sink.push(format!("line {i}\n").as_bytes(), false);
        }
        sink.push(b"urgent\n", true);
        let want: String = (0..100).map(|i| format!("line {i}\n")).collect::<String>() + "urgent\n";
        eventually("lines written", || {
            out.0.lock().unwrap().as_slice() == want.as_bytes()
        });
    }

    #[test]
    fn a_stalled_output_drops_and_counts_access_lines_but_keeps_urgent_ones() {
        // No writer thread: nothing leaves the buffer, as with a blocked stdout.
        let dropped = counter();
        let sink = Sink::new(dropped.clone(), 100);
        for _ in 0..10 {
            sink.push(&[b'a'; 30], false);
        }
        assert_eq!(dropped.get(), 7, "3 lines of 30 fit in 100 bytes");
        sink.push(&[b'u'; 30], true);
        assert_eq!(dropped.get(), 7, "urgent lines are never dropped");
        let out = Shared::default();
        *sink.output.lock() = Some(Box::new(out.clone()));
        sink.flush();
        assert_eq!(out.0.lock().unwrap().len(), 120);
    }

    #[test]
    fn write_through_flushes_and_then_writes_synchronously() {
        let out = Shared::default();
        let sink = Sink::new(counter(), CAPACITY);
        *sink.output.lock() = Some(Box::new(out.clone()));
        sink.push(b"before\n", false);
        sink.write_through();
        assert_eq!(out.0.lock().unwrap().as_slice(), b"before\n");
        sink.push(b"after\n", false);
        assert_eq!(out.0.lock().unwrap().as_slice(), b"before\nafter\n");
    }
}
