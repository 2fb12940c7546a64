//! The agents: which are connected and healthy ([`hub`]), and talking to them — a lookup, or a
//! sealed package and its sealed outcome ([`writeback`]).

pub mod hub;
pub mod writeback;
