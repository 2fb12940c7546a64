//! The language in force, as a context: the browser's language picks it, the switch overrides
//! it (and is remembered on this device, for both apps). The strings live in
//! `sspr_protocol::i18n`: the portal's in `Text`, the console's own in `ConsoleText`.

use leptos::prelude::*;
use sspr_protocol::i18n::{t, tf, Lang, Phrase, Text};

use crate::api::Failure;
use sspr_protocol::ErrorCode;

const STORAGE_KEY: &str = "sspr-lang";

#[derive(Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

impl I18n {
    pub fn new() -> Self {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let browser = window().navigator().language().unwrap_or_default();
        Self {
            lang: RwSignal::new(Lang::from_tags(stored.as_deref().unwrap_or(&browser))),
        }
    }

    pub fn choose(&self, lang: Lang) {
        self.lang.set(lang);
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, lang.code());
        }
    }

    /// Reactive: re-renders when the language changes.
    pub fn t<P: Phrase>(&self, text: P) -> &'static str {
        t(self.lang.get(), text)
    }

    pub fn tf<P: Phrase>(&self, text: P, args: &[(&str, &str)]) -> String {
        tf(self.lang.get(), text, args)
    }

    /// The user-facing sentence for a failed call.
    pub fn failure(&self, failure: &Failure) -> String {
        self.failure_or_wait(failure, Text::ErrTooManyRequests)
    }

    /// As `failure`, but a rate limit is said as `wait` (with its `{time}`): what the person
    /// waits for, e.g. a new code, rather than "too many attempts" where none were made.
    pub fn failure_or_wait(&self, failure: &Failure, wait: Text) -> String {
        let Failure::Api(error) = failure else {
            return self.t(Text::ErrNetwork).to_owned();
        };
        let said = match error.code {
            ErrorCode::TooManyRequests => wait,
            code => code.text(),
        };
        let mut text = match error.retry_after_secs {
            Some(secs) => self.tf(said, &[("time", &clock_in(secs))]),
            None => self.t(said).to_owned(),
        };
        if let Some(left) = error.attempts_left {
            text.push(' ');
            text.push_str(&self.tf(Text::ErrAttemptsLeft, &[("n", &left.to_string())]));
        }
        text
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
