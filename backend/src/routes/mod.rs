pub mod agent;
pub mod change;
pub mod health;
pub mod reset;
