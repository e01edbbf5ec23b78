//! The socket as the connection sees it: it holds the connection's slot (so a device stream,
//! which keeps the socket after hyper lets go of it, keeps its slot too), tells `Activity`
//! when bytes arrive, and fails a write the peer has not taken a byte of for the stall
//! timeout, so a client that stops reading cannot hold a slot either.

use super::slots::Activity;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{sleep, Sleep};

pub(super) struct Socket {
    stream: TcpStream,
    activity: Arc<Activity>,
    stall: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Socket {
    pub(super) fn new(
        stream: TcpStream,
        activity: Arc<Activity>,
        stall: Duration,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        metrics::gauge!("kassa_http_connections").increment(1);
        Self {
            stream,
            activity,
            stall,
            stalled: None,
            permit: Some(permit),
        }
    }

    /// A write that could not go on: pending until the peer has taken nothing for `stall`.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let stall = self.stall;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::counter!("kassa_http_connections_closed_total", "reason" => "write_timeout")
                    .increment(1);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer took no bytes for the write timeout",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.stalled(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        metrics::gauge!("kassa_http_connections").decrement(1);
        if let Some(permit) = self.permit.take() {
            self.activity.bequeath(permit);
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, data);
        this.wrote(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
