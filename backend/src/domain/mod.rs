//! The rules, in plain Rust: no axum, no SQL, no clock (time comes in as `now`).

pub mod audit;
pub mod codes;
pub mod contact;
pub mod decoy;
pub mod error;
pub mod flow;
pub mod gates;
pub mod limits;
pub mod package;
pub mod registration;
pub mod staff;
pub mod user_id;
