//! What staff do for a verified caller: set a new password (typed, or generated here and shown
//! once), sealed in this browser to the directory's agent like every password; mail the user a
//! one-time link to set their own; or lift a lockout. Each names the ticket, and the user is
//! told by mail.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::{
    AccountRef, AccountView, ActionNote, CallerMethod, StaffLink, StaffReset, StaffUnlock,
};
use sspr_protocol::i18n::{ConsoleText, Text};
use sspr_protocol::policy::AccountNames;
use sspr_protocol::register::Slot;
use sspr_protocol::{ErrorCode, UnixTime};
use sspr_ui::components::password_rules::{PasswordCheck, PasswordRules};
use sspr_ui::components::{ErrorBanner, PasswordInput, Progress};
use sspr_ui::i18n::{use_i18n, I18n, Said};
use sspr_ui::seal::seal;

use crate::api::{self, Failure};
use crate::app::use_desk;
use crate::generate;
use crate::time::clock;

/// What the last action did, for the account panel to say (in the language in force).
#[derive(Clone)]
pub enum Outcome {
    Reset {
        name: String,
        must_change: bool,
        unlocked: bool,
        notified: bool,
    },
    Unlocked {
        name: String,
        notified: bool,
    },
    LinkSent {
        masked: String,
        until: UnixTime,
    },
    Removed {
        name: String,
        slot: Slot,
    },
    Cleared {
        name: String,
    },
}

impl Outcome {
    /// What was done, and whether the user was told.
    pub fn text(&self, i18n: I18n) -> String {
        let (mut text, notified) = match self {
            Outcome::Reset {
                name,
                must_change,
                unlocked,
                notified,
            } => {
                let mut text = i18n.tf(ConsoleText::ResetDone, &[("name", name)]);
                for (yes, more) in [
                    (*must_change, ConsoleText::ResetDoneMustChange),
                    (*unlocked, ConsoleText::ResetDoneUnlocked),
                ] {
                    if yes {
                        text.push(' ');
                        text.push_str(i18n.t(more));
                    }
                }
                (text, *notified)
            }
            Outcome::Unlocked { name, notified } => (
                i18n.tf(ConsoleText::UnlockDone, &[("name", name)]),
                *notified,
            ),
            Outcome::LinkSent { masked, until } => {
                return i18n.tf(
                    ConsoleText::LinkSent,
                    &[("dest", masked), ("time", &clock(*until))],
                );
            }
            Outcome::Removed { name, slot } => {
                return i18n.tf(
                    ConsoleText::MethodRemoved,
                    &[("method", i18n.t(slot.text())), ("name", name)],
                );
            }
            Outcome::Cleared { name } => {
                return i18n.tf(ConsoleText::RegistrationCleared, &[("name", name)]);
            }
        };
        text.push(' ');
        text.push_str(i18n.t(if notified {
            ConsoleText::UserNotified
        } else {
            ConsoleText::UserNotNotified
        }));
        text
    }
}

fn trimmed(value: RwSignal<String>) -> Option<String> {
    let value = value.get_untracked().trim().to_owned();
    (!value.is_empty()).then_some(value)
}

/// What is noted with every action — the ticket, and why the caller was not verified — typed
/// once above the actions and sent with any of them (a method's removal too).
#[derive(Clone, Copy)]
pub struct NoteFields {
    pub ticket: RwSignal<String>,
    pub skip_reason: RwSignal<String>,
    /// The caller is not verified: a reason is asked for.
    pub skipping: bool,
}

impl NoteFields {
    pub fn new(skipping: bool) -> Self {
        Self {
            ticket: RwSignal::new(String::new()),
            skip_reason: RwSignal::new(String::new()),
            skipping,
        }
    }

    pub fn note(&self) -> ActionNote {
        ActionNote {
            ticket: trimmed(self.ticket),
            skip_reason: self.skipping.then(|| trimmed(self.skip_reason)).flatten(),
        }
    }
}

/// Where a one-time link can go: the account's address, and the alternate one if it has one.
fn link_destinations(view: &AccountView) -> Vec<(CallerMethod, String)> {
    let mut to = Vec::new();
    if !view.primary_mail.is_empty() {
        to.push((CallerMethod::Mail, view.primary_mail.clone()));
    }
    if let Some(alt) = view
        .methods
        .iter()
        .find(|m| m.slot == Slot::AltMail && m.source.is_some())
    {
        to.push((CallerMethod::AltMail, alt.masked.clone()));
    }
    to
}

