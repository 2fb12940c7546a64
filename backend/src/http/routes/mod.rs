pub mod agent;
pub mod change;
pub mod gate;
pub mod health;
pub mod register;
pub mod reset;
pub mod sign_in;
pub mod staff;
