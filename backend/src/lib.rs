//! The SSPR server: a relay that never sees a password in clear. It serves the portal, runs each
//! flow as a server-side state machine, sends verification codes, and passes sealed packages to
//! the on-premises agents that hold the keys.

pub mod captcha;
pub mod config;
pub mod courier;
pub mod crypto;
pub mod error;
pub mod flow;
pub mod hub;
pub mod json;
pub mod limits;
pub mod mail;
pub mod middleware;
pub mod phone;
pub mod registration;
pub mod router;
pub mod routes;
pub mod state;
pub mod store;
pub mod writeback;

pub use router::app;
pub use state::AppState;

/// The server's clock, read at the edge and passed into the logic.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
