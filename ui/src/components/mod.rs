//! Reusable parts of the pages of both apps.

pub mod password_rules;

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::i18n::{Lang, Text};

use crate::i18n::{load_texts, use_i18n, Said};

/// An error the user must read; screen readers announce it at once. `id` names it where a
/// page has more than one (default `error`).
#[component]
pub fn ErrorBanner(
    error: RwSignal<Option<Said>>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|said| {
            let message = said.in_lang(&i18n);
            view! {
                <div class="notice notice-error" role="alert" id=id.unwrap_or("error")>
                    <span class="notice-icon" aria-hidden="true">"!"</span>
                    <span class="notice-text">{message}</span>
                </div>
            }
        })
    }
}

/// A line that says what we are waiting for, with a spinner; announced politely. `id` names
/// its text where a page has more than one (default `progress`).
#[component]
pub fn Progress(
    message: Signal<Option<String>>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="progress" role="status" aria-live="polite">
            {move || message.get().map(|m| view! { <span class="spinner" aria-hidden="true"></span><span id=id.unwrap_or("progress")>{m}</span> })}
        </div>
    }
}

#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    // The language last clicked while its texts load: only the latest click is applied,
    // whichever file arrives last. If they cannot be loaded, the switch says so and stays.
    let switching = RwSignal::new(None::<Lang>);
    let failed = RwSignal::new(None::<Said>);
    let choose = move |lang: Lang| {
        failed.set(None);
        if lang == i18n.lang.get_untracked() {
            switching.set(None);
            return;
        }
        switching.set(Some(lang));
        spawn_local(async move {
            let loaded = load_texts(lang).await;
            if switching.get_untracked() != Some(lang) {
                return; // another language was clicked meanwhile
            }
            switching.set(None);
            match loaded {
                Ok(()) => i18n.choose_loaded(lang),
                Err(_) => failed.set(Some(Text::ErrLanguageUnavailable.into())),
            }
        });
    };
    view! {
        <div class="lang-switch" role="group" aria-label=i18n.say(Text::LanguageLabel)
            aria-busy=move || switching.get().is_some().then_some("true")>
            {Lang::ALL
                .into_iter()
                .map(move |lang| {
                    view! {
                        <button
                            type="button"
                            lang=lang.code()
                            id=format!("lang-{}", lang.code())
                            aria-pressed=move || (i18n.lang.get() == lang).to_string()
                            on:click=move |_| choose(lang)
                        >
                            {lang.native_name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
        <ErrorBanner error=failed id="lang-error" />
    }
}

/// A password field with a show/hide toggle. `error`: what is wrong with this field, shown
/// right under it (`<id>-error`), announced, and tied to it (`aria-invalid`,
/// `aria-describedby`); typing in the field clears it.
#[component]
pub fn PasswordInput(
    #[prop(optional)] autocomplete: Option<&'static str>,
    id: &'static str,
    label: Text,
    value: RwSignal<String>,
    #[prop(optional)] described_by: Option<&'static str>,
    #[prop(optional)] error: Option<RwSignal<Option<Said>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let shown = RwSignal::new(false);
    let error_id = format!("{id}-error");
    let message = move || error.and_then(|e| e.get());
    let described = {
        let error_id = error_id.clone();
        move || {
            let parts: Vec<&str> = described_by
                .into_iter()
                .chain(message().is_some().then_some(error_id.as_str()))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
    };
    view! {
        <label for=id>{i18n.say(label)}</label>
        <div class="password-field">
            <input
                id=id
                name=id
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete=autocomplete.unwrap_or("new-password")
                spellcheck="false"
                autocapitalize="none"
                aria-describedby=described
                aria-invalid=move || message().is_some().then_some("true")
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    if let Some(e) = error {
                        e.set(None);
                    }
                }
            />
            <button
                type="button"
                class="toggle"
                aria-controls=id
                // Its name says what a press does ("Hide password"); a pressed state as well
                // would be said twice.
                // Named with its field: three "Show password" buttons on one page are not told
                // apart by ear.
                aria-label=move || format!("{}: {}", i18n.t(if shown.get() { Text::HidePasswordLabel } else { Text::ShowPasswordLabel }), i18n.t(label))
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || i18n.t(if shown.get() { Text::HidePassword } else { Text::ShowPassword })}
            </button>
        </div>
        <FieldError id=error_id message=Signal::derive(message) />
    }
}

/// What is wrong with one field, right under it (`id` is what the field's
/// `aria-describedby` names), announced at once; nothing while there is nothing wrong.
#[component]
pub fn FieldError(id: String, message: Signal<Option<Said>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        message.get().map(|said| {
            let m = said.in_lang(&i18n);
            view! {
                <p class="field-error" id=id.clone() role="alert">
                    <span class="notice-icon" aria-hidden="true">"!"</span>{m}
                </p>
            }
        })
    }
}

/// Moves keyboard focus to the element with this id once the step is on screen, so keyboard
/// and screen-reader users land in the new step instead of at the top of the page.
pub fn focus_on_mount(id: impl Into<String>) {
    let id: String = id.into();
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
            // `focus:<id>` on the page's timeline: when the page became usable, for the
            // first-render benchmark and for anyone's real-user monitoring.
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.mark(&format!("focus:{id}"));
            }
        }
    });
}

/// A code as the user typed it, spaces dropped (people copy "123 456"); None when nothing was
/// typed.
pub fn typed_code(code: RwSignal<String>) -> Option<String> {
    let typed: String = code
        .get_untracked()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (!typed.is_empty()).then_some(typed)
}
