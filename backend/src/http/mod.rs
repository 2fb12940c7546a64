//! The HTTP edge: the router, the one place errors become answers, the JSON extractor, the
//! middleware, and one file of handlers per route group. Handlers read the request, call the
//! domain and the store, and say nothing about the rules themselves.

pub mod assets;
pub mod error;
pub mod json;
pub mod middleware;
pub mod router;
pub mod routes;
pub mod serve;
