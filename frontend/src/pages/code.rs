//! Step 2b: the code — from a mail, a text or a call, or from the authenticator app.

use gloo_timers::future::TimeoutFuture;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::gate::{Challenge, Delivery, Method};
use sspr_protocol::i18n::Text;
use sspr_protocol::reset::{CodeSent, Purpose};
use sspr_protocol::ErrorCode;

use crate::api;
use crate::app::{use_purpose, Step};
use crate::components::{ForUser, StartOver};
use sspr_ui::components::{focus_on_mount, typed_code, ErrorBanner, FieldError, Progress};
use sspr_ui::i18n::{use_i18n, Said};

/// How long after a send the page asks once whether the provider took it.
const DELIVERY_CHECK_MS: u32 = 2_500;

/// The sentence that says where the code went.
fn sent_text(sent: &CodeSent) -> Text {
    match sent.method {
        Method::MobileText => Text::TextSentTo,
        Method::MobileCall | Method::OfficeCall => Text::CallingTo,
        _ => Text::CodeSentTo,
    }
}

#[component]
pub fn CodePage(step: RwSignal<Step>, flow_id: String, challenge: Challenge) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("code");
    let flow = StoredValue::new(flow_id);
    let purpose = use_purpose();
    let challenge = RwSignal::new(challenge);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    // What is wrong with the typed code: said at the field, which keeps it and gets focus.
    let code_error = RwSignal::new(None::<Said>);
    let info = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<Text>);
    let digits = move || match challenge.get() {
        Challenge::Code(sent) => sent.code_length,
        Challenge::Authenticator { digits } => digits,
        Challenge::Questions { .. } => 0,
    };
    let is_sent = move || matches!(challenge.get(), Challenge::Code(_));

    // Sends run in the background; ask once whether this one got out.
    let check_delivery = move || {
        spawn_local(async move {
            TimeoutFuture::new(DELIVERY_CHECK_MS).await;
            if let Ok(state) = api::delivery(flow.get_value()).await {
                if state.delivery == Delivery::Failed {
                    error.set(Some(Text::ErrSendFailed.into()));
                }
            }
        });
    };
    if is_sent() {
        check_delivery();
    }

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        // Caught here, not at the cost of an attempt: nothing typed, or too few digits.
        let typed = match typed_code(code) {
            Some(typed) if typed.chars().count() == usize::from(digits()) => typed,
            Some(_) => {
                let n = digits().to_string();
                code_error.set(Some(Said::new(move |i18n| {
                    i18n.tf(Text::CodeLength, &[("n", &n)])
                })));
                focus_on_mount("code");
                return;
            }
            None => {
                // An app's code comes from no message.
                let missing = if is_sent() {
                    Text::CodeRequired
                } else {
                    Text::AppCodeRequired
                };
                code_error.set(Some(missing.into()));
                focus_on_mount("code");
                return;
            }
        };
        error.set(None);
        info.set(None);
        busy.set(Some(if purpose.get_untracked() == Purpose::Unlock {
            Text::Unlocking
        } else {
            Text::Verifying
        }));
        spawn_local(async move {
            let flow_id = flow.get_value();
            match api::code(flow_id.clone(), typed, i18n.lang.get_untracked()).await {
                Ok(after) => step.set(Step::after_gate(flow_id, after)),
                Err(failure) => {
                    busy.set(None);
                    if failure.code().is_some_and(ErrorCode::is_about_the_code) {
                        code_error.set(Some(i18n.failure(&failure)));
                        focus_on_mount("code");
                    } else {
                        error.set(Some(i18n.failure(&failure)));
                    }
                }
            }
        });
    };

    let resend = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        code_error.set(None);
        info.set(None);
        busy.set(Some(Text::CodeSending));
        spawn_local(async move {
            match api::resend(flow.get_value()).await {
                Ok(again) => {
                    challenge.set(Challenge::Code(again));
                    code.set(String::new());
                    info.set(Some(Text::CodeResent.into()));
                    // Ready for the new code (the button pressed may have left the page).
                    focus_on_mount("code");
                    check_delivery();
                }
                Err(failure) => error.set(Some(i18n.failure_or_wait(&failure, Text::ResendWait))),
            }
            busy.set(None);
        });
    };

    let other = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        spawn_local(async move {
            let flow_id = flow.get_value();
            match api::other_method(flow_id.clone()).await {
                Ok(gate) => step.set(Step::Gate { flow_id, gate }),
                Err(failure) => error.set(Some(i18n.failure(&failure))),
            }
        });
    };

    let progress = Signal::derive(move || busy.get().map(|t| i18n.t(t).to_owned()));

    view! {
        <h1>{i18n.say(Text::StepVerify)}</h1>
        <ForUser />
        <p class="lead" id="code-sent">
            {move || match challenge.get() {
                Challenge::Code(s) => i18n.tf(sent_text(&s), &[("n", &s.code_length.to_string()), ("dest", &s.destination)]),
                Challenge::Authenticator { digits } => i18n.tf(Text::AuthenticatorPrompt, &[("n", &digits.to_string())]),
                Challenge::Questions { .. } => String::new(),
            }}
        </p>
        <form on:submit=submit novalidate>
            <label for="code">{i18n.say(Text::CodeLabel)}</label>
            <input
                id="code"
                name="code"
                class="code-input"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                autofocus
                maxlength=move || digits().to_string()
                // The hint is there only for a sent code (an app's code has none).
                aria-describedby=move || match (code_error.with(Option::is_some), is_sent()) {
                    (true, true) => "code-error code-hint",
                    (true, false) => "code-error",
                    (false, true) => "code-hint",
                    (false, false) => "",
                }
                aria-invalid=move || code_error.with(Option::is_some).then_some("true")
                prop:value=move || code.get()
                on:input=move |ev| {
                    code.set(event_target_value(&ev));
                    code_error.set(None);
                }
            />
            <FieldError id="code-error".to_owned() message=code_error.into() />
            {move || match challenge.get() {
                // Only a mail can end up among spam.
                Challenge::Code(s) => Some(view! {
                    <p id="code-hint" class="hint">
                        {move || i18n.tf(if s.method == Method::Mail { Text::CodeHint } else { Text::CodeHintPhone }, &[("min", &(s.code_ttl_secs / 60).to_string())])}
                    </p>
                }),
                Challenge::Authenticator { .. } | Challenge::Questions { .. } => None,
            }}
            <ErrorBanner error />
            {move || info.get().map(|m| view! { <div class="notice notice-info" role="status">{m.in_lang(&i18n)}</div> })}
            <button id="verify" type="submit" class="primary" disabled=move || busy.get().is_some()>
                {i18n.say(Text::Verify)}
            </button>
            <Show when=is_sent>
                <button id="resend" type="button" class="link" on:click=resend disabled=move || busy.get().is_some()>
                    {move || i18n.t(if matches!(challenge.get(), Challenge::Code(CodeSent { method: Method::MobileCall | Method::OfficeCall, .. })) { Text::CallAgain } else { Text::ResendCode })}
                </button>
            </Show>
            <button id="other-method" type="button" class="link" on:click=other disabled=move || busy.get().is_some()>
                {i18n.say(Text::OtherMethod)}
            </button>
            <Progress message=progress />
            <StartOver step />
        </form>
    }
}
