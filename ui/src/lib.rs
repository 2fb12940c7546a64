//! What the public portal (`sspr-frontend`) and the staff console (`sspr-console`) share: the
//! language context, the HTTP basics and the generic components. Each app keeps its own pages
//! and its own calls; neither carries the other's code.

pub mod api;
pub mod components;
pub mod i18n;
pub mod seal;
