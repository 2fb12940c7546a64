//! The SSPR server: a relay that never sees a password in clear. It serves the portal, runs each
//! flow as a server-side state machine, sends verification codes, and passes sealed packages to
//! the on-premises agents that hold the keys.
//!
//! Layers, top to bottom: [`http`] (routes, error mapping, middleware) calls the [`domain`]
//! (flows, gates, decoys, registration, packages, audit events — no axum, no SQL), which is
//! stored by [`store`] (SQLite or PostgreSQL). Beside them: [`relay`] (the connected agents and
//! write-back), [`courier`] (codes by mail, text and call), [`captcha`] and [`crypto`].

pub mod captcha;
pub mod config;
pub mod courier;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod relay;
pub mod state;
pub mod store;

pub use http::router::app;
pub use state::AppState;

/// The server's clock, read at the edge and passed into the logic.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
