//! The console's screens: signing in, then the desk (search, the account, the caller check
//! and the actions).

pub mod account;
pub mod actions;
pub mod desk;
pub mod sign_in;
pub mod verify;