#[component]
pub fn Actions(
    view: AccountView,
    fields: NoteFields,
    done: RwSignal<Option<Outcome>>,
    reload: Callback<Option<&'static str>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let destinations = link_destinations(&view);
    let details = view.details;
    let account = StoredValue::new(AccountRef {
        directory: view.directory.clone(),
        anchor: details.account.anchor.clone(),
    });
    let name = StoredValue::new(details.account.display_name.clone());
    let locked = details.account.locked;
    let must_verify_or_skip = fields.skipping;
    let link_to = RwSignal::new(destinations.first().map(|d| d.0));
    let names = AccountNames {
        account_name: details.account.account_name.clone(),
        display_name: details.account.display_name.clone(),
    };
    // The account's own rules (domain or fine-grained), which the agent holds the reset to.
    let policy = details.account.policy.clone();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let generated = RwSignal::new(None::<String>);
    let copied = RwSignal::new(false);
    let must_change = RwSignal::new(true);
    let also_unlock = RwSignal::new(locked);
    let NoteFields {
        ticket,
        skip_reason,
        ..
    } = fields;
    let error = RwSignal::new(None::<Said>);
    let unlock_error = RwSignal::new(None::<Said>);
    let link_error = RwSignal::new(None::<Said>);
    let busy = RwSignal::new(None::<ConsoleText>);
    let check = PasswordCheck::new(
        policy.clone(),
        Signal::stored(names.clone()),
        password,
        confirm,
    );
    let policy = StoredValue::new(policy);
    let names = StoredValue::new(names);

    let note = move || -> ActionNote { fields.note() };
    let failed = move |failure: Failure, error: RwSignal<Option<Said>>| {
        busy.set(None);
        desk.failed(i18n, &failure, error);
    };
    let generate = move |_| {
        let made = policy.with_value(|p| names.with_value(|n| generate::password(p, n)));
        match made {
            Some(p) => {
                password.set(p.clone());
                confirm.set(p.clone());
                generated.set(Some(p));
                copied.set(false);
                error.set(None);
            }
            None => error.set(Some(ConsoleText::GenerateFailed.into())),
        }
    };
    let copy = move |_| {
        let Some(text) = generated.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let promise = window().navigator().clipboard().write_text(&text);
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => copied.set(true),
                Err(_) => error.set(Some(ConsoleText::CopyFailed.into())),
            }
        });
    };
    let reset = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked().is_some() || !check.ready() {
            return;
        }
        error.set(None);
        done.set(None);
        busy.set(Some(ConsoleText::Resetting));
        let unlock = locked && also_unlock.get_untracked();
        let must = must_change.get_untracked();
        spawn_local(async move {
            let account = account.get_value();
            // The key of the agents of the account's directory, asked for now: a key from
            // before an agent changed would be refused.
            let key = match api::change_key(Some(&account.directory)).await {
                Ok(key) => key,
                Err(failure) => return failed(failure, error),
            };
            let sealed = match seal(&key.agent_key, &password.get_untracked()).await {
                Ok(sealed) => sealed,
                Err(e) => {
                    busy.set(None);
                    error.set(Some(e.text().into()));
                    return;
                }
            };
            let request = StaffReset {
                account,
                sealed,
                must_change_at_next_logon: must,
                unlock,
                note: note(),
            };
            match api::reset(request).await {
                Ok(answer) => {
                    password.set(String::new());
                    confirm.set(String::new());
                    generated.set(None);
                    done.set(Some(Outcome::Reset {
                        name: name.get_value(),
                        must_change: must,
                        unlocked: unlock,
                        notified: answer.user_notified,
                    }));
                    busy.set(None);
                    reload.run(Some("action-done"));
                }
                Err(failure) => {
                    if failure.code() == Some(ErrorCode::AgentChanged) {
                        // Pressing Reset again seals to the new agent's key.
                        error.set(Some(i18n.failure(&failure)));
                        busy.set(None);
                    } else {
                        failed(failure, error);
                    }
                }
            }
        });
    };
    let unlock = move |_| {
        if busy.get_untracked().is_some() {
            return;
        }
        unlock_error.set(None);
        done.set(None);
        busy.set(Some(ConsoleText::UnlockingAccount));
        spawn_local(async move {
            let request = StaffUnlock {
                account: account.get_value(),
                note: note(),
            };
            match api::unlock(request).await {
                Ok(answer) => {
                    done.set(Some(Outcome::Unlocked {
                        name: name.get_value(),
                        notified: answer.user_notified,
                    }));
                    busy.set(None);
                    reload.run(Some("action-done"));
                }
                Err(failure) => failed(failure, unlock_error),
            }
        });
    };
    let send_link = move |_| {
        let Some(method) = link_to.get_untracked() else {
            return;
        };
        if busy.get_untracked().is_some() {
            return;
        }
        link_error.set(None);
        done.set(None);
        busy.set(Some(ConsoleText::SendingLink));
        spawn_local(async move {
            let request = StaffLink {
                account: account.get_value(),
                method,
                note: note(),
            };
            match api::link(request).await {
                Ok(sent) => {
                    done.set(Some(Outcome::LinkSent {
                        masked: sent.masked,
                        until: sent.expires_at,
                    }));
                    busy.set(None);
                    reload.run(Some("action-done"));
                }
                Err(failure) => failed(failure, link_error),
            }
        });
    };

    // Each action's wait is shown where its button is.
    let waiting = move |phase: ConsoleText| {
        Signal::derive(move || (busy.get() == Some(phase)).then(|| i18n.t(phase).to_owned()))
    };
    view! {
        <h3>{i18n.say(ConsoleText::ActionsTitle)}</h3>
        <form on:submit=reset novalidate class="actions" id="reset-form">
            // What is noted with either action, first.
            <label for="ticket">{i18n.say(ConsoleText::TicketLabel)}</label>
            <input id="ticket" name="ticket" type="text" autocomplete="off" maxlength="200"
                aria-describedby="ticket-hint"
                prop:value=move || ticket.get() on:input=move |ev| ticket.set(event_target_value(&ev)) />
            <p class="hint" id="ticket-hint">{i18n.say(ConsoleText::TicketHint)}</p>
            {must_verify_or_skip.then(|| view! {
                <label for="skip-reason">{i18n.say(ConsoleText::SkipReasonLabel)}</label>
                <input id="skip-reason" name="skip-reason" type="text" autocomplete="off" maxlength="200"
                    aria-describedby="skip-reason-hint"
                    prop:value=move || skip_reason.get() on:input=move |ev| skip_reason.set(event_target_value(&ev)) />
                <p class="hint" id="skip-reason-hint">{i18n.say(ConsoleText::SkipReasonHint)}</p>
            })}
            // Locked: lifting the lockout is the quick way, so it comes first.
            {locked.then(|| view! {
                <div class="unlock-section">
                    <h4>{i18n.say(ConsoleText::UnlockTitle)}</h4>
                    <p class="hint">{i18n.say(ConsoleText::UnlockHint)}</p>
                    <button id="unlock" type="button" class="secondary" on:click=unlock disabled=move || busy.get().is_some()>
                        {i18n.say(ConsoleText::UnlockButton)}
                    </button>
                    <ErrorBanner error=unlock_error id="unlock-error" />
                    <Progress message=waiting(ConsoleText::UnlockingAccount) id="unlock-progress" />
                </div>
            })}
            // A link lets the user choose their own password: staff never learn it.
            {(!destinations.is_empty()).then(|| view! {
                <div class="link-section">
                    <h4>{i18n.say(ConsoleText::LinkTitle)}</h4>
                    <p class="hint" id="link-hint">{i18n.say(ConsoleText::LinkHint)}</p>
                    <fieldset class="methods">
                        <legend>{i18n.say(ConsoleText::LinkLegend)}</legend>
                        {destinations.into_iter().map(|(method, masked)| {
                            let id = match method {
                                CallerMethod::AltMail => "link-alt-mail",
                                _ => "link-mail",
                            };
                            let label = match method {
                                CallerMethod::AltMail => ConsoleText::LinkToAltMail,
                                _ => ConsoleText::LinkToMail,
                            };
                            view! {
                                <label class="method" for=id>
                                    <input type="radio" name="link-to" id=id
                                        prop:checked=move || link_to.get() == Some(method)
                                        on:change=move |_| link_to.set(Some(method)) />
                                    <span>{move || i18n.t(label)}" "<span class="slot-value">{masked.clone()}</span></span>
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <button id="send-link" type="button" class="secondary" on:click=send_link
                        aria-describedby="link-hint" disabled=move || busy.get().is_some()>
                        {i18n.say(ConsoleText::LinkButton)}
                    </button>
                    <ErrorBanner error=link_error id="link-error" />
                    <Progress message=waiting(ConsoleText::SendingLink) id="link-progress" />
                </div>
            })}
            <h4>{i18n.say(ConsoleText::ResetTitle)}</h4>
            <PasswordInput id="new-password" label=Text::NewPasswordLabel value=password described_by="rules" />
            <button id="generate" type="button" class="secondary compact" on:click=generate>
                {i18n.say(ConsoleText::GenerateButton)}
            </button>
            {move || generated.get().map(|p| view! {
                <div class="generated">
                    <code id="generated" translate="no">{p}</code>
                    <button id="copy" type="button" class="secondary compact" on:click=copy>
                        {move || i18n.t(if copied.get() { ConsoleText::Copied } else { ConsoleText::CopyButton })}
                    </button>
                </div>
                <p class="hint" role="status" id="generated-hint">{i18n.say(ConsoleText::GeneratedHint)}</p>
            })}
            <PasswordRules check password for_someone_else=true />
            <PasswordInput id="confirm-password" label=Text::ConfirmPasswordLabel value=confirm />
            <label class="check" for="must-change">
                <input id="must-change" type="checkbox" prop:checked=move || must_change.get()
                    on:change=move |ev| must_change.set(event_target_checked(&ev)) />
                {i18n.say(ConsoleText::MustChangeLabel)}
            </label>
            {locked.then(|| view! {
                <label class="check" for="also-unlock">
                    <input id="also-unlock" type="checkbox" prop:checked=move || also_unlock.get()
                        on:change=move |ev| also_unlock.set(event_target_checked(&ev)) />
                    {i18n.say(ConsoleText::AlsoUnlockLabel)}
                </label>
            })}
            <ErrorBanner error id="action-error" />
            <button id="reset" type="submit" class="primary" disabled=move || busy.get().is_some() || !check.ready()>
                {i18n.say(ConsoleText::ResetButton)}
            </button>
            <Progress message=waiting(ConsoleText::Resetting) id="reset-progress" />
        </form>
    }
}
