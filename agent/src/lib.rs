//! The on-premises agent. It opens an outbound WebSocket to the server (no inbound firewall
//! rule), checks every package it receives before any RSA work, opens the seal with a private
//! key that never leaves this host, and applies the result to Active Directory over LDAPS.

pub mod config;
pub mod directory;
pub mod doctor;
pub mod events;
pub mod handler;
pub mod onboard;
pub mod relay;
pub mod state;
pub mod tls;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The agent's own clock, read once at the edge and passed into the logic.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
