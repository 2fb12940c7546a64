//! One account at a glance: its state; why staff may not act on it, if so, else the caller
//! check and the actions; then its methods (masked, with where each came from) and its recent
//! events.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sspr_protocol::helpdesk::{AccountRef, AccountView, AuditLine, CallerMethod, OffLimits};
use sspr_protocol::i18n::{ConsoleText, Text};
use sspr_protocol::register::{Slot, SlotState, Source};
use sspr_ui::components::{focus_on_mount, ErrorBanner, Progress};
use sspr_ui::i18n::use_i18n;

use crate::api;
use crate::app::use_desk;
use crate::pages::actions::{Actions, Outcome};
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
    let error = RwSignal::new(None::<String>);
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
    let yes_no = move |b: bool| i18n.t(if b { ConsoleText::Yes } else { ConsoleText::No });
    let enabled = account.enabled;
    let locked_since = details.locked_since;
    let locked = account.locked;
    let last_set = details.password_last_set;
    let expires = details.password_expires;
    let must_change = details.must_change;
    let bad = details.bad_password_count;
    let groups = account.groups.join(", ");
    let primary_mail = view.primary_mail.clone();
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
                    view! { <span class="badge badge-ok">{move || i18n.t(ConsoleText::Enabled)}</span> }.into_any()
                } else {
                    view! { <span class="badge badge-bad">{move || i18n.t(ConsoleText::Disabled)}</span> }.into_any()
                }}
                {locked.then(|| view! { <span class="badge badge-warn">{move || i18n.t(ConsoleText::Locked)}</span> })}
            </span>
        </p>
        {off_limits.map(|why| view! {
            <div class="notice notice-warning" role="alert" id="off-limits">
                <strong>{move || i18n.t(ConsoleText::OffLimitsTitle)}</strong>
                <p>{move || i18n.t(off_limits_text(why))}</p>
            </div>
        })}
        <h3>{move || i18n.t(ConsoleText::StateTitle)}</h3>
        <dl class="facts" id="state">
            <dt>{move || i18n.t(ConsoleText::StateAccount)}</dt>
            <dd id="state-enabled">{move || i18n.t(if enabled { ConsoleText::Enabled } else { ConsoleText::Disabled })}</dd>
            <dt>{move || i18n.t(ConsoleText::StateLockout)}</dt>
            <dd id="state-locked">{move || match (locked, locked_since) {
                (true, Some(at)) => i18n.tf(ConsoleText::LockedSince, &[("time", &local(at))]),
                (true, None) => i18n.t(ConsoleText::Locked).to_owned(),
                (false, _) => i18n.t(ConsoleText::NotLocked).to_owned(),
            }}</dd>
            <dt>{move || i18n.t(ConsoleText::StatePasswordSet)}</dt>
            // `pwdLastSet` is 0 while the user must change: the password was set, but
            // awaits the user's own.
            <dd id="state-password-set">{move || match (last_set, must_change) {
                (Some(at), _) => local(at),
                (None, true) => i18n.t(ConsoleText::AwaitingOwn).to_owned(),
                (None, false) => i18n.t(ConsoleText::NotSet).to_owned(),
            }}</dd>
            <dt>{move || i18n.t(ConsoleText::StatePasswordExpires)}</dt>
            <dd id="state-expires">{move || match (expires, must_change) {
                (Some(at), _) => local(at),
                (None, true) => "—".to_owned(),
                (None, false) => i18n.t(ConsoleText::Never).to_owned(),
            }}</dd>
            <dt>{move || i18n.t(ConsoleText::StateMustChange)}</dt>
            <dd id="state-must-change">{move || yes_no(must_change)}</dd>
            <dt>{move || i18n.t(ConsoleText::StateBadPasswords)}</dt>
            <dd id="state-bad-passwords">{bad}</dd>
            {(!groups.is_empty()).then(|| view! {
                <dt>{move || i18n.t(ConsoleText::StateGroups)}</dt>
                <dd id="state-groups">{groups.clone()}</dd>
            })}
        </dl>
        {off_limits.is_none().then(|| view! {
            <h3>{move || i18n.t(ConsoleText::CallerTitle)}</h3>
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
        {may_act.then(|| view! { <Actions view=view.clone() done reload /> })}
        {(off_limits.is_none() && !may_act).then(|| view! {
            <p class="hint" id="verify-first">{move || i18n.t(Text::ErrCallerNotVerified)}</p>
        })}
        <h3>{move || i18n.t(ConsoleText::MethodsTitle)}</h3>
        <ul class="slots" id="methods">
            {(!primary_mail.is_empty()).then(|| view! {
                <li class="slot" data-slot="mail">
                    <div class="slot-text">
                        <strong>{move || i18n.t(ConsoleText::PrimaryMail)}</strong>
                        <span class="slot-value">{primary_mail.clone()}</span>
                        <span class="slot-state">{move || i18n.t(ConsoleText::FromDirectory)}</span>
                    </div>
                </li>
            })}
            {methods.into_iter().map(|m| {
                let source = m.source;
                view! {
                    <li class="slot" data-slot=format!("{:?}", m.slot).to_lowercase()>
                        <div class="slot-text">
                            <strong>{move || i18n.t(m.slot.text())}</strong>
                            <span class="slot-value">{m.masked.clone()}</span>
                            <span class="slot-state">{move || i18n.t(match source {
                                Some(Source::Directory) => ConsoleText::FromDirectory,
                                Some(Source::User) => ConsoleText::FromUser,
                                None => ConsoleText::NotSetUp,
                            })}</span>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
        <h3>{move || i18n.t(ConsoleText::RecentTitle)}</h3>
        <Recent lines=recent />
    }
}

#[component]
fn Recent(lines: Vec<AuditLine>) -> impl IntoView {
    let i18n = use_i18n();
    if lines.is_empty() {
        return view! { <p class="hint" id="recent-none">{move || i18n.t(ConsoleText::RecentNone)}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="recent" id="recent">
                <thead>
                    <tr>
                        <th scope="col">{move || i18n.t(ConsoleText::RecentTime)}</th>
                        <th scope="col">{move || i18n.t(ConsoleText::RecentEvent)}</th>
                        <th scope="col">{move || i18n.t(ConsoleText::RecentActor)}</th>
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
