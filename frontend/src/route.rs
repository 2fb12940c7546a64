//! Each mode has its own address — `/reset` (also `/`), `/unlock`, `/change`, `/methods` — so a
//! page can be bookmarked and linked, and the browser's back button returns to the mode before.
//! A link may pre-fill the user ID (`?user=…`) and pick the language (`?lang=nl`): both only
//! fill in what the person could have typed or clicked, and both leave the address bar at once
//! (a shared PC's history keeps no names). The server answers every such path with the page.

use leptos::prelude::*;
use sspr_protocol::i18n::Lang;
use sspr_protocol::reset::Purpose;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::app::Step;

/// A pre-filled user ID longer than any real one is not taken.
const MAX_PREFILL_CHARS: usize = 256;

/// The address of a mode.
pub fn path_of(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Reset => "/reset",
        Purpose::Unlock => "/unlock",
        Purpose::Change => "/change",
        Purpose::Register => "/methods",
    }
}

/// The mode an address names; anything else (`/` included) is a reset.
pub fn purpose_of(path: &str) -> Purpose {
    match path.trim_end_matches('/') {
        "/unlock" => Purpose::Unlock,
        "/change" => Purpose::Change,
        "/methods" => Purpose::Register,
        _ => Purpose::Reset,
    }
}

/// What a link asked for, read once when the page starts.
#[derive(Clone, Debug, Default)]
pub struct DeepLink {
    pub purpose: Purpose,
    pub user: Option<String>,
    pub lang: Option<Lang>,
}

impl DeepLink {
    /// Reads the address (the app takes the query out of the address bar once it shows: a
    /// page that cannot load and says "reload" keeps the link whole).
    pub fn read() -> Self {
        let location = window().location();
        let path = location.pathname().unwrap_or_default();
        let query = location.search().unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&query).ok();
        let param = |name: &str| params.as_ref().and_then(|p| p.get(name));
        let user = param("user")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty() && u.chars().count() <= MAX_PREFILL_CHARS);
        let lang = param("lang").and_then(|code| {
            Lang::ALL
                .into_iter()
                .find(|l| l.code().eq_ignore_ascii_case(&code))
        });
        Self {
            purpose: purpose_of(&path),
            user,
            lang,
        }
    }
}

/// Takes a link's query out of the address bar: a shared PC's history keeps no names.
pub fn clear_query() {
    let location = window().location();
    if location.search().is_ok_and(|q| !q.is_empty()) {
        replace_path(&location.pathname().unwrap_or_default());
    }
}

/// The user ID a link pre-filled, for the pages that ask for one.
pub fn prefilled_user() -> String {
    use_context::<DeepLink>()
        .and_then(|link| link.user)
        .unwrap_or_default()
}

pub fn replace_path(path: &str) {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// Keeps the address and the mode together: a mode chosen on the page becomes a new history
/// entry (unless the address already names it), and Back or Forward chooses the mode their
/// address names, on its first page (a flow's steps live on the server, not in the history).
pub fn follow(purpose: RwSignal<Purpose>, step: RwSignal<Step>) {
    Effect::new(move |_| {
        let wanted = purpose.get();
        let path = window().location().pathname().unwrap_or_default();
        if purpose_of(&path) != wanted {
            if let Ok(history) = window().history() {
                let _ = history.push_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(path_of(wanted)),
                );
            }
        }
    });
    let on_pop = Closure::<dyn Fn()>::new(move || {
        let path = window().location().pathname().unwrap_or_default();
        let named = purpose_of(&path);
        if purpose.get_untracked() != named {
            purpose.set(named);
            step.set(Step::Account);
        }
    });
    let _ = window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    // The page lives as long as the listener: nothing to remove it for.
    on_pop.forget();
}
