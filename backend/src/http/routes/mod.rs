pub mod agent;
pub mod change;
pub mod gate;
pub mod health;
pub mod register;
pub mod reset;
