use leptos::prelude::*;
use sspr_protocol::i18n::Text;

use crate::app::{use_purpose, Step};
use sspr_protocol::reset::{Completed, Purpose};
use sspr_ui::components::focus_on_mount;
use sspr_ui::i18n::use_i18n;

#[component]
pub fn DonePage(step: RwSignal<Step>, done: Completed) -> impl IntoView {
    let i18n = use_i18n();
    let purpose = use_purpose();
    // An unlock of an account the directory had not locked changed nothing: the trouble is
    // then the password, and the way out is a reset.
    let not_locked = move || purpose.get() == Purpose::Unlock && !done.was_locked;
    let (title, body) = match purpose.get_untracked() {
        Purpose::Unlock if !done.was_locked => (Text::NotLockedTitle, Text::NotLockedBody),
        Purpose::Unlock => (Text::UnlockedTitle, Text::UnlockedBody),
        Purpose::Change => (Text::ChangedTitle, Text::DoneBody),
        Purpose::Reset | Purpose::Register => (Text::DoneTitle, Text::DoneBody),
    };
    // Keyboard and screen-reader users start at the outcome, not at the top of the page.
    focus_on_mount("done");
    view! {
        <div class="done" role="status">
            <div class="done-icon" aria-hidden="true">{move || if not_locked() { "i" } else { "✓" }}</div>
            <h1 id="done" tabindex="-1">{i18n.say(title)}</h1>
            <p class="lead"><strong>{done.account_name}</strong></p>
            <p>{i18n.say(body)}</p>
            {move || not_locked().then(|| view! {
                <button id="reset-instead" type="button" class="primary" on:click=move |_| {
                    purpose.set(Purpose::Reset);
                    step.set(Step::Account);
                }>
                    {i18n.say(Text::ResetInstead)}
                </button>
            })}
            <button type="button" class="secondary" on:click=move |_| step.set(Step::Account)>
                {i18n.say(Text::BackToStart)}
            </button>
        </div>
    }
}
