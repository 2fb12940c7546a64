//! The portal in the browser: Leptos, rendered client-side from WebAssembly.

mod api;
mod app;
mod components;
mod pages;
mod route;

fn main() {
    // Readable panics in development builds; the release build leaves the hook (and its
    // formatting code) out to stay within the size budget.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
