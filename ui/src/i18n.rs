//! The language in force, as a context: the browser's language picks it, the switch overrides
//! it (and is remembered on this device, for both apps). The strings live in
//! `sspr_protocol::i18n`: the portal's in `Text`, the console's own in `ConsoleText`.
//!
//! The WebAssembly carries no `Text`: each language's are a file of their own, which the app's
//! boot.js starts fetching at once (`window.ssprTexts`). An app is shown once its first
//! language is in ([`mount`]); the switch changes language once the other is in.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::i18n::{loaded, t, tf, Lang, Phrase, Text};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api::Failure;
use sspr_protocol::ErrorCode;

const STORAGE_KEY: &str = "sspr-lang";

#[derive(Clone, Copy)]
pub struct I18n {
    /// The language shown; its texts are always loaded. (One signal and nothing else: every
    /// text on a page holds a copy of this.)
    pub lang: RwSignal<Lang>,
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Loads `lang`'s texts (once) through the app's boot.js, which fetches each file at most once.
pub async fn load_texts(lang: Lang) -> Result<(), Failure> {
    if loaded::is_installed(lang) {
        return Ok(());
    }
    let loader = js_sys::Reflect::get(&window(), &"ssprTexts".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or(Failure::Network)?;
    let promise = loader
        .call1(&JsValue::NULL, &lang.code().into())
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or(Failure::Network)?;
    let texts = JsFuture::from(promise)
        .await
        .map_err(|_| Failure::Network)?;
    let texts = js_sys::Array::from(&texts)
        .iter()
        .map(|t| t.as_string().unwrap_or_default())
        .collect();
    loaded::install(lang, texts).map_err(|_| Failure::Network)
}

/// Shows the app in `lang` once its texts are in, with the language context provided. Without
/// texts nothing could be said, so if they cannot be loaded (twice), the page shows what it
/// says for that in every language (its hidden `#no-texts`, beside `<noscript>`).
pub fn mount<V: IntoView + 'static>(lang: Lang, app: impl FnOnce() -> V + 'static) {
    // Leptos starts its executor when it mounts; the texts come first.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    spawn_local(async move {
        if load_texts(lang).await.is_err() && load_texts(lang).await.is_err() {
            // The page's own words for this (its hidden `#no-texts`, in every language).
            if let Some(said) = document().get_element_by_id("no-texts") {
                let _ = said.remove_attribute("hidden");
            }
            return;
        }
        leptos::mount::mount_to_body(move || {
            provide_context(I18n {
                lang: RwSignal::new(lang),
            });
            app()
        });
    });
}

impl I18n {
    /// The language to start in: the one last chosen on this device, else the browser's.
    pub fn preferred() -> Lang {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let browser = window().navigator().language().unwrap_or_default();
        Lang::from_tags(stored.as_deref().unwrap_or(&browser))
    }

    /// Shows `lang`, whose texts are loaded (`load_texts`), and remembers it on this device.
    pub fn choose_loaded(&self, lang: Lang) {
        self.lang.set(lang);
        self.remember();
    }

    /// Keeps the language in force as this device's choice (it holds after a reload).
    pub fn remember(&self) {
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, self.lang.get_untracked().code());
        }
    }

    /// Reactive: re-renders when the language changes.
    pub fn t<P: Phrase>(&self, text: P) -> &'static str {
        t(self.lang.get(), text)
    }

    /// A text on a page that follows the language. Every such text shares this one closure
    /// type, so the renderer's code is built once for all of them rather than once per text.
    pub fn say<P: Phrase + Send + Sync + 'static>(
        self,
        text: P,
    ) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || self.t(text)
    }

    pub fn tf<P: Phrase>(&self, text: P, args: &[(&str, &str)]) -> String {
        tf(self.lang.get(), text, args)
    }

    /// The user-facing sentence for a failed call.
    pub fn failure(&self, failure: &Failure) -> Said {
        self.failure_or_wait(failure, Text::ErrTooManyRequests)
    }

    /// As `failure`, but a rate limit is said as `wait` (with its `{time}`): what the person
    /// waits for, e.g. a new code, rather than "too many attempts" where none were made.
    pub fn failure_or_wait(&self, failure: &Failure, wait: Text) -> Said {
        let Failure::Api(error) = failure else {
            return Text::ErrNetwork.into();
        };
        let said = match error.code {
            ErrorCode::TooManyRequests => wait,
            code => code.text(),
        };
        // The time to wait until is fixed now: a later change of language must not move it.
        let until = error.retry_after_secs.map(clock_in);
        let left = error.attempts_left;
        Said::new(move |i18n| {
            let mut text = match &until {
                Some(until) => i18n.tf(said, &[("time", until)]),
                None => i18n.t(said).to_owned(),
            };
            if let Some(left) = left {
                text.push(' ');
                text.push_str(&i18n.tf(Text::ErrAttemptsLeft, &[("n", &left.to_string())]));
            }
            text
        })
    }
}

/// Something to tell the user (an error, a confirmation), kept as how to say it rather than
/// as a sentence: on screen, it follows a change of language.
#[derive(Clone)]
pub struct Said(Arc<dyn Fn(&I18n) -> String + Send + Sync>);

impl Said {
    pub fn new(say: impl Fn(&I18n) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(say))
    }

    /// The sentence in the language in force; reactive, like `I18n::t`.
    pub fn in_lang(&self, i18n: &I18n) -> String {
        (self.0)(i18n)
    }
}

impl<P: Phrase + Send + Sync + 'static> From<P> for Said {
    fn from(phrase: P) -> Self {
        Self::new(move |i18n| i18n.t(phrase).to_owned())
    }
}

/// Local wall-clock time `secs` from now, as HH:MM.
fn clock_in(secs: u32) -> String {
    let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        js_sys::Date::now() + f64::from(secs) * 1000.0 + 59_000.0,
    ));
    format!("{:02}:{:02}", at.get_hours(), at.get_minutes())
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}
