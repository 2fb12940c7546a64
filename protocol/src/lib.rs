//! Everything that crosses a wire in the portal: browser ⇄ server (`reset`, `status`),
//! server ⇄ agent (`relay`), the seal that keeps passwords away from the server (`seal`,
//! `package`), the password-policy model the browser and the agent both evaluate (`policy`),
//! the proof-of-work CAPTCHA (`captcha`), the user-visible error taxonomy (`error`) and the
//! English/Dutch strings (`i18n`).
//!
//! This crate compiles for wasm32 and native alike; it knows nothing of tokio, axum or LDAP.

pub mod b64;
pub mod body;
pub mod captcha;
pub mod change;
pub mod directory;
pub mod error;
pub mod gate;
pub mod helpdesk;
pub mod i18n;
mod letters;
pub mod package;
pub mod policy;
pub mod register;
pub mod relay;
pub mod reset;
pub mod seal;

pub use body::POSTCARD_MEDIA_TYPE;
pub use error::{ApiError, ErrorCode};
pub use i18n::{Lang, Text};

/// Seconds since the Unix epoch. Time always comes in as a parameter so expiry is testable.
pub type UnixTime = i64;
