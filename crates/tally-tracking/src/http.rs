//! The HTTP face of the tracker: `/matomo.php` and `/piwik.php`.
//!
//! What is served today is the part of Matomo's protocol that needs no
//! recording: CORS preflight and the answer to an empty request (MATOMO.md
//! section 1.3). Requests carrying tracking parameters are answered `501`
//! until the recorder lands (tracker issue); they are never answered with
//! success without being stored.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::{Deserialize, Serialize};

use crate::TrackingError;

/// Matomo's answer to a request without parameters (and, with 400, to a
/// request where nothing could be processed).
pub const EMPTY_REQUEST_TEXT: &str = "This resource is part of Matomo. Keep full control of your data with the leading free and open source <a href='https://matomo.org' target='_blank' rel='noopener noreferrer nofollow'>web analytics & conversion optimisation platform</a>.<br>\nThis file is the endpoint for the Matomo tracking API. If you want to access the Matomo UI or use the Reporting API, please use <a href='index.php'>index.php</a> instead.\n";

/// The `[tracker]` section of the tracker's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// Address to listen on. Default: `127.0.0.1:8080`. Env: `TALLY_TRACKER_LISTEN`.
    pub listen: String,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
        }
    }
}

/// The tracking routes, ready to be served or merged into another router.
pub fn router() -> Router {
    Router::new()
        .route("/matomo.php", any(track))
        .route("/piwik.php", any(track))
}

/// Serves [`router`] on `config.listen` until `shutdown` resolves.
///
/// # Errors
/// [`TrackingError::Serve`] if the address cannot be bound.
pub async fn serve(
    config: &TrackerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TrackingError> {
    let serve_err = |source| TrackingError::Serve {
        addr: config.listen.clone(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(serve_err)?;
    let addr: SocketAddr = listener.local_addr().map_err(serve_err)?;
    tracing::info!(%addr, "tracker listening");
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(serve_err)
}

async fn track(
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    if method == Method::OPTIONS
        && (headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            || headers.contains_key(header::ACCESS_CONTROL_REQUEST_HEADERS))
    {
        return (
            StatusCode::NO_CONTENT,
            [
                (
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, POST"),
                ),
                (
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("*"),
                ),
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ),
            ],
        )
            .into_response();
    }
    let has_params = query.as_deref().is_some_and(|q| !q.is_empty()) || !body.is_empty();
    let (status, text) = match (has_params, method == Method::GET) {
        (false, true) => (StatusCode::OK, EMPTY_REQUEST_TEXT),
        (false, false) => (StatusCode::BAD_REQUEST, EMPTY_REQUEST_TEXT),
        (true, _) => (
            StatusCode::NOT_IMPLEMENTED,
            "Tally: recording tracking requests is not implemented in this build yet; nothing was stored.\n",
        ),
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        text,
    )
        .into_response();
    let headers = response.headers_mut();
    if method == Method::GET {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn send(req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let resp = router().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn empty_get_gets_matomos_text() {
        for path in ["/matomo.php", "/piwik.php"] {
            let (status, headers, body) =
                send(Request::get(path).body(Body::empty()).expect("request")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, EMPTY_REQUEST_TEXT);
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        }
    }

    #[tokio::test]
    async fn empty_post_is_a_400_with_cors() {
        let (status, headers, _) = send(
            Request::post("/matomo.php")
                .header(header::ORIGIN, "https://example.org")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://example.org"
        );
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    }

    #[tokio::test]
    async fn preflight_is_a_204() {
        let (status, headers, body) = send(
            Request::options("/matomo.php")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "GET, POST");
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn tracking_requests_are_not_answered_with_success_yet() {
        let (status, _, body) = send(
            Request::get("/matomo.php?idsite=1&rec=1&url=https%3A%2F%2Fexample.org%2F")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
        assert!(body.contains("nothing was stored"));
    }
}
