//! Serving a router over HTTP/1.1 with an idle keep-alive timeout.
//!
//! `axum::serve` keeps an idle keep-alive connection open for as long as the
//! client does. Clients that never close theirs then never finish: Matomo's
//! Node.js SDK on Node 20 (keep-alive by default, response bodies left
//! unread) keeps its process alive until the server hangs up. Apache and
//! nginx in front of Matomo hang up after a few idle seconds
//! (`KeepAliveTimeout`, 5 s by default), so this server does the same.
//!
//! Two timers, as Apache's: a connection that has answered a request and
//! receives nothing more for [`ConnectionTimeouts::idle`] is closed
//! ([`IdleAfterResponse`]); a request head has [`ConnectionTimeouts::head`]
//! to arrive in full, counted from when the connection started waiting for
//! it (hyper's header-read timeout; Apache's `RequestReadTimeout header=20`),
//! so a slow client whose head takes longer than the idle time to arrive is
//! still served. A connection with a request running is never idle, even
//! when that request came right behind the one just answered (pipelined)
//! and so was read before the answer went out.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long a connection may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// After an answer, until the first byte of the next request.
    pub idle: Duration,
    /// For a whole request head, from when the connection starts waiting
    /// for it (the idle time after an answer included). Never shorter than
    /// `idle` in effect: the shorter of the two closes first.
    pub head: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish before returning. Each request carries
/// [`ConnectInfo`] with the peer's `SocketAddr`, as with axum's
/// `into_make_service_with_connect_info`. Connections are closed as
/// [`ConnectionTimeouts`] says.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    timeouts: ConnectionTimeouts,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.head);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // it was accepted: the listener itself is fine, so wait
                    // a moment (descriptors free up) and accept again.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let activity = Arc::new(Activity::default());
        let running = Arc::clone(&activity);
        let router = router.clone();
        let service = tower::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let running = Running::start(Arc::clone(&running));
            let answer = router.clone().oneshot(req);
            async move {
                let res = answer.await;
                drop(running);
                res
            }
        });
        let io = TokioIo::new(IdleAfterResponse::new(stream, timeouts.idle, activity));
        let connection =
            graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            // A client that hangs up mid-request or idles out is routine.
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, %peer, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A connection that ends (reads as closed) when nothing has come from the
/// client for `idle` after the server last wrote to it.
///
/// HTTP/1.1 without pipelining alternates: the client's request is read,
/// the answer written, then the client's next request read. So "written
/// last, nothing read since" is a connection between requests, and a
/// request being handled (read last) or arriving (read since the answer)
/// is never cut by this timer. hyper then sees the end of the stream where
/// it waits for a head, and closes the connection as if the client had.
///
/// Pipelining breaks the alternation: a request sent right behind another
/// may be read with it, before the first answer goes out, and then runs
/// while nothing is read. `activity` tells the requests running on the
/// connection and the answers finished, so that the timer neither runs
/// while a request does nor counts from before its answer.
pub struct IdleAfterResponse<S> {
    inner: S,
    idle: Duration,
    /// Whether the server wrote last: the timer runs.
    waiting: bool,
    /// Reset rather than replaced at each answer.
    deadline: Pin<Box<Sleep>>,
    activity: Arc<Activity>,
    /// `activity.answered` when the deadline was last set.
    answered: u64,
}

/// The requests of one connection, as its service sees them.
#[derive(Debug, Default)]
pub struct Activity {
    running: AtomicUsize,
    answered: AtomicU64,
}

/// One request running on a connection, from when the service takes it
/// until its answer is ready or it is dropped.
#[derive(Debug)]
struct Running(Arc<Activity>);

impl Running {
    /// Counts a request as running on the connection of `activity`.
    #[must_use]
    fn start(activity: Arc<Activity>) -> Self {
        activity.running.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.answered.fetch_add(1, Ordering::AcqRel);
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S> IdleAfterResponse<S> {
    /// `inner`, closed after `idle` without a request once answered;
    /// `activity` is shared with the connection's service, which counts
    /// the requests it runs.
    pub fn new(inner: S, idle: Duration, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            idle,
            waiting: false,
            deadline: Box::pin(tokio::time::sleep(idle)),
            activity,
            answered: 0,
        }
    }
}

impl<S> IdleAfterResponse<S> {
    /// Starts the idle timer once bytes of an answer went out.
    fn note_written(&mut self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            let deadline = Instant::now() + self.idle;
            self.deadline.as_mut().reset(deadline);
            self.waiting = true;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleAfterResponse<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.waiting = false;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if !self.waiting || self.activity.running.load(Ordering::Acquire) > 0 {
                    // Not idle: the socket's readiness wakes this read, and
                    // a running request's answer, once written, restarts
                    // the timer.
                    return Poll::Pending;
                }
                let answered = self.activity.answered.load(Ordering::Acquire);
                if answered != self.answered {
                    // An answer finished since the timer was set: idle
                    // counts from then, whether or not it is written yet.
                    self.answered = answered;
                    let deadline = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(deadline);
                }
                if self.deadline.as_mut().poll(cx).is_ready() {
                    // The end of the stream: nothing read.
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleAfterResponse<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        self.note_written(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_written(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn peer(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
        peer.to_string()
    }

    /// Answers after a second: longer than the idle times of these tests.
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(1)).await;
        "slow"
    }

    /// A server of `/peer` and `/slow` on a free port, stopped when the
    /// sender drops.
    async fn start(
        timeouts: ConnectionTimeouts,
    ) -> anyhow::Result<(
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_router(
            listener,
            Router::new()
                .route("/peer", get(peer))
                .route("/slow", get(slow)),
            timeouts,
            async {
                let _ = stopped.await;
            },
        ));
        Ok((addr, stop, server))
    }

    /// One keep-alive request on `stream`; the answer's body.
    async fn request(stream: &mut TcpStream) -> anyhow::Result<String> {
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nHost: t\r\n\r\n")
            .await?;
        answer(stream).await
    }

    /// The body of the answer `stream` receives next.
    async fn answer(stream: &mut TcpStream) -> anyhow::Result<String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        loop {
            let n = stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "closed before the answer: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .ok_or_else(|| anyhow::anyhow!("no length in {head}"))?
                    .parse()?;
                if body.len() >= length {
                    return Ok(body.to_owned());
                }
            }
        }
    }

