//! A transport wrapper that counts the bytes read through it and can cap them.
//!
//! Client side: pingora reads up to 1 MiB of request header before any
//! application limit applies. With the cap set to `[limits] max_header_bytes`
//! while a header is being read, the parser never gets more than that, and
//! the count tells an idle keep-alive connection from one whose client
//! started a request (no `getsockopt` per request).
//!
//! Upstream side: the count tells whether any byte of a response arrived
//! before a pooled connection failed, which decides whether a retry on a
//! fresh connection is safe.

use async_trait::async_trait;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::TlsRef;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Shared counters of a [`Metered`] stream.
#[derive(Debug)]
pub struct Meter {
    read: AtomicU64,
    /// Most bytes that may be read since the last [`Meter::start`]; `u64::MAX` for none.
    cap: AtomicU64,
    exceeded: AtomicBool,
}

impl Default for Meter {
    fn default() -> Self {
        Meter {
            read: AtomicU64::new(0),
            cap: AtomicU64::new(u64::MAX),
            exceeded: AtomicBool::new(false),
        }
    }
}

impl Meter {
    /// Start counting afresh from `already` bytes (read earlier, e.g. a
    /// pipelined prefix), reading at most `cap` bytes in all.
    pub fn start(&self, already: u64, cap: Option<u64>) {
        self.read.store(already, Ordering::Relaxed);
        self.cap.store(cap.unwrap_or(u64::MAX), Ordering::Relaxed);
        self.exceeded.store(false, Ordering::Relaxed);
    }

    /// Lift the cap, keep counting.
    pub fn uncap(&self) {
        self.cap.store(u64::MAX, Ordering::Relaxed);
    }

    /// Bytes read since the last start.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// A read was refused because the cap was reached.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }
}

/// A stream whose reads are counted (and possibly capped) by a [`Meter`].
#[derive(Debug)]
pub struct Metered {
    inner: Stream,
    meter: Arc<Meter>,
}

impl Metered {
    /// Wrap `inner`; the returned meter observes it.
    pub fn new(inner: Stream) -> (Self, Arc<Meter>) {
        let meter = Arc::new(Meter::default());
        (
            Metered {
                inner,
                meter: meter.clone(),
            },
            meter,
        )
    }

    /// The meter of a stream this module wrapped, if it is one.
    pub fn meter_of(stream: &Stream) -> Option<Arc<Meter>> {
        stream
            .as_any()
            .downcast_ref::<Metered>()
            .map(|m| m.meter.clone())
    }
}

impl AsyncRead for Metered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let cap = me.meter.cap.load(Ordering::Relaxed);
        let read = me.meter.read.load(Ordering::Relaxed);
        let allowed = usize::try_from(cap.saturating_sub(read)).unwrap_or(usize::MAX);
        if allowed == 0 && buf.remaining() > 0 {
            me.meter.exceeded.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "read limit reached",
            )));
        }
        let got = if allowed >= buf.remaining() {
            let before = buf.filled().len();
            match Pin::new(&mut me.inner).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => buf.filled().len() - before,
                other => return other,
            }
        } else {
            let mut limited = ReadBuf::new(buf.initialize_unfilled_to(allowed));
            match Pin::new(&mut me.inner).poll_read(cx, &mut limited) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            let got = limited.filled().len();
            buf.advance(got);
            got
        };
        me.meter.read.fetch_add(got as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for Metered {
    async fn shutdown(&mut self) {
        self.inner.shutdown().await
    }
}

impl UniqueID for Metered {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Metered {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<pingora::protocols::tls::SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for Metered {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> std::time::Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> std::time::Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for Metered {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for Metered {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for Metered {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_are_counted_and_capped() {
        let (client, server) = tokio::net::UnixStream::pair().unwrap();
        let l4: pingora::protocols::l4::stream::Stream = server.into();
        let (mut s, meter) = Metered::new(Box::new(l4));
        let mut client = client;
        client.write_all(&[7u8; 100]).await.unwrap();
        meter.start(10, Some(50));
        let mut buf = vec![0u8; 100];
        let mut got = 0;
        while got < 40 {
            got += s.read(&mut buf[got..]).await.unwrap();
        }
        assert_eq!((got, meter.read()), (40, 50));
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(meter.exceeded());
        meter.uncap();
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!((n, meter.read()), (60, 110));
        assert!(Metered::meter_of(&(Box::new(s) as Stream)).is_some());
    }
}
