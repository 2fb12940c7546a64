//! Signing in: user ID and password (sealed here to the agent's key, checked by the agent
//! binding as the staff member), then the staff member's own second factor.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::directory::directory_of;
use sspr_protocol::helpdesk::{Factor, FactorOffer};
use sspr_protocol::i18n::{ConsoleText, Text};
use sspr_ui::components::{focus_on_mount, typed_code, ErrorBanner, PasswordInput, Progress};
use sspr_ui::i18n::{use_i18n, Said};
use sspr_ui::seal::seal;

use crate::api;
use crate::app::{use_desk, Ended};

#[component]
pub fn SignInPage() -> impl IntoView {
    let offers = RwSignal::new(None::<Vec<FactorOffer>>);
    move || match offers.get() {
        None => view! { <PasswordStep offers /> }.into_any(),
        Some(list) => view! { <FactorStep offers list /> }.into_any(),
    }
}

#[component]
fn PasswordStep(offers: RwSignal<Option<Vec<FactorOffer>>>) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    focus_on_mount("username");
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let name = username.get_untracked().trim().to_owned();
        if name.is_empty() {
            error.set(Some(Text::UsernameRequired.into()));
            focus_on_mount("username");
            return;
        }
        error.set(None);
        desk.ended.set(None);
        busy.set(true);
        spawn_local(async move {
            // Sealed to an agent of the staff member's own directory.
            let directories = api::status()
                .await
                .map(|s| s.directories)
                .unwrap_or_default();
            let directory = directory_of(&name, &directories).map(|d| d.dns_name.clone());
            let result = match api::change_key(directory.as_deref()).await {
                Ok(key) => match seal(&key.agent_key, &password.get_untracked()).await {
                    Ok(sealed) => api::sign_in(name, sealed, i18n.lang.get_untracked()).await,
                    Err(e) => {
                        error.set(Some(e.text().into()));
                        busy.set(false);
                        return;
                    }
                },
                Err(failure) => Err(failure),
            };
            password.set(String::new());
            busy.set(false);
            match result {
                Ok(needed) => offers.set(Some(needed.offers)),
                Err(failure) => {
                    error.set(Some(i18n.failure(&failure)));
                    focus_on_mount("password");
                }
            }
        });
    };
    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::SigningIn).to_owned()));
    view! {
        <h1>{i18n.say(ConsoleText::SignInTitle)}</h1>
        <p class="lead">{i18n.say(ConsoleText::SignInIntro)}</p>
        {move || desk.ended.get().map(|e| view! { <div class="notice notice-info" role="status" id="session-ended">{move || e.text(i18n)}</div> })}
        <form on:submit=submit novalidate>
            <label for="username">{i18n.say(Text::UsernameLabel)}</label>
            <input
                id="username"
                name="username"
                type="text"
                autocomplete="username"
                autocapitalize="none"
                spellcheck="false"
                required
                prop:value=move || username.get()
                on:input=move |ev| username.set(event_target_value(&ev))
            />
            <PasswordInput id="password" label=Text::PasswordLabel value=password autocomplete="current-password" />
            <ErrorBanner error />
            <button id="sign-in" type="submit" class="primary" disabled=move || busy.get() || password.get().is_empty()>
                {i18n.say(Text::SignInButton)}
            </button>
            <Progress message=progress />
        </form>
    }
}

fn factor_id(factor: Factor) -> &'static str {
    match factor {
        Factor::Authenticator => "factor-authenticator",
        Factor::Mail => "factor-mail",
    }
}

#[component]
fn FactorStep(offers: RwSignal<Option<Vec<FactorOffer>>>, list: Vec<FactorOffer>) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let first = list.first().map_or(Factor::Authenticator, |o| o.factor);
    focus_on_mount(factor_id(first));
    let chosen = RwSignal::new(first);
    // Where the mailed code went, once it is on its way.
    let sent = RwSignal::new(None::<String>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<Text>);
    // Not signed in yet: a session that ended (too many wrong codes, or idle) starts over.
    let failed = move |failure: api::Failure| {
        busy.set(None);
        if failure.code() == Some(sspr_protocol::ErrorCode::SessionEnded) {
            desk.ended.set(Some(Ended::Refused(failure)));
            offers.set(None);
        } else {
            error.set(Some(i18n.failure(&failure)));
            focus_on_mount("factor-code");
        }
    };

    let send = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        busy.set(Some(Text::CodeSending));
        spawn_local(async move {
            match api::send_factor(Factor::Mail).await {
                Ok(offer) => {
                    sent.set(Some(offer.masked));
                    busy.set(None);
                    focus_on_mount("factor-code");
                }
                Err(failure) => failed(failure),
            }
        });
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        let Some(typed) = typed_code(code) else {
            error.set(Some(ConsoleText::FactorCodeRequired.into()));
            focus_on_mount("factor-code");
            return;
        };
        error.set(None);
        busy.set(Some(Text::Verifying));
        spawn_local(async move {
            match api::second_factor(chosen.get_untracked(), typed).await {
                Ok(session) => {
                    desk.ended.set(None);
                    desk.staff.set(Some(session));
                }
                Err(failure) => {
                    code.set(String::new());
                    failed(failure);
                }
            }
        });
    };

    let offer_label = move |offer: &FactorOffer| match offer.factor {
        Factor::Authenticator => i18n.t(ConsoleText::FactorAuthenticator).to_owned(),
        Factor::Mail => i18n.tf(ConsoleText::FactorMail, &[("dest", &offer.masked)]),
    };
    let mail_chosen = move || chosen.get() == Factor::Mail;
    let progress = Signal::derive(move || busy.get().map(|t| i18n.t(t).to_owned()));
    view! {
        <h1>{i18n.say(ConsoleText::FactorTitle)}</h1>
        <p class="lead">{i18n.say(ConsoleText::FactorIntro)}</p>
        <form on:submit=submit novalidate>
            <fieldset class="methods">
                <legend class="sr-only">{i18n.say(ConsoleText::FactorLegend)}</legend>
                {list
                    .into_iter()
                    .map(|offer| {
                        let factor = offer.factor;
                        let id = factor_id(factor);
                        view! {
                            <label class="method" for=id>
                                <input
                                    type="radio"
                                    name="factor"
                                    id=id
                                    prop:checked=move || chosen.get() == factor
                                    on:change=move |_| {
                                        chosen.set(factor);
                                        code.set(String::new());
                                        error.set(None);
                                    }
                                />
                                <span>{move || offer_label(&offer)}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <Show when=mail_chosen>
                <button id="send-code" type="button" class="secondary" on:click=send disabled=move || busy.get().is_some()>
                    {move || i18n.t(if sent.get().is_some() { Text::ResendCode } else { Text::SendCodeButton })}
                </button>
                {move || sent.get().map(|dest| view! {
                    <p class="notice notice-info" role="status" id="factor-sent">{move || i18n.tf(ConsoleText::FactorSent, &[("dest", &dest)])}</p>
                })}
            </Show>
            <Show when=move || !mail_chosen() || sent.get().is_some()>
                <label for="factor-code">{i18n.say(Text::CodeLabel)}</label>
                <input
                    id="factor-code"
                    name="code"
                    class="code-input"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
                <button id="continue" type="submit" class="primary" disabled=move || busy.get().is_some()>
                    {i18n.say(Text::Continue)}
                </button>
            </Show>
            <ErrorBanner error />
            <Progress message=progress />
            <button id="start-over" type="button" class="link subtle" on:click=move |_| offers.set(None)>
                {i18n.say(Text::Cancel)}
            </button>
        </form>
    }
}
