//! Step 2: the code we mailed.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::i18n::Text;
use sspr_protocol::reset::CodeSent;

use crate::api;
use crate::app::{use_purpose, Step};
use crate::components::{focus_on_mount, ErrorBanner, Progress, StartOver};
use crate::i18n::use_i18n;
use sspr_protocol::reset::Purpose;

#[component]
pub fn CodePage(step: RwSignal<Step>, flow_id: String, sent: CodeSent) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("code");
    let flow = StoredValue::new(flow_id);
    let purpose = use_purpose();
    let sent = RwSignal::new(sent);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let info = RwSignal::new(None::<String>);
    let busy = RwSignal::new(None::<Text>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let typed: String = code
            .get_untracked()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if typed.is_empty() {
            error.set(Some(i18n.t(Text::CodeRequired).to_owned()));
            return;
        }
        error.set(None);
        info.set(None);
        let unlock = purpose.get_untracked() == Purpose::Unlock;
        busy.set(Some(if unlock {
            Text::Unlocking
        } else {
            Text::Verifying
        }));
        spawn_local(async move {
            let next = if unlock {
                api::unlock_code(flow.get_value(), typed)
                    .await
                    .map(|done| Step::Done {
                        account_name: done.account_name,
                    })
            } else {
                api::code(flow.get_value(), typed)
                    .await
                    .map(|next| Step::NewPassword {
                        flow_id: flow.get_value(),
                        step: next,
                    })
            };
            match next {
                Ok(next) => step.set(next),
                Err(failure) => {
                    error.set(Some(i18n.failure(&failure)));
                    busy.set(None);
                }
            }
        });
    };

    let resend = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        info.set(None);
        busy.set(Some(Text::CodeSending));
        spawn_local(async move {
            match api::resend(flow.get_value()).await {
                Ok(again) => {
                    sent.set(again);
                    code.set(String::new());
                    info.set(Some(i18n.t(Text::CodeResent).to_owned()));
                }
                Err(failure) => error.set(Some(i18n.failure(&failure))),
            }
            busy.set(None);
        });
    };

    let progress = Signal::derive(move || busy.get().map(|t| i18n.t(t).to_owned()));

    view! {
        <h1>{move || i18n.t(Text::StepVerify)}</h1>
        <p class="lead" id="code-sent">
            {move || {
                let s = sent.get();
                i18n.tf(Text::CodeSentTo, &[("n", &s.code_length.to_string()), ("dest", &s.destination)])
            }}
        </p>
        <form on:submit=submit novalidate>
            <label for="code">{move || i18n.t(Text::CodeLabel)}</label>
            <input
                id="code"
                name="code"
                class="code-input"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                autofocus
                maxlength=move || sent.get().code_length.to_string()
                aria-describedby="code-hint"
                prop:value=move || code.get()
                on:input=move |ev| code.set(event_target_value(&ev))
            />
            <p id="code-hint" class="hint">
                {move || i18n.tf(Text::CodeHint, &[("min", &(sent.get().code_ttl_secs / 60).to_string())])}
            </p>
            <ErrorBanner error />
            {move || info.get().map(|m| view! { <div class="notice notice-info" role="status">{m}</div> })}
            <button id="verify" type="submit" class="primary" disabled=move || busy.get().is_some()>
                {move || i18n.t(Text::Verify)}
            </button>
            <button id="resend" type="button" class="link" on:click=resend disabled=move || busy.get().is_some()>
                {move || i18n.t(Text::ResendCode)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