    #[tokio::test]
    async fn idle_connections_are_closed_and_busy_ones_kept() -> anyhow::Result<()> {
        let (addr, stop, server) = start(ConnectionTimeouts {
            idle: Duration::from_secs(1),
            head: Duration::from_secs(10),
        })
        .await?;

        let mut stream = TcpStream::connect(addr).await?;
        let local = stream.local_addr()?.to_string();
        // The handler sees the peer, as with axum's connect info.
        assert_eq!(request(&mut stream).await?, local);
        // Well within the idle time, the same connection takes another.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(request(&mut stream).await?, local);

        // Then, idle, the server hangs up (EOF) after about a second.
        hung_up_when_idle(&mut stream, Duration::from_millis(900)).await?;

        // Shutting down returns once the connections are gone.
        let _open = TcpStream::connect(addr).await?;
        drop(stop);
        tokio::time::timeout(Duration::from_secs(10), server).await??;
        Ok(())
    }

    /// The server closes `stream` without sending anything more, no
    /// sooner than `at_least` from now.
    async fn hung_up_when_idle(stream: &mut TcpStream, at_least: Duration) -> anyhow::Result<()> {
        let (rest, idle) = closed_after(stream).await?;
        assert!(rest.is_empty(), "idle connection sent {rest:?}");
        assert!(idle >= at_least, "closed after {idle:?}");
        Ok(())
    }

    /// A request that came in the same packet as the one before it
    /// (pipelined) is answered even when it takes longer than the idle time
    /// after the first answer: the connection is not idle while it runs.
    #[tokio::test]
    async fn a_pipelined_request_longer_than_the_idle_time_is_answered() -> anyhow::Result<()> {
        let (addr, stop, server) = start(ConnectionTimeouts {
            idle: Duration::from_millis(300),
            head: Duration::from_secs(10),
        })
        .await?;
        let mut stream = TcpStream::connect(addr).await?;
        let local = stream.local_addr()?.to_string();
        stream
            .write_all(
                b"GET /peer HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\n",
            )
            .await?;
        assert_eq!(answer(&mut stream).await?, local);
        assert_eq!(answer(&mut stream).await?, "slow");
        // Then idle: closed an idle time after that answer.
        hung_up_when_idle(&mut stream, Duration::from_millis(250)).await?;
        drop(stop);
        tokio::time::timeout(Duration::from_secs(10), server).await??;
        Ok(())
    }

    /// What the server sends on `stream` until it closes it, and how long
    /// that took (an error past 10 s).
    async fn closed_after(stream: &mut TcpStream) -> anyhow::Result<(Vec<u8>, Duration)> {
        let since = Instant::now();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await??;
        Ok((rest, since.elapsed()))
    }

    /// A head that takes longer than the idle time to arrive is served, on
    /// a new connection and on a kept-alive one; the head timeout, not the
    /// idle one, closes a connection whose head never completes or that
    /// never sends anything.
    #[tokio::test]
    async fn slow_heads_get_the_head_timeout_not_the_idle_one() -> anyhow::Result<()> {
        let (addr, stop, server) = start(ConnectionTimeouts {
            idle: Duration::from_millis(600),
            head: Duration::from_secs(3),
        })
        .await?;
        let pause = Duration::from_millis(900);

        let mut stream = TcpStream::connect(addr).await?;
        let local = stream.local_addr()?.to_string();
        stream.write_all(b"GET /peer HTTP/1.1\r\n").await?;
        tokio::time::sleep(pause).await;
        stream.write_all(b"Host: t\r\n").await?;
        tokio::time::sleep(pause).await;
        stream.write_all(b"\r\n").await?;
        assert_eq!(answer(&mut stream).await?, local);

        // Kept alive: the next head starts within the idle time, then
        // takes longer than it.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.write_all(b"GET /peer HTTP/1.1\r\n").await?;
        tokio::time::sleep(pause).await;
        stream.write_all(b"Host: t\r\n\r\n").await?;
        assert_eq!(answer(&mut stream).await?, local);
        // Then idle: closed after the idle time.
        let (_, idle) = closed_after(&mut stream).await?;
        assert!(idle < Duration::from_millis(2500), "{idle:?}");

        // A head that never completes, and a connection that sends
        // nothing: closed at the head timeout.
        let mut partial = TcpStream::connect(addr).await?;
        partial.write_all(b"GET /peer HTTP/1.1\r\n").await?;
        let mut silent = TcpStream::connect(addr).await?;
        let (a, b) = tokio::join!(closed_after(&mut partial), closed_after(&mut silent));
        for (_, waited) in [a?, b?] {
            assert!(waited >= Duration::from_millis(2500), "{waited:?}");
        }

        drop(stop);
        tokio::time::timeout(Duration::from_secs(10), server).await??;
        Ok(())
    }
}
