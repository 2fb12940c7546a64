//! The portal in the browser: Leptos, rendered client-side from WebAssembly.

mod api;
mod app;
mod components;
mod i18n;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
