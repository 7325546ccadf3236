//! The HTTP edge: `GET|POST /index.php?module=API&…` and `POST /` with a
//! form body (as `import_logs.py` and some SDKs send).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::api::Api;
use crate::request::ApiRequest;

/// The API routes, ready to be served or merged with the tracker's.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/index.php", any(handle))
        .route("/", any(handle))
        .with_state(api)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| value.starts_with("application/x-www-form-urlencoded"))
}

async fn handle(
    State(api): State<Api>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = if body.is_empty() || !is_form(&headers) {
        None
    } else {
        Some(String::from_utf8_lossy(&body).into_owned())
    };
    let request = ApiRequest::from_parts(query.as_deref().unwrap_or(""), body.as_deref());
    // Reports read (and may build) archives through diesel: blocking work.
    let answer = tokio::task::spawn_blocking(move || api.handle(&request)).await;
    match answer {
        Ok(answer) => (
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, answer.content_type)],
            answer.body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "api handler panicked");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
