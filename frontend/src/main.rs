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
    // The language a link asks for, else this device's or the browser's: its texts are loaded
    // before the first page is shown.
    let link = route::DeepLink::read();
    let lang = link.lang.unwrap_or_else(sspr_ui::i18n::I18n::preferred);
    sspr_ui::i18n::mount(lang, move || leptos::view! { <app::App link /> });
}
