//! Registering verification methods: sign in with the current password (sealed here to the
//! agent's key), then add, replace or remove a mobile, an office phone, an alternate address
//! or an authenticator app. A new number or address counts once its code comes back.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::directory::directory_of;
use sspr_protocol::gate::Question;
use sspr_protocol::i18n::Text;
use sspr_protocol::register::{Enrolment, Registered, Slot, SlotState, Source};
use sspr_protocol::reset::CodeSent;
use sspr_protocol::ErrorCode;

use crate::api;
use crate::components::{show_failure, typed_username, UnavailableNotice, UsernameField};
use sspr_ui::components::{focus_on_mount, ErrorBanner, FieldError, PasswordInput, Progress};
use sspr_ui::i18n::{use_i18n, Said};
use sspr_ui::seal::seal;

/// What is waiting for its first code.
#[derive(Clone)]
enum Pending {
    Value(Slot),
    Sent(CodeSent),
    Enrol(Enrolment),
    /// Choosing questions and typing answers: one (question, answer) pair per row.
    Questions(Vec<(RwSignal<Question>, RwSignal<String>)>),
}

/// The id of a method's Add/Replace button.
fn edit_button_id(slot: Slot) -> String {
    format!("{}-edit", slot_id(slot))
}

fn slot_id(slot: Slot) -> &'static str {
    match slot {
        Slot::Mobile => "mobile",
        Slot::OfficePhone => "office-phone",
        Slot::AltMail => "alt-mail",
        Slot::Authenticator => "authenticator",
        Slot::Questions => "questions",
    }
}

#[component]
pub fn RegisterPage(available: RwSignal<Option<bool>>) -> impl IntoView {
    let registered = RwSignal::new(None::<Registered>);
    let signed_out = RwSignal::new(false);
    let i18n = use_i18n();
    view! {
        {move || match registered.get() {
            None => view! {
                {move || signed_out.get().then(|| view! {
                    <div class="notice notice-info" role="status" id="signed-out">{i18n.t(Text::SignedOut)}</div>
                })}
                <SignInForm available registered />
            }.into_any(),
            Some(r) => view! { <Methods registered signed_out initial=r /> }.into_any(),
        }}
    }
}

#[component]
fn SignInForm(
    available: RwSignal<Option<bool>>,
    registered: RwSignal<Option<Registered>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let directories = crate::app::use_directories();
    focus_on_mount("username");
    let username = RwSignal::new(crate::route::prefilled_user());
    let username_error = RwSignal::new(None::<Said>);
    let password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<Said>);
    let error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        // Both fields say what they miss at once; focus goes to the first.
        let name = typed_username(directories, username, username_error);
        if password.with_untracked(String::is_empty) {
            password_error.set(Some(Text::MissingCurrent.into()));
            if name.is_some() {
                focus_on_mount("password");
            }
            return;
        }
        let Some(name) = name else { return };
        busy.set(true);
        spawn_local(async move {
            let directory =
                directory_of(&name, &directories.all.get_untracked()).map(|d| d.dns_name.clone());
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
            match result {
                Ok(r) => registered.set(Some(r)),
                Err(failure) => {
                    show_failure(i18n, available, error, &failure);
                    busy.set(false);
                }
            }
        });
    };
    let progress = Signal::derive(move || busy.get().then(|| i18n.t(Text::SigningIn).to_owned()));
    view! {
        <h1>{i18n.say(Text::RegisterTitle)}</h1>
        <p class="lead">{i18n.say(Text::RegisterIntro)}</p>
        <UnavailableNotice available />
        <form on:submit=submit novalidate>
            <UsernameField value=username error=username_error />
            <PasswordInput id="password" label=Text::PasswordLabel value=password autocomplete="current-password" error=password_error />
            <ErrorBanner error />
            <button id="sign-in" type="submit" class="primary" disabled=move || busy.get()>
                {i18n.say(Text::SignInButton)}
            </button>
            <Progress message=progress />
        </form>
    }
}

