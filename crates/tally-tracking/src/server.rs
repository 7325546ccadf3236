//! Serving a router over HTTP/1.1 with an idle keep-alive timeout.
//!
//! `axum::serve` keeps an idle keep-alive connection open for as long as the
//! client does. Clients that never close theirs then never finish: Matomo's
//! Node.js SDK on Node 20 (keep-alive by default, response bodies left
//! unread) keeps its process alive until the server hangs up. Apache and
//! nginx in front of Matomo hang up after a few idle seconds
//! (`KeepAliveTimeout`, 5 s by default), so this server does the same,
//! through hyper's header-read timeout: the time a connection may wait for
//! the head of its next request, which is its idle time between requests.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish before returning. Each request carries
/// [`ConnectInfo`] with the peer's `SocketAddr`, as with axum's
/// `into_make_service_with_connect_info`. A connection that has sent no
/// new request head for `idle_timeout` is closed.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    idle_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
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
        let service = router.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
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

    /// One keep-alive request on `stream`; the answer's body.
    async fn request(stream: &mut TcpStream) -> anyhow::Result<String> {
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nHost: t\r\n\r\n")
            .await?;
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
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_router(
            listener,
            Router::new().route("/peer", get(peer)),
            Duration::from_secs(1),
            async {
                let _ = stopped.await;
            },
        ));

        let mut stream = TcpStream::connect(addr).await?;
        let local = stream.local_addr()?.to_string();
        // The handler sees the peer, as with axum's connect info.
        assert_eq!(request(&mut stream).await?, local);
        // Well within the idle time, the same connection takes another.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(request(&mut stream).await?, local);

        // Then, idle, the server hangs up (EOF) after about a second.
        let idle_since = Instant::now();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest));
        let closed = read.await;
        assert!(
            matches!(closed, Ok(Ok(0))),
            "idle connection not closed: {closed:?}"
        );
        assert!(idle_since.elapsed() >= Duration::from_millis(900));

        // Shutting down returns once the connections are gone.
        let _open = TcpStream::connect(addr).await?;
        drop(stop);
        tokio::time::timeout(Duration::from_secs(10), server).await??;
        Ok(())
    }
}
