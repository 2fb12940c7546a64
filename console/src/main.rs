//! The helpdesk staff console in the browser: Leptos, rendered client-side from WebAssembly,
//! served under `/console/`. It shares the language context, the HTTP basics and the generic
//! components with the public portal (`sspr-ui`), and nothing else.

mod api;
mod app;
mod generate;
mod pages;
mod time;

fn main() {
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    sspr_ui::i18n::mount(sspr_ui::i18n::I18n::preferred(), app::App);
}
