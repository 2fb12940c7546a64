//! One component per step of the reset flow.

pub mod account;
pub mod change;
pub mod code;
pub mod done;
pub mod gate;
pub mod new_password;
pub mod questions;
pub mod register;
