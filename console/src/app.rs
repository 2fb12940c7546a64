//! The shell (brand, the staff member, language switch, sign-out) and the screen in force:
//! signing in, or the desk. The server keeps the session; the browser only asks for it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::StaffSession;
use sspr_protocol::i18n::ConsoleText;
use sspr_protocol::ErrorCode;
use sspr_ui::api::Failure;
use sspr_ui::components::LanguageSwitch;
use sspr_ui::i18n::{use_i18n, I18n, Said};

use crate::api;
use crate::pages::desk::DeskPage;
use crate::pages::sign_in::SignInPage;

/// The signed-in staff member (None: the sign-in page), and why the last session ended.
#[derive(Clone, Copy)]
pub struct Desk {
    pub staff: RwSignal<Option<StaffSession>>,
    pub ended: RwSignal<Option<Ended>>,
}

/// Why the sign-in page shows again.
#[derive(Clone)]
pub enum Ended {
    SignedOut,
    /// The server ended the session (idle, expired, too many wrong codes).
    Refused(Failure),
}

impl Ended {
    pub fn text(&self, i18n: I18n) -> String {
        match self {
            Ended::SignedOut => i18n.t(ConsoleText::SignedOut).to_owned(),
            Ended::Refused(failure) => i18n.failure(failure).in_lang(&i18n),
        }
    }
}

impl Desk {
    /// A failed call: a session that ended sends the staff member back to sign in, with the
    /// reason; any other failure's sentence goes to the page's `error`.
    pub fn failed(&self, i18n: I18n, failure: &Failure, error: RwSignal<Option<Said>>) {
        if failure.code() == Some(ErrorCode::SessionEnded) {
            api::forget();
            self.ended.set(Some(Ended::Refused(failure.clone())));
            self.staff.set(None);
        } else {
            error.set(Some(i18n.failure(failure)));
        }
    }
}

pub fn use_desk() -> Desk {
    expect_context::<Desk>()
}

#[component]
pub fn App() -> impl IntoView {
    let i18n = use_i18n();
    let desk = Desk {
        staff: RwSignal::new(None),
        ended: RwSignal::new(None),
    };
    provide_context(desk);
    // Until the server says whether this browser is signed in, show neither page.
    let asked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok(session) = api::session().await {
            desk.staff.set(Some(session));
        }
        asked.set(true);
    });
    Effect::new(move |_| {
        let lang = i18n.lang.get();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.code());
        }
        document().set_title(i18n.t(ConsoleText::ConsoleTitle));
    });

    view! {
        <div class="shell desk-shell">
            <header class="topbar">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span>{i18n.say(ConsoleText::ConsoleTitle)}</span>
                </div>
                <div class="topbar-end">
                    {move || desk.staff.get().map(|s| view! { <StaffBadge name=s.display_name /> })}
                    <LanguageSwitch />
                </div>
            </header>
            {move || match (asked.get(), desk.staff.get().is_some()) {
                (false, _) => view! { <main class="card" id="main" aria-busy="true"></main> }.into_any(),
                (true, false) => view! { <main class="card" id="main"><SignInPage /></main> }.into_any(),
                (true, true) => view! { <main class="desk" id="main"><DeskPage /></main> }.into_any(),
            }}
        </div>
    }
}

/// Who is signed in, and the way out.
#[component]
fn StaffBadge(name: String) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let busy = RwSignal::new(false);
    let sign_out = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            // Whatever the answer, this browser is signed out now.
            let _ = api::sign_out().await;
            desk.ended.set(Some(Ended::SignedOut));
            desk.staff.set(None);
        });
    };
    view! {
        <span class="staff-name" id="staff-name">{move || i18n.tf(ConsoleText::SignedInAs, &[("name", &name)])}</span>
        <button type="button" class="secondary compact" id="sign-out" disabled=move || busy.get() on:click=sign_out>
            {i18n.say(ConsoleText::SignOut)}
        </button>
    }
}
