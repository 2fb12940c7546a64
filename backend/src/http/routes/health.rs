use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sspr_protocol::reset::Status;

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when at least one agent can write back.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.hub.available(crate::now()) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no agent connected")
    }
}

/// What the first page needs to know before the user types anything.
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let now = crate::now();
    Json(Status {
        writeback_available: state.hub.available(now),
        directories: state.hub.directories(now),
    })
}
