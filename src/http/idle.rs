//! A connection that closes itself after a spell of silence in both directions (the idle
//! timeout): hyper bounds the time to read a request's head, not the wait between requests.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Wraps a stream; reads fail with `TimedOut` once nothing moved for `timeout`.
///
/// Activity only records the time; the timer is moved when it fires early, so a busy
/// connection costs no timer operation per read or write.
pub struct IdleIo<S> {
    inner: S,
    timeout: Duration,
    last: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, timeout: Duration) -> IdleIo<S> {
        IdleIo { inner, timeout, last: Instant::now(), deadline: Box::pin(tokio::time::sleep(timeout)) }
    }

    fn touched(&mut self) {
        self.last = Instant::now();
    }

    /// Whether the connection has been idle for the whole timeout (re-arming the timer if not).
    fn expired(&mut self, context: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(context).is_pending() {
                return false;
            }
            let due = self.last + self.timeout;
            if due <= Instant::now() {
                return true;
            }
            self.deadline.as_mut().reset(due);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, context: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(context, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.touched();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(context) => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, context: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(context, data);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            self.touched();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}
