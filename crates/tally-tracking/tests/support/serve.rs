//! Serving a tracker on a free local port for the end-to-end tests.

use std::net::SocketAddr;

use tally_tracking::http::{Tracker, router};

/// Serves `tracker` on 127.0.0.1 (a free port) until the returned sender
/// is dropped.
pub(crate) async fn serve(
    tracker: Tracker,
) -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router(tracker).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    Ok((addr, tx))
}
