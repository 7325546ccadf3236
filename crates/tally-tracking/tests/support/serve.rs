//! Serving a tracker on a free local port for the end-to-end tests.

use std::net::SocketAddr;

use tally_tracking::http::{Tracker, TrackerConfig, router};
use tally_tracking::server::serve_router;

/// Serves `tracker` on 127.0.0.1 (a free port) as `tally-tracker serve`
/// does, until the returned sender is dropped.
pub(crate) async fn serve(
    tracker: Tracker,
) -> anyhow::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let timeouts = TrackerConfig::default().connection_timeouts();
    tokio::spawn(serve_router(listener, router(tracker), timeouts, async {
        let _ = rx.await;
    }));
    Ok((addr, tx))
}
