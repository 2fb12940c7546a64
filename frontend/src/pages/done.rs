use leptos::prelude::*;
use sspr_protocol::i18n::Text;

use crate::app::{use_purpose, Step};
use sspr_protocol::reset::Purpose;
use sspr_ui::components::focus_on_mount;
use sspr_ui::i18n::use_i18n;

#[component]
pub fn DonePage(step: RwSignal<Step>, account_name: String) -> impl IntoView {
    let i18n = use_i18n();
    let purpose = use_purpose();
    let unlock = move || purpose.get() == Purpose::Unlock;
    // Keyboard and screen-reader users start at the outcome, not at the top of the page.
    focus_on_mount("done");
    view! {
        <div class="done" role="status">
            <div class="done-icon" aria-hidden="true">"✓"</div>
            <h1 id="done" tabindex="-1">{move || i18n.t(match purpose.get() { Purpose::Unlock => Text::UnlockedTitle, Purpose::Change => Text::ChangedTitle, Purpose::Reset | Purpose::Register => Text::DoneTitle })}</h1>
            <p class="lead"><strong>{account_name}</strong></p>
            <p>{move || i18n.t(if unlock() { Text::UnlockedBody } else { Text::DoneBody })}</p>
            <button type="button" class="secondary" on:click=move |_| step.set(Step::Account)>
                {move || i18n.t(Text::BackToStart)}
            </button>
        </div>
    }
}
