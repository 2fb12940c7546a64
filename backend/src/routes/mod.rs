pub mod agent;
pub mod health;
pub mod reset;
