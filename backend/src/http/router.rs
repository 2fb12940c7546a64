use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::routing::{any, get, post};
use axum::Router;
use sspr_protocol::gate::{ANSWERS_PATH, DELIVERY_PATH, METHOD_PATH, OTHER_METHOD_PATH};
use sspr_protocol::relay::{CHECK_PATH, ONBOARD_PATH, RELAY_PATH};
use sspr_protocol::reset::{
    CAPTCHA_PATH, CODE_PATH, KEY_PATH, PASSWORD_PATH, RESEND_PATH, START_PATH, STATUS_PATH,
};
use sspr_protocol::ErrorCode;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::assets::{self, Assets};
use crate::http::body;
use crate::http::error::AppError;
use crate::http::middleware::{content_security_policy, CONSOLE_CONTENT_SECURITY_POLICY};
use crate::http::routes::{self, agent, change, gate, health, reset, staff};
use crate::state::AppState;
use sspr_protocol::{helpdesk, register};

async fn api_not_found() -> AppError {
    AppError::code(ErrorCode::BadRequest)
}

/// The header layer for one fixed header.
fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

pub fn app(state: AppState) -> Router {
    let frontend = &state.config.frontend_dir;
    let csp = HeaderValue::from_str(&content_security_policy(
        state.config.captcha.widget_origins(),
    ))
    .ok();
    // The portal's files (`<frontend_dir>/`) and the staff console's (`<frontend_dir>/console/`,
    // its own build): each app answers every path under its root that is not a file with its
    // own index (its client routes). The console has its own, stricter CSP. The portal's files
    // never load it, and it loads none of theirs.
    let load = |root: &std::path::Path, skip: &[&str]| {
        let app = Assets::load(root, skip).unwrap_or_else(|e| {
            tracing::error!(root = %root.display(), error = %e, "the frontend's files could not be read");
            Assets::default()
        });
        if !app.has_index() {
            tracing::warn!(root = %root.display(), "no index.html: the frontend is not built (scripts/build-frontend.sh)");
        }
        Arc::new(app)
    };
    let portal = load(frontend, &["console"]);
    let console = Router::new()
        .fallback(assets::serve)
        .with_state(load(&frontend.join("console"), &[]))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CONTENT_SECURITY_POLICY),
        ));
    let static_files = Router::new()
        .nest_service("/console", console)
        .fallback(assets::serve)
        .with_state(portal);
    let https = state.config.public_url.starts_with("https://");
    // Long enough for a write-back that waits for a reconnecting agent until its package
    // expires; short enough that a stuck request does not hold a connection for ever.
    let relay = &state.config.relay;
    let timeout = Duration::from_secs(
        relay
            .request_timeout_secs
            .saturating_add(u64::try_from(relay.package_ttl_secs).unwrap_or_default()),
    );
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
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
        .route(register::SIGN_OUT_PATH, post(routes::register::sign_out))
        .route(sspr_protocol::change::CHANGE_KEY_PATH, get(change::key))
        .route(sspr_protocol::change::CHANGE_PATH, post(change::change))
        .route(helpdesk::SIGN_IN_PATH, post(staff::sign_in))
        .route(helpdesk::FACTOR_SEND_PATH, post(staff::send_code))
        .route(helpdesk::FACTOR_PATH, post(staff::second_factor))
        .route(helpdesk::SESSION_PATH, get(staff::current))
        .route(helpdesk::SIGN_OUT_PATH, post(staff::sign_out))
        .route(helpdesk::SEARCH_PATH, post(routes::helpdesk::search))
        .route(helpdesk::ACCOUNT_PATH, post(routes::helpdesk::account))
        .route(
            helpdesk::VERIFY_SEND_PATH,
            post(routes::helpdesk::verify_send),
        )
        .route(helpdesk::VERIFY_PATH, post(routes::helpdesk::verify))
        .route(helpdesk::RESET_PATH, post(routes::helpdesk::reset))
        .route(helpdesk::UNLOCK_PATH, post(routes::helpdesk::unlock))
        .route(helpdesk::LINK_PATH, post(routes::helpdesk::link))
        .route(helpdesk::REVOKE_PATH, post(routes::helpdesk::revoke))
        .route(ONBOARD_PATH, post(agent::onboard))
        .route(RELAY_PATH, get(agent::relay))
        .route(CHECK_PATH, get(agent::check))
        .route("/api/{*rest}", any(api_not_found))
        .layer(axum::middleware::from_fn(body::answer_as_asked))
        .layer(header(header::CACHE_CONTROL, "no-store"));
    api.merge(static_files)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                // Outermost first: every request gets an id, its log lines carry it, and the
                // answer names it so a user's report can be found in the log.
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                // A 5xx is answered and, where it matters, logged by its handler; the trace layer's
                // own "response failed" lines would only repeat it.
                .layer(TraceLayer::new_for_http().on_failure(()).make_span_with(|request: &Request<Body>| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                // Whatever no route answered for itself (a timeout) is not cached either.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                // The portal's policy, where the console's own did not come first.
                .option_layer(csp.map(|v| {
                    SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, v)
                }))
                .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(header(header::REFERRER_POLICY, "no-referrer"))
                .layer(header(
                    HeaderName::from_static("permissions-policy"),
                    "camera=(), microphone=(), geolocation=(), payment=()",
                ))
                .layer(header(
                    HeaderName::from_static("cross-origin-opener-policy"),
                    "same-origin",
                ))
                .option_layer(https.then(|| {
                    header(
                        header::STRICT_TRANSPORT_SECURITY,
                        "max-age=31536000; includeSubDomains",
                    )
                }))
                // Innermost, so a timeout's answer carries every header above.
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout)),
        )
        .with_state(state)
}
