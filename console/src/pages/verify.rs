//! The caller check: a code goes to one of the user's own methods (or their authenticator app
//! shows one), the caller reads it out, the staff member types it in.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::{AccountRef, AccountView, CallerMethod};
use sspr_protocol::i18n::{ConsoleText, Text};
use sspr_protocol::register::Slot;
use sspr_ui::components::{focus_on_mount, typed_code, ErrorBanner, Progress};
use sspr_ui::i18n::{use_i18n, Said};

use crate::api;
use crate::app::use_desk;
use crate::pages::account::method_text;

/// What the check is waiting for.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Sending,
    Checking,
}

fn method_id(method: CallerMethod) -> &'static str {
    match method {
        CallerMethod::Mail => "caller-mail",
        CallerMethod::AltMail => "caller-alt-mail",
        CallerMethod::MobileText => "caller-mobile-text",
        CallerMethod::Authenticator => "caller-authenticator",
    }
}

/// The methods this user has, with where a code would go (masked).
fn methods_of(view: &AccountView) -> Vec<(CallerMethod, String)> {
    let mut methods = Vec::new();
    if !view.primary_mail.is_empty() {
        methods.push((CallerMethod::Mail, view.primary_mail.clone()));
    }
    for slot in &view.methods {
        let method = match slot.slot {
            _ if slot.source.is_none() => continue,
            Slot::AltMail => CallerMethod::AltMail,
            Slot::Mobile => CallerMethod::MobileText,
            Slot::Authenticator => CallerMethod::Authenticator,
            Slot::OfficePhone | Slot::Questions => continue,
        };
        methods.push((method, slot.masked.clone()));
    }
    methods
}

#[component]
pub fn CallerCheck(view: AccountView, panel: RwSignal<Option<AccountView>>) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let account = StoredValue::new(AccountRef {
        directory: view.directory.clone(),
        anchor: view.details.account.anchor.clone(),
    });
    let methods = methods_of(&view);
    let Some(first) = methods.first().map(|m| m.0) else {
        return view! { <p class="hint" id="caller-no-method">{i18n.say(ConsoleText::CallerNoMethod)}</p> }
            .into_any();
    };
    let chosen = RwSignal::new(first);
    // Where the code went (masked) once it is on its way; the app needs no sending.
    let sent = RwSignal::new(None::<String>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<Phase>);
    let is_app = move || chosen.get() == CallerMethod::Authenticator;

    let send = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        busy.set(Some(Phase::Sending));
        spawn_local(async move {
            match api::verify_send(account.get_value(), chosen.get_untracked()).await {
                Ok(done) => {
                    sent.set(Some(done.masked));
                    focus_on_mount("caller-code");
                }
                Err(failure) => desk.failed(i18n, &failure, error),
            }
            busy.set(None);
        });
    };
    let check = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let Some(typed) = typed_code(code) else {
            error.set(Some(ConsoleText::CallerCodeRequired.into()));
            focus_on_mount("caller-code");
            return;
        };
        error.set(None);
        busy.set(Some(Phase::Checking));
        spawn_local(async move {
            match api::verify(account.get_value(), chosen.get_untracked(), typed).await {
                Ok(updated) => {
                    // The actions appear: land in their first field.
                    panel.set(Some(updated));
                    focus_on_mount("ticket");
                }
                Err(failure) => {
                    code.set(String::new());
                    busy.set(None);
                    desk.failed(i18n, &failure, error);
                    focus_on_mount("caller-code");
                }
            }
        });
    };

    let progress = Signal::derive(move || {
        busy.get().map(|phase| {
            match phase {
                Phase::Sending => i18n.t(ConsoleText::SendingCode),
                Phase::Checking => i18n.t(Text::Verifying),
            }
            .to_owned()
        })
    });
    view! {
        <form on:submit=check novalidate class="caller-check" id="caller-check">
            <fieldset class="methods">
                <legend>{i18n.say(ConsoleText::CallerLegend)}</legend>
                {methods
                    .into_iter()
                    .map(|(method, masked)| {
                        let id = method_id(method);
                        view! {
                            <label class="method" for=id>
                                <input
                                    type="radio"
                                    name="caller-method"
                                    id=id
                                    prop:checked=move || chosen.get() == method
                                    on:change=move |_| {
                                        chosen.set(method);
                                        sent.set(None);
                                        code.set(String::new());
                                        error.set(None);
                                    }
                                />
                                <span>
                                    {move || i18n.t(method_text(method))}
                                    {(!masked.is_empty()).then(|| view! { " " <span class="slot-value">{masked.clone()}</span> })}
                                </span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            {move || if is_app() {
                Some(view! { <p class="hint" id="caller-app-hint">{i18n.say(ConsoleText::CallerAppHint)}</p> }.into_any())
            } else {
                Some(view! {
                    <button id="send-verify" type="button" class="secondary" on:click=send disabled=move || busy.get().is_some()>
                        {move || i18n.t(if sent.get().is_some() { Text::ResendCode } else { Text::SendCodeButton })}
                    </button>
                    {move || sent.get().map(|dest| view! {
                        <p class="notice notice-info" role="status" id="caller-sent">{move || i18n.tf(ConsoleText::CallerSent, &[("dest", &dest)])}</p>
                    })}
                }.into_any())
            }}
            <Show when=move || is_app() || sent.get().is_some()>
                <label for="caller-code">{i18n.say(ConsoleText::CallerCodeLabel)}</label>
                <input
                    id="caller-code"
                    name="caller-code"
                    class="code-input"
                    type="text"
                    inputmode="numeric"
                    autocomplete="off"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
                <button id="verify-caller" type="submit" class="primary" disabled=move || busy.get().is_some()>
                    {i18n.say(Text::Verify)}
                </button>
            </Show>
            <ErrorBanner error id="caller-error" />
            <Progress message=progress id="caller-progress" />
        </form>
    }
    .into_any()
}
