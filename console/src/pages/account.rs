//! One account at a glance: its state; why staff may not act on it, if so, else the caller
//! check and the actions; then its methods (masked, with where each came from) and its recent
//! events — staff can remove what the user registered (a lost phone), or clear it all.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::{
    AccountRef, AccountView, AuditLine, CallerMethod, OffLimits, StaffRevoke,
};
use sspr_protocol::i18n::{ConsoleText, Text};
use sspr_protocol::register::{Slot, SlotState, Source};
use sspr_ui::components::{focus_on_mount, ErrorBanner, Progress};
use sspr_ui::i18n::{use_i18n, Said};

use crate::api;
use crate::app::use_desk;
use crate::pages::actions::{Actions, NoteFields, Outcome};
use crate::pages::verify::CallerCheck;
use crate::time::local;

pub fn method_text(method: CallerMethod) -> ConsoleText {
    match method {
        CallerMethod::Mail => ConsoleText::CallerMail,
        CallerMethod::AltMail => ConsoleText::CallerAltMail,
        CallerMethod::MobileText => ConsoleText::CallerMobileText,
        CallerMethod::Authenticator => ConsoleText::CallerAuthenticator,
    }
}

/// How the caller was verified, in a word or two.
fn verified_by(method: CallerMethod) -> ConsoleText {
    match method {
        CallerMethod::Mail => ConsoleText::VerifiedByMail,
        CallerMethod::AltMail => ConsoleText::VerifiedByAltMail,
        CallerMethod::MobileText => ConsoleText::VerifiedByText,
        CallerMethod::Authenticator => ConsoleText::VerifiedByApp,
    }
}

fn off_limits_text(why: OffLimits) -> ConsoleText {
    match why {
        OffLimits::Protected => ConsoleText::OffLimitsProtected,
        OffLimits::ProtectedGroup => ConsoleText::OffLimitsProtectedGroup,
        OffLimits::Staff => ConsoleText::OffLimitsStaff,
    }
}

/// The audit's event names, in words where the console knows them.
fn event_text(event: &str) -> Option<ConsoleText> {
    Some(match event {
        "reset_succeeded" => ConsoleText::EventResetSucceeded,
        "reset_refused" => ConsoleText::EventResetRefused,
        "unlock_succeeded" => ConsoleText::EventUnlockSucceeded,
        "unlock_refused" => ConsoleText::EventUnlockRefused,
        "change_succeeded" => ConsoleText::EventChangeSucceeded,
        "change_refused" => ConsoleText::EventChangeRefused,
        "staff_reset" => ConsoleText::EventStaffReset,
        "staff_unlock" => ConsoleText::EventStaffUnlock,
        "staff_link_sent" => ConsoleText::EventStaffLinkSent,
        "staff_revoked" => ConsoleText::EventStaffRevoked,
        "caller_verified" => ConsoleText::EventCallerVerified,
        "staff_refused" => ConsoleText::EventStaffRefused,
        "method_added" => ConsoleText::EventMethodAdded,
        "method_removed" => ConsoleText::EventMethodRemoved,
        "code_sent" => ConsoleText::EventCodeSent,
        "guess_failed" => ConsoleText::EventGuessFailed,
        "register_sign_in" => ConsoleText::EventRegisterSignIn,
        _ => return None,
    })
}

/// `loaded` hears of every fresh view of the account (the list keeps its badges right).
#[component]
pub fn AccountPanel(account: AccountRef, loaded: Callback<AccountView>) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let account = StoredValue::new(account);
    let view = RwSignal::new(None::<AccountView>);
    let error = RwSignal::new(None::<Said>);
    // What the last action did, kept while the account is reloaded.
    let done = RwSignal::new(None::<Outcome>);
    let loading = RwSignal::new(true);
    let reload = Callback::new(move |focus: Option<&'static str>| {
        loading.set(true);
        spawn_local(async move {
            match api::account(account.get_value()).await {
                Ok(v) => {
                    loaded.run(v.clone());
                    view.set(Some(v));
                    if let Some(id) = focus {
                        focus_on_mount(id);
                    }
                }
                Err(failure) => desk.failed(i18n, &failure, error),
            }
            loading.set(false);
        });
    });
    reload.run(Some("account-title"));

    let progress = Signal::derive(move || {
        loading
            .get()
            .then(|| i18n.t(ConsoleText::LoadingAccount).to_owned())
    });
    view! {
        <section class="card account-card" aria-labelledby="account-title" id="account">
            <Progress message=progress id="account-progress" />
            <ErrorBanner error id="account-error" />
            {move || view.get().map(|v| view! { <Account view=v panel=view done reload /> })}
        </section>
    }
}

