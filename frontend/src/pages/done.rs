use leptos::prelude::*;
use sspr_protocol::i18n::Text;

use crate::app::Step;
use crate::i18n::use_i18n;

#[component]
pub fn DonePage(step: RwSignal<Step>, account_name: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="done" role="status">
            <div class="done-icon" aria-hidden="true">"✓"</div>
            <h1 id="done">{move || i18n.t(Text::DoneTitle)}</h1>
            <p class="lead"><strong>{account_name}</strong></p>
            <p>{move || i18n.t(Text::DoneBody)}</p>
            <button type="button" class="secondary" on:click=move |_| step.set(Step::Account)>
                {move || i18n.t(Text::StartAgain)}
            </button>
        </div>
    }
}