#[component]
fn Methods(
    registered: RwSignal<Option<Registered>>,
    signed_out: RwSignal<bool>,
    initial: Registered,
) -> impl IntoView {
    let i18n = use_i18n();
    focus_on_mount("methods-title");
    let session = StoredValue::new(initial.session.clone());
    let heading = (initial.display_name.clone(), initial.primary_mail.clone());
    let to_register = initial.questions_to_register;
    let slots = RwSignal::new(initial.slots);
    let pending = RwSignal::new(None::<Pending>);
    // The method being set up: named above its form, and where Cancel returns focus.
    let editing = RwSignal::new(None::<Slot>);
    let value = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Said>);
    let info = RwSignal::new(None::<Said>);
    // What is wrong with the number, address or code being typed: at that field (one form at
    // a time is open).
    let field_error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<Text>);

    // Back in the list, keyboard focus goes to the method just edited (its button).
    let back_to_list = move || match editing.get_untracked() {
        Some(slot) => focus_on_mount(edit_button_id(slot)),
        None => focus_on_mount("methods-title"),
    };
    let saved = move |r: Registered| {
        slots.set(r.slots.clone());
        registered.update_untracked(|old| *old = Some(r));
        pending.set(None);
        code.set(String::new());
        value.set(String::new());
        info.set(Some(Text::MethodSaved.into()));
        busy.set(None);
        back_to_list();
    };
    let failed = move |failure: api::Failure| {
        error.set(Some(i18n.failure(&failure)));
        busy.set(None);
    };
    let begin = move |slot: Slot| {
        editing.set(Some(slot));
        error.set(None);
        field_error.set(None);
        info.set(None);
        value.set(String::new());
        code.set(String::new());
        if slot == Slot::Questions {
            let rows = Question::ALL
                .iter()
                .take(usize::from(to_register))
                .map(|q| (RwSignal::new(*q), RwSignal::new(String::new())))
                .collect();
            pending.set(Some(Pending::Questions(rows)));
            focus_on_mount("question-0");
            return;
        }
        if slot != Slot::Authenticator {
            pending.set(Some(Pending::Value(slot)));
            focus_on_mount("method-value");
            return;
        }
        busy.set(Some(Text::Saving));
        spawn_local(async move {
            match api::enrol_authenticator(session.get_value()).await {
                Ok(e) => {
                    pending.set(Some(Pending::Enrol(e)));
                    busy.set(None);
                    // At the set-up's heading, not the code field: the key and how to scan it
                    // come first, also for a screen reader.
                    focus_on_mount("editing");
                }
                Err(f) => failed(f),
            }
        });
    };
    let remove = move |slot: Slot| {
        editing.set(Some(slot));
        error.set(None);
        busy.set(Some(Text::Saving));
        spawn_local(async move {
            match api::remove(session.get_value(), slot).await {
                Ok(r) => {
                    // A number or address from the directory cannot be removed here: it
                    // counts again, and the page says which.
                    let kept = r
                        .slots
                        .iter()
                        .find(|s| s.slot == slot && s.source == Some(Source::Directory))
                        .map(|s| s.masked.replace(' ', "\u{a0}"));
                    saved(r);
                    info.set(Some(match kept {
                        Some(dest) => Said::new(move |i18n| {
                            i18n.tf(Text::MethodRemovedDirectoryKept, &[("dest", &dest)])
                        }),
                        None => Text::MethodRemoved.into(),
                    }));
                }
                Err(f) => failed(f),
            }
        });
    };
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(Pending::Value(slot)) = pending.get_untracked() else {
            return;
        };
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        if value.with_untracked(|v| v.trim().is_empty()) {
            let missing = if slot == Slot::AltMail {
                Text::MailValueRequired
            } else {
                Text::PhoneValueRequired
            };
            field_error.set(Some(missing.into()));
            focus_on_mount("method-value");
            return;
        }
        busy.set(Some(Text::CodeSending));
        spawn_local(async move {
            match api::add_contact(session.get_value(), slot, value.get_untracked()).await {
                Ok(sent) => {
                    pending.set(Some(Pending::Sent(sent)));
                    busy.set(None);
                    focus_on_mount("method-code");
                }
                Err(f) if f.code() == Some(ErrorCode::InvalidContact) => {
                    field_error.set(Some(i18n.failure(&f)));
                    busy.set(None);
                    focus_on_mount("method-value");
                }
                Err(f) => failed(f),
            }
        });
    };
    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        if code.with_untracked(|c| c.trim().is_empty()) {
            // An app's code comes from no message.
            let app = pending.with_untracked(|p| matches!(p, Some(Pending::Enrol(_))));
            let missing = if app {
                Text::AppCodeRequired
            } else {
                Text::CodeRequired
            };
            field_error.set(Some(missing.into()));
            focus_on_mount("method-code");
            return;
        }
        busy.set(Some(Text::Verifying));
        spawn_local(async move {
            match api::confirm(session.get_value(), code.get_untracked()).await {
                Ok(r) => saved(r),
                Err(f) if f.code().is_some_and(ErrorCode::is_about_the_code) => {
                    field_error.set(Some(i18n.failure(&f)));
                    busy.set(None);
                    focus_on_mount("method-code");
                }
                Err(f) => failed(f),
            }
        });
    };

    let save_questions = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(Pending::Questions(rows)) = pending.get_untracked() else {
            return;
        };
        if busy.get_untracked().is_some() {
            return;
        }
        let answers = rows
            .iter()
            .map(|(q, a)| (q.get_untracked(), a.get_untracked()))
            .collect();
        error.set(None);
        busy.set(Some(Text::Saving));
        spawn_local(async move {
            match api::set_questions(session.get_value(), answers).await {
                Ok(r) => saved(r),
                Err(f) => failed(f),
            }
        });
    };

    let row = move |s: SlotState| {
        let slot = s.slot;
        let id = slot_id(slot);
        let state = match s.source {
            Some(Source::Directory) => Text::SlotFromDirectory,
            Some(Source::User) => Text::SlotFromYou,
            None => Text::SlotNotSet,
        };
        let action = match (slot, s.source) {
            (Slot::Authenticator, None) => Text::SetUpMethod,
            (_, None) => Text::AddMethod,
            _ => Text::ReplaceMethod,
        };
        let removable = s.source == Some(Source::User);
        view! {
            <li class="slot" id=format!("slot-{id}")>
                <div class="slot-text">
                    <strong id=format!("slot-{id}-name")>{i18n.say(slot.text())}</strong>
                    <span class="slot-value">{s.masked.clone()}</span>
                    <span class="slot-state" data-source=match s.source {
                        Some(Source::Directory) => "directory",
                        Some(Source::User) => "user",
                        None => "none",
                    }>{i18n.say(state)}</span>
                </div>
                <div class="slot-actions">
                    // Named with their method ("Add Mobile phone"): a list of "Add" buttons is
                    // not told apart by ear.
                    <button type="button" class="secondary" id=edit_button_id(slot) aria-labelledby=format!("{} slot-{id}-name", edit_button_id(slot)) disabled=move || busy.get().is_some()
                        on:click=move |_| begin(slot)>{i18n.say(action)}</button>
                    {removable.then(|| view! {
                        <button type="button" class="link" id=format!("{id}-remove") aria-labelledby=format!("{id}-remove slot-{id}-name") disabled=move || busy.get().is_some()
                            on:click=move |_| remove(slot)>{i18n.say(Text::RemoveMethod)}</button>
                    })}
                </div>
            </li>
        }
    };

    let progress = Signal::derive(move || busy.get().map(|t| i18n.t(t).to_owned()));
    view! {
        <h1 id="methods-title" tabindex="-1">{i18n.say(Text::RegisterTitle)}</h1>
        <p class="lead">{move || i18n.tf(Text::RegisterSignedIn, &[("name", &heading.0), ("mail", &heading.1)])}</p>
        <ul class="slots">
            {move || slots.get().into_iter()
                .filter(|s| s.slot != Slot::Questions || to_register > 0)
                .map(row).collect_view()}
        </ul>
        {move || pending.with(Option::is_some).then(|| editing.get().map(|slot| view! {
            <h2 class="slot-form-title" id="editing" tabindex="-1">{i18n.say(slot.text())}</h2>
        }))}
        {move || pending.get().map(|p| match p {
            Pending::Value(slot) => view! {
                <form on:submit=send novalidate class="slot-form">
                    <label for="method-value">{move || i18n.t(if slot == Slot::AltMail { Text::MailValueLabel } else { Text::PhoneValueLabel })}</label>
                    <input id="method-value" type=if slot == Slot::AltMail { "email" } else { "tel" }
                        aria-describedby=move || field_error.with(Option::is_some).then_some("method-value-error")
                        aria-invalid=move || field_error.with(Option::is_some).then_some("true")
                        prop:value=move || value.get()
                        on:input=move |ev| { value.set(event_target_value(&ev)); field_error.set(None); } />
                    <FieldError id="method-value-error".to_owned() message=field_error.into() />
                    <button id="send-code" type="submit" class="primary" disabled=move || busy.get().is_some()>
                        {i18n.say(Text::SendCodeButton)}
                    </button>
                </form>
            }.into_any(),
            Pending::Questions(rows) => view! {
                <form on:submit=save_questions novalidate class="slot-form">
                    <p>{move || i18n.tf(Text::QuestionsSetUpHint, &[("n", &to_register.to_string())])}</p>
                    {rows.into_iter().enumerate().map(|(i, (question, answer))| view! {
                        <label for=format!("question-{i}")>{move || i18n.tf(Text::QuestionLabel, &[("n", &(i + 1).to_string())])}</label>
                        <select id=format!("question-{i}") on:change=move |ev| {
                            let picked = event_target_value(&ev).parse::<usize>().ok().and_then(|n| Question::ALL.get(n).copied());
                            if let Some(q) = picked { question.set(q); }
                        }>
                            {Question::ALL.iter().enumerate().map(|(n, q)| {
                                let q = *q;
                                view! { <option value=n.to_string() selected=move || question.get() == q>{i18n.say(q.text())}</option> }
                            }).collect_view()}
                        </select>
                        <label for=format!("answer-{i}")>{i18n.say(Text::AnswerLabel)}</label>
                        <input id=format!("answer-{i}") type="text" autocomplete="off"
                            prop:value=move || answer.get() on:input=move |ev| answer.set(event_target_value(&ev)) />
                    }).collect_view()}
                    <button id="save-questions" type="submit" class="primary" disabled=move || busy.get().is_some()>
                        {i18n.say(Text::SaveButton)}
                    </button>
                </form>
            }.into_any(),
            Pending::Sent(sent) => view! {
                <form on:submit=confirm novalidate class="slot-form">
                    <p id="method-sent">{move || i18n.tf(Text::CodeSentTo, &[("n", &sent.code_length.to_string()), ("dest", &sent.destination)])}</p>
                    <CodeField code error=field_error />
                </form>
            }.into_any(),
            Pending::Enrol(e) => {
                let src = format!("data:image/svg+xml;base64,{}", window().btoa(&e.qr_svg).unwrap_or_default());
                view! {
                    <form on:submit=confirm novalidate class="slot-form">
                        <p>{i18n.say(Text::AuthenticatorScan)}</p>
                        <img class="qr" src=src alt=i18n.say(Text::AuthenticatorQrAlt) width="200" height="200" />
                        <p>{i18n.say(Text::AuthenticatorSecretLabel)}" "<code id="totp-secret">{grouped(&e.secret)}</code></p>
                        <CodeField code error=field_error />
                    </form>
                }.into_any()
            }
        })}
        {move || pending.with(Option::is_some).then(|| view! {
            <button type="button" id="cancel-method" class="link subtle" disabled=move || busy.get().is_some()
                on:click=move |_| {
                    pending.set(None);
                    value.set(String::new());
                    code.set(String::new());
                    error.set(None);
                    field_error.set(None);
                    back_to_list();
                }>
                {i18n.say(Text::CancelSetUp)}
            </button>
        })}
        <ErrorBanner error />
        {move || info.get().map(|m| view! { <div class="notice notice-info" role="status" id="saved">{m.in_lang(&i18n)}</div> })}
        <Progress message=progress />
        // A shared PC: the next person finds nothing open.
        <button type="button" id="sign-out" class="secondary" disabled=move || busy.get().is_some()
            on:click=move |_| {
                let id = session.get_value();
                spawn_local(async move {
                    match api::sign_out(id).await {
                        Ok(()) => {
                            registered.set(None);
                            signed_out.set(true);
                        }
                        Err(failure) => error.set(Some(i18n.failure(&failure))),
                    }
                });
            }>
            {i18n.say(Text::SignOut)}
        </button>
    }
}

/// An authenticator key as people copy it by hand: in groups of four (apps ignore the spaces).
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
fn CodeField(code: RwSignal<String>, error: RwSignal<Option<Said>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <label for="method-code">{i18n.say(Text::CodeLabel)}</label>
        <input id="method-code" class="code-input" type="text" inputmode="numeric" autocomplete="one-time-code"
            aria-describedby=move || error.with(Option::is_some).then_some("method-code-error")
            aria-invalid=move || error.with(Option::is_some).then_some("true")
            prop:value=move || code.get()
            on:input=move |ev| { code.set(event_target_value(&ev)); error.set(None); } />
        <FieldError id="method-code-error".to_owned() message=error.into() />
        <button id="confirm-code" type="submit" class="primary">
            {i18n.say(Text::ConfirmCodeButton)}
        </button>
    }
}
