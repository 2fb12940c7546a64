use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;
use sspr_protocol::gate::{ANSWERS_PATH, DELIVERY_PATH, METHOD_PATH, OTHER_METHOD_PATH};
use sspr_protocol::relay::{CHECK_PATH, ONBOARD_PATH, RELAY_PATH};
use sspr_protocol::reset::{
    CAPTCHA_PATH, CODE_PATH, KEY_PATH, PASSWORD_PATH, RESEND_PATH, START_PATH, STATUS_PATH,
};
use sspr_protocol::ErrorCode;
use tower_http::services::{ServeDir, ServeFile};

use crate::http::error::AppError;
use crate::http::routes::{self, agent, change, gate, health, reset};
use crate::state::AppState;
use sspr_protocol::register;

async fn api_not_found() -> AppError {
    AppError::code(ErrorCode::BadRequest)
}

pub fn app(state: AppState) -> Router {
    let frontend = &state.config.frontend_dir;
    let spa = ServeDir::new(frontend).fallback(ServeFile::new(frontend.join("index.html")));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(STATUS_PATH, get(health::status))
        .route(START_PATH, post(reset::start))
        .route(CAPTCHA_PATH, post(reset::captcha))
        .route(METHOD_PATH, post(gate::method))
        .route(CODE_PATH, post(gate::code))
        .route(RESEND_PATH, post(gate::resend))
        .route(DELIVERY_PATH, post(gate::delivery))
        .route(OTHER_METHOD_PATH, post(gate::other))
        .route(ANSWERS_PATH, post(gate::answers))
        .route(PASSWORD_PATH, post(reset::password))
        .route(KEY_PATH, post(gate::key))
        .route(register::SIGN_IN_PATH, post(routes::register::sign_in))
        .route(register::STATE_PATH, post(routes::register::current))
        .route(register::ADD_PATH, post(routes::register::add))
        .route(register::CONFIRM_PATH, post(routes::register::confirm))
        .route(
            register::AUTHENTICATOR_PATH,
            post(routes::register::authenticator),
        )
        .route(register::REMOVE_PATH, post(routes::register::remove))
        .route(register::QUESTIONS_PATH, post(routes::register::questions))
        .route(sspr_protocol::change::CHANGE_KEY_PATH, get(change::key))
        .route(sspr_protocol::change::CHANGE_PATH, post(change::change))
        .route(ONBOARD_PATH, post(agent::onboard))
        .route(RELAY_PATH, get(agent::relay))
        .route(CHECK_PATH, get(agent::check))
        .route("/api/{*rest}", any(api_not_found))
        .fallback_service(spa)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::middleware::security_headers,
        ))
        .with_state(state)
}
