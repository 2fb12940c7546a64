//! The HTTP edge: the router, the one place errors become answers, the bodies (JSON or postcard), the
//! middleware, and one file of handlers per route group. Handlers read the request, call the
//! domain and the store, and say nothing about the rules themselves.

pub mod assets;
pub mod body;
pub mod error;
pub mod middleware;
pub mod router;
pub mod routes;
pub mod serve;
