use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sspr_protocol::reset::Status;

use crate::http::middleware::ClientAddress;
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

/// Prometheus' view of this replica, for the addresses in `metrics_from` only: the counts
/// are operational detail, not for the internet.
pub async fn metrics(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
) -> Response {
    let allowed = client.parse::<std::net::IpAddr>().is_ok_and(|ip| {
        state
            .config
            .metrics_from
            .iter()
            .any(|net| net.contains(&ip))
    });
    if !allowed {
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
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let now = crate::now();
    Json(Status {
        writeback_available: state.hub.available(now),
        directories: state.hub.directories(now),
    })
}