#[component]
fn Account(
    view: AccountView,
    panel: RwSignal<Option<AccountView>>,
    done: RwSignal<Option<Outcome>>,
    reload: Callback<Option<&'static str>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let details = view.details.clone();
    let account = details.account.clone();
    let off_limits = view.off_limits;
    let verified = view.caller_verified;
    let may_act = off_limits.is_none() && (verified.is_some() || view.may_skip_verification);
    let fields = NoteFields::new(verified.is_none());
    let yes_no = move |b: bool| i18n.t(if b { ConsoleText::Yes } else { ConsoleText::No });
    let enabled = account.enabled;
    let locked_since = details.locked_since;
    let locked = account.locked;
    let last_set = details.password_last_set;
    let expires = details.password_expires;
    let must_change = details.must_change;
    let bad = details.bad_password_count;
    let groups = account.groups.join(", ");
    let methods: Vec<SlotState> = view
        .methods
        .iter()
        .filter(|m| m.slot != Slot::Questions || m.source.is_some())
        .cloned()
        .collect();
    let recent = view.recent.clone();
    view! {
        <h2 id="account-title" tabindex="-1">{account.display_name.clone()}</h2>
        <p class="account-sub">
            <span id="account-upn">{details.upn.clone()}</span>
            <span class="badges">
                {if enabled {
                    view! { <span class="badge badge-ok">{i18n.say(ConsoleText::Enabled)}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-bad">{i18n.say(ConsoleText::Disabled)}</span> }.into_any()
                }}
                {locked.then(|| view! { <span class="badge badge-warn">{i18n.say(ConsoleText::Locked)}</span> })}
            </span>
        </p>
        {off_limits.map(|why| view! {
            <div class="notice notice-warning" role="alert" id="off-limits">
                <strong>{i18n.say(ConsoleText::OffLimitsTitle)}</strong>
                <p>{move || i18n.t(off_limits_text(why))}</p>
            </div>
        })}
        <h3>{i18n.say(ConsoleText::StateTitle)}</h3>
        <dl class="facts" id="state">
            <dt>{i18n.say(ConsoleText::StateAccount)}</dt>
            <dd id="state-enabled">{move || i18n.t(if enabled { ConsoleText::Enabled } else { ConsoleText::Disabled })}</dd>
            <dt>{i18n.say(ConsoleText::StateLockout)}</dt>
            <dd id="state-locked">{move || match (locked, locked_since) {
                (true, Some(at)) => i18n.tf(ConsoleText::LockedSince, &[("time", &local(at))]),
                (true, None) => i18n.t(ConsoleText::Locked).to_owned(),
                (false, _) => i18n.t(ConsoleText::NotLocked).to_owned(),
            }}</dd>
            <dt>{i18n.say(ConsoleText::StatePasswordSet)}</dt>
            // `pwdLastSet` is 0 while the user must change: the password was set, but
            // awaits the user's own.
            <dd id="state-password-set">{move || match (last_set, must_change) {
                (Some(at), _) => local(at),
                (None, true) => i18n.t(ConsoleText::AwaitingOwn).to_owned(),
                (None, false) => i18n.t(ConsoleText::NotSet).to_owned(),
            }}</dd>
            <dt>{i18n.say(ConsoleText::StatePasswordExpires)}</dt>
            <dd id="state-expires">{move || match (expires, must_change) {
                (Some(at), _) => local(at),
                (None, true) => "—".to_owned(),
                (None, false) => i18n.t(ConsoleText::Never).to_owned(),
            }}</dd>
            <dt>{i18n.say(ConsoleText::StateMustChange)}</dt>
            <dd id="state-must-change">{move || yes_no(must_change)}</dd>
            <dt>{i18n.say(ConsoleText::StateBadPasswords)}</dt>
            <dd id="state-bad-passwords">{bad}</dd>
            {(!groups.is_empty()).then(|| view! {
                <dt>{i18n.say(ConsoleText::StateGroups)}</dt>
                <dd id="state-groups">{groups.clone()}</dd>
            })}
        </dl>
        {off_limits.is_none().then(|| view! {
            <h3>{i18n.say(ConsoleText::CallerTitle)}</h3>
            {match verified {
                Some(method) => view! {
                    <p class="notice notice-ok" role="status" id="caller-verified">
                        {move || i18n.tf(ConsoleText::CallerVerified, &[("method", i18n.t(verified_by(method)))])}
                    </p>
                }.into_any(),
                None => view! { <CallerCheck view=view.clone() panel /> }.into_any(),
            }}
        })}
        {move || done.get().map(|o| view! { <p class="notice notice-ok" role="status" id="action-done" tabindex="-1">{move || o.text(i18n)}</p> })}
        {may_act.then(|| view! { <Actions view=view.clone() fields done reload /> })}
        {(off_limits.is_none() && !may_act).then(|| view! {
            <p class="hint" id="verify-first">{i18n.say(Text::ErrCallerNotVerified)}</p>
        })}
        <h3>{i18n.say(ConsoleText::MethodsTitle)}</h3>
        <Methods view=view.clone() methods may_act fields panel done />
        <h3>{i18n.say(ConsoleText::RecentTitle)}</h3>
        <Recent lines=recent />
    }
}

/// The account's methods; with `may_act`, a "Remove" by each the user registered and "Clear
/// registration", each asking for a second click before it acts.
#[component]
fn Methods(
    view: AccountView,
    methods: Vec<SlotState>,
    may_act: bool,
    fields: NoteFields,
    panel: RwSignal<Option<AccountView>>,
    done: RwSignal<Option<Outcome>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let desk = use_desk();
    let account = StoredValue::new(AccountRef {
        directory: view.directory.clone(),
        anchor: view.details.account.anchor.clone(),
    });
    let name = StoredValue::new(view.details.account.display_name.clone());
    let primary_mail = view.primary_mail.clone();
    let registered = methods.iter().any(|m| m.source == Some(Source::User));
    // What awaits its second click: Some(Some(slot)) one method, Some(None) all of them.
    let confirming = RwSignal::new(None::<Option<Slot>>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Said>);

    let ask = move |slot: Option<Slot>| {
        error.set(None);
        confirming.set(Some(slot));
        focus_on_mount("confirm-removal");
    };
    let keep = move |_| {
        let slot = confirming.get_untracked();
        confirming.set(None);
        focus_on_mount(match slot {
            Some(Some(slot)) => remove_id(slot),
            _ => "clear-registration",
        });
    };
    let remove = move |_| {
        let Some(slot) = confirming.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        done.set(None);
        busy.set(true);
        spawn_local(async move {
            let request = StaffRevoke {
                account: account.get_value(),
                slot,
                note: fields.note(),
            };
            match api::revoke(request).await {
                Ok(updated) => {
                    let name = name.get_value();
                    busy.set(false);
                    done.set(Some(match slot {
                        Some(slot) => Outcome::Removed { name, slot },
                        None => Outcome::Cleared { name },
                    }));
                    // The panel is drawn anew from the answer: this component goes with it.
                    panel.set(Some(updated));
                    focus_on_mount("action-done");
                }
                Err(failure) => {
                    busy.set(false);
                    desk.failed(i18n, &failure, error);
                }
            }
        });
    };
    // The question and its two buttons, under what it is about.
    let confirm_row = move |slot: Option<Slot>| {
        move || {
            (confirming.get() == Some(slot)).then(|| {
                let question = move || match slot {
                    Some(slot) => i18n.tf(
                        ConsoleText::RemoveConfirmHint,
                        &[("method", i18n.t(slot.text()))],
                    ),
                    None => i18n.t(ConsoleText::ClearConfirmHint).to_owned(),
                };
                view! {
                    <div class="confirm-removal" role="group" aria-labelledby="confirm-question">
                        <p id="confirm-question">{question}</p>
                        <div class="slot-actions">
                            <button id="confirm-removal" type="button" class="danger" on:click=remove
                                disabled=move || busy.get()>
                                {i18n.say(ConsoleText::ConfirmRemoval)}
                            </button>
                            <button id="keep" type="button" class="secondary" on:click=keep
                                disabled=move || busy.get()>
                                {i18n.say(ConsoleText::KeepButton)}
                            </button>
                        </div>
                    </div>
                }
            })
        }
    };
    let progress =
        Signal::derive(move || busy.get().then(|| i18n.t(ConsoleText::Removing).to_owned()));
    view! {
        <ul class="slots" id="methods">
            {(!primary_mail.is_empty()).then(|| view! {
                <li class="slot" data-slot="mail">
                    <div class="slot-text">
                        <strong>{i18n.say(ConsoleText::PrimaryMail)}</strong>
                        <span class="slot-value">{primary_mail.clone()}</span>
                        <span class="slot-state">{i18n.say(ConsoleText::FromDirectory)}</span>
                    </div>
                </li>
            })}
            {methods.into_iter().map(|m| {
                let source = m.source;
                let slot = m.slot;
                let removable = may_act && source == Some(Source::User);
                view! {
                    <li class="slot" data-slot=format!("{slot:?}").to_lowercase()>
                        <div class="slot-row">
                            <div class="slot-text">
                                <strong>{move || i18n.t(slot.text())}</strong>
                                <span class="slot-value">{m.masked.clone()}</span>
                                <span class="slot-state">{move || i18n.t(match source {
                                    Some(Source::Directory) => ConsoleText::FromDirectory,
                                    Some(Source::User) => ConsoleText::FromUser,
                                    None => ConsoleText::NotSetUp,
                                })}</span>
                            </div>
                            {removable.then(|| view! {
                                <button id=remove_id(slot) type="button" class="secondary compact remove"
                                    aria-label=move || format!("{} — {}", i18n.t(ConsoleText::RemoveButton), i18n.t(slot.text()))
                                    aria-expanded=move || (confirming.get() == Some(Some(slot))).to_string()
                                    disabled=move || busy.get()
                                    on:click=move |_| ask(Some(slot))>
                                    {i18n.say(ConsoleText::RemoveButton)}
                                </button>
                            })}
                        </div>
                        {confirm_row(Some(slot))}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(may_act && registered).then(|| view! {
            <div class="clear-section">
                <p class="hint" id="clear-hint">{i18n.say(ConsoleText::ClearHint)}</p>
                <button id="clear-registration" type="button" class="secondary"
                    aria-describedby="clear-hint"
                    aria-expanded=move || (confirming.get() == Some(None)).to_string()
                    disabled=move || busy.get()
                    on:click=move |_| ask(None)>
                    {i18n.say(ConsoleText::ClearButton)}
                </button>
                {confirm_row(None)}
            </div>
        })}
        <ErrorBanner error id="methods-error" />
        <Progress message=progress id="methods-progress" />
    }
}

fn remove_id(slot: Slot) -> &'static str {
    match slot {
        Slot::Mobile => "remove-mobile",
        Slot::OfficePhone => "remove-officephone",
        Slot::AltMail => "remove-altmail",
        Slot::Authenticator => "remove-authenticator",
        Slot::Questions => "remove-questions",
    }
}

#[component]
fn Recent(lines: Vec<AuditLine>) -> impl IntoView {
    let i18n = use_i18n();
    if lines.is_empty() {
        return view! { <p class="hint" id="recent-none">{i18n.say(ConsoleText::RecentNone)}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="recent" id="recent">
                <thead>
                    <tr>
                        <th scope="col">{i18n.say(ConsoleText::RecentTime)}</th>
                        <th scope="col">{i18n.say(ConsoleText::RecentEvent)}</th>
                        <th scope="col">{i18n.say(ConsoleText::RecentActor)}</th>
                    </tr>
                </thead>
                <tbody>
                    {lines
                        .into_iter()
                        .map(|line| {
                            let event = line.event.clone();
                            view! {
                                <tr data-event=line.event.clone()>
                                    <td class="nowrap">{local(line.at)}</td>
                                    <td>{move || event_text(&event).map_or_else(|| event.clone(), |t| i18n.t(t).to_owned())}</td>
                                    <td>{line.actor}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
