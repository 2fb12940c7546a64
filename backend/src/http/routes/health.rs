use crate::http::body::Api;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sspr_protocol::reset::Status;

use crate::config::CaptchaKind;
use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the store: a load balancer's health check is short.
const STORE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready when the store answers and at least one agent can write back; a load balancer
/// sends users elsewhere otherwise.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // A database that is down makes the pool retry until its own timeout: answer sooner.
    match tokio::time::timeout(STORE_PATIENCE, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            return (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer");
        }
        Err(_) => {
            tracing::warn!("not ready: the store does not answer in time");
            return (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer");
        }
    }
    if state.hub.available(crate::now()) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no agent connected")
    }
}

/// Prometheus' view of this replica, for a scraper connecting directly from an address in
/// `metrics_from` only: the counts are operational detail, not for the internet. A request a
/// proxy forwarded is refused whoever sent it.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    let allowed = state
        .config
        .metrics_from
        .iter()
        .any(|net| net.contains(&peer.ip()));
    if forwarded || !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    let text = state.metrics.render(state.hub.live_count(crate::now()));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// What the first page needs to know before the user types anything.
pub async fn status(State(state): State<AppState>) -> Api<Status> {
    let now = crate::now();
    Api(Status {
        writeback_available: state.hub.available(now),
        directories: state.hub.directories(now),
        contact: state.config.contact.shown(),
        captcha_computed: state.config.captcha.kind == CaptchaKind::ProofOfWork,
    })
}
