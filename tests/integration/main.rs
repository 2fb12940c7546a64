//! The integration suite: one binary (one shared Samba DC) with a module per area.
//! Add new scenarios as modules here rather than as new test binaries.

mod abuse;
pub mod agent_ad;
mod agent_cases;
mod agents;
mod api_change;
mod api_gates;
mod api_register;
mod api_reset;
pub mod browser;
mod console;
mod directories;
mod doctor;
mod faults;
mod helpdesk;
mod keys;
mod operations;
mod relay;
mod replicas;
mod slow_clients;
mod staff;
mod store;
mod wire;
