//! The helpdesk console's work: find an account, see its state, verify the caller, then reset
//! or unlock — each refused for accounts off limits to staff, each audited with who did it.
//! Every handler takes a [`StaffRequest`], which admits only a signed-in staff member and, for
//! a state change, only this portal's own page.

use crate::http::body::Api;
use axum::extract::State;
use sspr_protocol::gate::{Family, Method};
use sspr_protocol::helpdesk::{
    AccountRef, AccountView, ActionDone, ActionNote, AuditLine, CallerMethod, LinkSent, SearchHit,
    SearchRequest, SearchResults, StaffLink, StaffReset, StaffRevoke, StaffUnlock, VerifyAnswer,
    VerifySend, VerifySent, LINK_FRAGMENT,
};
use sspr_protocol::i18n::{t, tf, Lang, Notice};
use sspr_protocol::package::{Flags, Operation};
use sspr_protocol::relay::{AccountDetails, MIN_SEARCH_CHARS, SEARCH_LIMIT};
use sspr_protocol::reset::MAX_USERNAME_LEN;
use sspr_protocol::ErrorCode;

use crate::courier::{self, Parcel};
use crate::crypto;
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::codes::{code_hash, CodeRules, CodeScope, PendingCode};
use crate::domain::contact::mask_mail;
use crate::domain::flow::{AccountTarget, ResetFlow};
use crate::domain::package::{self, Order, Secrets};
use crate::domain::registration::{contacts_of, slots_of, Contact, Registration, TotpCheck};
use crate::domain::staff::{off_limits, CallerCheck, StaffSession};
use crate::http::error::AppError;
use crate::http::middleware::ClientAddress;
use crate::http::routes::gate::check_totp;
use crate::http::routes::register::mail_methods_changed;
use crate::http::routes::reset::{check_sealed, format_utc, send_notice};
use crate::http::routes::staff::StaffRequest;
use crate::relay::writeback;
use crate::state::AppState;

/// Audit lines shown with an account.
const RECENT_EVENTS: u32 = 10;

fn actor(session: &StaffSession) -> Actor {
    Actor::Helpdesk(session.account_name.clone())
}

/// Finds accounts in every directory served, through one live agent each.
pub async fn search(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<SearchRequest>,
) -> Result<Api<SearchResults>, AppError> {
    staff.session.signed_in()?;
    let query = request.query.trim();
    if query.chars().count() < MIN_SEARCH_CHARS || query.len() > MAX_USERNAME_LEN {
        return Err(ErrorCode::BadRequest.into());
    }
    let now = crate::now();
    let directories = state.hub.directories(now);
    if directories.is_empty() {
        return Err(ErrorCode::WritebackUnavailable.into());
    }
    let mut results = SearchResults {
        hits: Vec::new(),
        more: false,
    };
    for directory in directories {
        let Some(agent) = state.hub.for_directory(&directory.dns_name, now) else {
            continue;
        };
        let (accounts, more) = writeback::search(&state, &agent.id, query.to_owned()).await?;
        results.more |= more;
        results
            .hits
            .extend(accounts.into_iter().map(|account| SearchHit {
                directory: directory.dns_name.clone(),
                account,
            }));
    }
    results.more |= results.hits.len() > SEARCH_LIMIT;
    results.hits.truncate(SEARCH_LIMIT);
    Ok(Api(results))
}

/// The account as the agent sees it now.
async fn details(state: &AppState, account: &AccountRef) -> Result<AccountDetails, AppError> {
    let agent = state
        .hub
        .for_directory(&account.directory, crate::now())
        .ok_or(ErrorCode::WritebackUnavailable)?;
    writeback::details(state, &agent.id, account.anchor.clone())
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::AccountNotEligible))
}

/// The methods a code can go to for a caller check, with their destinations.
async fn contacts(state: &AppState, details: &AccountDetails) -> Result<Vec<Contact>, AppError> {
    let account = &details.account;
    let registration = state.store.registration(&account.anchor).await?;
    Ok(contacts_of(
        account.mail.first().map(String::as_str),
        &account.contacts,
        registration.as_ref(),
        &state.config.phone,
    ))
}

/// Where a caller check by `method` goes: the address or number, or `None` when the user has
/// no such method (an authenticator has no destination; its presence is checked apart).
fn destination(
    method: CallerMethod,
    details: &AccountDetails,
    contacts: &[Contact],
) -> Option<String> {
    let primary = details.account.mail.first();
    match method {
        CallerMethod::Mail => primary.cloned(),
        CallerMethod::AltMail => contacts
            .iter()
            .find(|c| c.family == Family::Mail && Some(&c.to) != primary)
            .map(|c| c.to.clone()),
        CallerMethod::MobileText => contacts
            .iter()
            .find(|c| c.family == Family::Mobile)
            .map(|c| c.to.clone()),
        CallerMethod::Authenticator => contacts
            .iter()
            .any(|c| c.family == Family::Authenticator)
            .then(String::new),
    }
}

async fn view(
    state: &AppState,
    session: &StaffSession,
    account: &AccountRef,
    mut details: AccountDetails,
) -> Result<AccountView, AppError> {
    // The rules a staff reset is held to, as the console shows them: no history where the
    // directory's DC cannot enforce it on a reset.
    let enforces_history = state
        .hub
        .for_directory(&account.directory, crate::now())
        .is_some_and(|agent| agent.heartbeat.reset_enforces_history);
    details.account.policy = details.account.policy.clone().for_reset(enforces_history);
    let contacts = contacts(state, &details).await?;
    let primary = details.account.mail.first().map(String::as_str);
    let name = &details.account.account_name;
    let canonical = format!("{name}@{}", account.directory);
    let recent = state
        .store
        .audit_about([name, &canonical], RECENT_EVENTS)
        .await?
        .into_iter()
        .map(|r| AuditLine {
            at: r.at,
            event: r.event.name().to_owned(),
            actor: r.actor.package_name(),
        })
        .collect();
    let helpdesk = &state.config.helpdesk;
    Ok(AccountView {
        directory: account.directory.clone(),
        methods: slots_of(primary, &contacts),
        primary_mail: primary.map(mask_mail).unwrap_or_default(),
        off_limits: off_limits(
            &details.account,
            &helpdesk.staff_groups,
            &helpdesk.protected_groups,
        ),
        caller_verified: session
            .caller
            .as_ref()
            .and_then(|c| c.verified_for(&account.directory, &account.anchor, crate::now())),
        may_skip_verification: helpdesk.allow_unverified,
        recent,
        details,
    })
}

pub async fn account(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(account): Api<AccountRef>,
) -> Result<Api<AccountView>, AppError> {
    staff.session.signed_in()?;
    let details = details(&state, &account).await?;
    Ok(Api(view(&state, &staff.session, &account, details).await?))
}

/// Refuses, audited, an action on an account off limits to staff.
async fn check_tier(
    state: &AppState,
    session: &StaffSession,
    details: &AccountDetails,
    action: &str,
) -> Result<(), AppError> {
    let helpdesk = &state.config.helpdesk;
    let Some(why) = off_limits(
        &details.account,
        &helpdesk.staff_groups,
        &helpdesk.protected_groups,
    ) else {
        return Ok(());
    };
    audit(
        state,
        session,
        &details.account.account_name,
        AuditEvent::StaffRefused {
            action: action.to_owned(),
            why,
        },
    )
    .await?;
    tracing::warn!(staff = %session.account_name, target = %details.account.account_name, ?why, action, "staff action refused: the account is off limits");
    Err(ErrorCode::TargetOffLimits.into())
}

/// Sends the caller a code by `method`; they read it back to the staff member.
pub async fn verify_send(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<VerifySend>,
) -> Result<Api<VerifySent>, AppError> {
    staff.session.signed_in()?;
    let details = details(&state, &request.account).await?;
    check_tier(&state, &staff.session, &details, "verify_caller").await?;
    let contacts = contacts(&state, &details).await?;
    let to =
        destination(request.method, &details, &contacts).ok_or(ErrorCode::MethodUnavailable)?;
    let now = crate::now();
    let rules = CodeRules::of(&state.config.reset);
    let (code, masked) = if request.method == CallerMethod::Authenticator {
        // Nothing to send: the caller reads the app's current code.
        (None, String::new())
    } else {
        let method = if request.method == CallerMethod::MobileText {
            courier::check_paid_send(&state, &to, now).await?;
            Method::MobileText
        } else {
            Method::Mail
        };
        courier::count_send(&state, &to, now).await?;
        let code = crypto::random_code(state.config.reset.code_length)?;
        let hash = code_hash(&state.keys, CodeScope::Caller, &staff.id_hash, &code)?;
        let parcel = Parcel {
            method,
            to: Some(to.clone()),
            code,
            lang: user_lang(&details),
        };
        courier::send(&state, &to, &parcel)
            .await
            .map_err(|_| AppError::code(ErrorCode::SendFailed))?;
        let masked = contacts
            .iter()
            .find(|c| c.to == to)
            .map(Contact::masked)
            .unwrap_or_default();
        let pending = PendingCode {
            hash,
            expires_at: now + rules.ttl_secs,
            attempts_left: rules.attempts,
        };
        (Some(pending), masked)
    };
    let check = CallerCheck {
        directory: request.account.directory.clone(),
        anchor: request.account.anchor.clone(),
        method: request.method,
        code,
        verified_until: None,
    };
    state
        .store
        .update_staff_session(&staff.id_hash, now, |s| s.caller = Some(check.clone()))
        .await?;
    Ok(Api(VerifySent {
        method: request.method,
        masked,
    }))
}

/// The code the caller read back.
pub async fn verify(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    staff: StaffRequest,
    Api(answer): Api<VerifyAnswer>,
) -> Result<Api<AccountView>, AppError> {
    staff.session.signed_in()?;
    let now = crate::now();
    let account = &answer.account;
    let Some(check) = staff
        .session
        .caller
        .as_ref()
        .filter(|c| c.directory == account.directory && c.anchor == account.anchor)
        .filter(|c| c.method == answer.method)
    else {
        return Err(ErrorCode::WrongStep.into());
    };
    // An app's code is checked here (it needs the registration); a sent code inside the
    // update below, against the code and the attempts as they are then: answers sent at once
    // try no more codes than the code allows, and one sent meanwhile is not verified by this.
    let (app_right, typed) = match &check.code {
        None => (
            matches!(
                check_totp(&state, &account.anchor, &answer.code, now).await?,
                TotpCheck::Accepted(_)
            ),
            None,
        ),
        Some(_) => (
            false,
            Some(code_hash(
                &state.keys,
                CodeScope::Caller,
                &staff.id_hash,
                &answer.code,
            )?),
        ),
    };
    let until = now + state.config.helpdesk.caller_verified_secs.max(60);
    // The account's name for the audit either way; asked before the answer is recorded, so a
    // wrong guess is recorded even if the agent is away by then.
    let details = details(&state, account).await?;
    let outcome = state
        .store
        .update_staff_session(&staff.id_hash, now, |s| {
            // The check as it is now: one for another account (another tab) is not verified
            // by this answer.
            let Some(check) = s.caller.as_mut().filter(|c| {
                c.directory == account.directory
                    && c.anchor == account.anchor
                    && c.method == answer.method
            }) else {
                return Err(ErrorCode::WrongStep);
            };
            let right = match (&check.code, &typed) {
                (None, None) => app_right,
                (Some(code), Some(typed)) => {
                    code.expires_at > now
                        && code.attempts_left > 0
                        && crypto::equal(&code.hash, typed)
                }
                // A code sent, or an app chosen, since the answer was read.
                _ => false,
            };
            if right {
                check.code = None;
                check.verified_until = Some(until);
                return Ok(s.clone());
            }
            match check.code.as_mut() {
                Some(code) if code.attempts_left > 1 => {
                    code.attempts_left -= 1;
                    Err(ErrorCode::WrongCode)
                }
                Some(_) => {
                    s.caller = None;
                    Err(ErrorCode::CodeExhausted)
                }
                None => Err(ErrorCode::WrongCode),
            }
        })
        .await?;
    let session = match outcome {
        Ok(session) => session,
        Err(reason) => {
            state
                .failed_guess(&details.account.account_name, &client, reason)
                .await?;
            return Err(reason.into());
        }
    };
    audit(
        &state,
        &session,
        &details.account.account_name,
        AuditEvent::CallerVerified {
            method: answer.method,
        },
    )
    .await?;
    Ok(Api(view(&state, &session, account, details).await?))
}

/// How the caller was verified for this account, or the audited reason staff acted without.
fn caller_proof(
    state: &AppState,
    session: &StaffSession,
    account: &AccountRef,
    note: &ActionNote,
) -> Result<Option<CallerMethod>, AppError> {
    let now = crate::now();
    if let Some(method) = session
        .caller
        .as_ref()
        .and_then(|c| c.verified_for(&account.directory, &account.anchor, now))
    {
        return Ok(Some(method));
    }
    let reason = note.skip_reason.as_deref().map(str::trim).unwrap_or("");
    if state.config.helpdesk.allow_unverified && !reason.is_empty() {
        return Ok(None);
    }
    Err(ErrorCode::CallerNotVerified.into())
}

fn clean_note(note: &ActionNote) -> Result<(Option<String>, Option<String>), AppError> {
    let clean = |s: &Option<String>| -> Result<Option<String>, AppError> {
        match s.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) if s.chars().count() > 200 || s.chars().any(char::is_control) => {
                Err(ErrorCode::BadRequest.into())
            }
            Some(s) => Ok(Some(s.to_owned())),
        }
    };
    Ok((clean(&note.ticket)?, clean(&note.skip_reason)?))
}

/// What every staff action on an account starts with: the account as it is now, refused if
/// off limits (audited), and the caller's verification (or the reason staff went without).
struct Authorized {
    details: AccountDetails,
    caller: Option<CallerMethod>,
    ticket: Option<String>,
    skip_reason: Option<String>,
}

async fn authorize(
    state: &AppState,
    session: &StaffSession,
    account: &AccountRef,
    note: &ActionNote,
    action: &str,
) -> Result<Authorized, AppError> {
    session.signed_in()?;
    let (ticket, skip_reason) = clean_note(note)?;
    let details = details(state, account).await?;
    check_tier(state, session, &details, action).await?;
    let caller = caller_proof(state, session, account, note)?;
    Ok(Authorized {
        details,
        caller,
        ticket,
        skip_reason,
    })
}

/// Audits what `session`'s staff member did to `subject`.
async fn audit(
    state: &AppState,
    session: &StaffSession,
    subject: &str,
    event: AuditEvent,
) -> Result<(), AppError> {
    state
        .store
        .audit(&AuditRecord {
            at: crate::now(),
            actor: actor(session),
            subject: subject.to_owned(),
            event,
        })
        .await?;
    Ok(())
}

/// Sends one helpdesk package to the directory's agent.
async fn apply(
    state: &AppState,
    session: &StaffSession,
    account: &AccountRef,
    op: Operation,
    secrets: Secrets,
    flags: Flags,
) -> Result<String, AppError> {
    let now = crate::now();
    let agent = match &secrets.sealed {
        Some(sealed) => state
            .hub
            .holding_key(&account.directory, &sealed.key_id, now)
            .ok_or(ErrorCode::AgentChanged)?,
        None => state
            .hub
            .for_directory(&account.directory, now)
            .ok_or(ErrorCode::WritebackUnavailable)?,
    };
    let helpdesk = &state.config.helpdesk;
    let request_id = package::request_id()?;
    let actor = actor(session);
    let order = Order {
        op,
        anchor: &account.anchor,
        actor: &actor,
        request_id: request_id.clone(),
        off_limits: helpdesk
            .staff_groups
            .iter()
            .chain(&helpdesk.protected_groups)
            .cloned()
            .collect(),
    };
    let ttl = state.config.relay.package_ttl_secs;
    let body = package::build(order, secrets, flags, now, ttl);
    let applied = writeback::apply(state, &agent.id, &body)
        .await
        .map_err(AppError::from);
    state.metrics.writeback(
        op,
        applied.as_ref().map(|_| ()).map_err(AppError::error_code),
    );
    applied.map(|()| request_id)
}

pub async fn reset(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<StaffReset>,
) -> Result<Api<ActionDone>, AppError> {
    let session = &staff.session;
    check_sealed(&request.sealed)?;
    let Authorized {
        details,
        caller,
        ticket,
        skip_reason,
    } = authorize(&state, session, &request.account, &request.note, "reset").await?;
    let name = details.account.account_name.clone();
    let flags = Flags {
        must_change_at_next_logon: request.must_change_at_next_logon,
    };
    let secrets = Secrets {
        sealed: Some(request.sealed),
        sealed_old: None,
    };
    let outcome = apply(
        &state,
        session,
        &request.account,
        Operation::Reset,
        secrets,
        flags,
    )
    .await;
    let request_id = match outcome {
        Ok(id) => id,
        Err(e) => {
            audit(
                &state,
                session,
                &name,
                AuditEvent::ResetRefused {
                    reason: e.error_code(),
                },
            )
            .await?;
            return Err(e);
        }
    };
    // The reset is done: recorded and told before anything else can fail.
    audit(
        &state,
        session,
        &name,
        AuditEvent::StaffReset {
            request_id: request_id.clone(),
            caller,
            ticket,
            skip_reason,
            must_change: request.must_change_at_next_logon,
        },
    )
    .await?;
    let notified = notify(&state, &details, name.clone(), Operation::Reset);
    if request.unlock && details.account.locked {
        let unlocked = apply(
            &state,
            session,
            &request.account,
            Operation::Unlock,
            Secrets::default(),
            Flags::default(),
        )
        .await;
        if let Err(e) = unlocked {
            let reason = e.error_code();
            audit(&state, session, &name, AuditEvent::UnlockRefused { reason }).await?;
            return Err(e);
        }
    }
    Ok(Api(ActionDone {
        request_id,
        user_notified: notified,
    }))
}

pub async fn unlock(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<StaffUnlock>,
) -> Result<Api<ActionDone>, AppError> {
    let session = &staff.session;
    let Authorized {
        details,
        caller,
        ticket,
        skip_reason,
    } = authorize(&state, session, &request.account, &request.note, "unlock").await?;
    let name = details.account.account_name.clone();
    let request_id = apply(
        &state,
        session,
        &request.account,
        Operation::Unlock,
        Secrets::default(),
        Flags::default(),
    )
    .await?;
    audit(
        &state,
        session,
        &name,
        AuditEvent::StaffUnlock {
            request_id: request_id.clone(),
            caller,
            ticket,
            skip_reason,
        },
    )
    .await?;
    let notified = notify(&state, &details, name, Operation::Unlock);
    Ok(Api(ActionDone {
        request_id,
        user_notified: notified,
    }))
}

/// The language of what the user is sent on the service desk's behalf: their `preferredLanguage`
/// in AD, else the portal's default.
fn user_lang(details: &AccountDetails) -> Lang {
    details
        .account
        .language
        .as_deref()
        .map(Lang::from_tags)
        .unwrap_or_default()
}

/// Tells the user by mail what the service desk did; false when the account has no address.
fn notify(state: &AppState, details: &AccountDetails, name: String, op: Operation) -> bool {
    let Some(to) = details.account.mail.first() else {
        return false;
    };
    let notice = match op {
        Operation::Unlock => (Notice::MailStaffUnlockSubject, Notice::MailStaffUnlockBody),
        _ => (Notice::MailStaffResetSubject, Notice::MailStaffResetBody),
    };
    send_notice(state, to.clone(), name, notice, user_lang(details));
    true
}

/// Mails the user a single-use, short-lived link to set their own password (after Kanidm's
/// reset tokens): the staff member never learns it. The link opens a reset flow already past
/// its gates — the caller was verified here instead — at the new-password step, where the
/// portal shows the live policy rules and seals the password to the agent like every reset.
pub async fn link(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<StaffLink>,
) -> Result<Api<LinkSent>, AppError> {
    let session = &staff.session;
    if !matches!(request.method, CallerMethod::Mail | CallerMethod::AltMail) {
        return Err(ErrorCode::MethodUnavailable.into());
    }
    let Authorized {
        details,
        caller,
        ticket,
        skip_reason,
    } = authorize(&state, session, &request.account, &request.note, "link").await?;
    let account = &details.account;
    if !account.eligible() {
        return Err(ErrorCode::AccountNotEligible.into());
    }
    let contacts = contacts(&state, &details).await?;
    let to =
        destination(request.method, &details, &contacts).ok_or(ErrorCode::MethodUnavailable)?;
    let now = crate::now();
    courier::count_send(&state, &to, now).await?;
    let ttl = state.config.helpdesk.link_ttl_secs.max(60);
    let target = AccountTarget {
        anchor: account.anchor.clone(),
        account_name: account.account_name.clone(),
        display_name: account.display_name.clone(),
        mail: account.mail.first().cloned().unwrap_or_default(),
        policy: account.policy.clone(),
        directory: request.account.directory.clone(),
        locked: account.locked,
    };
    let token = crypto::random_token()?;
    state
        .store
        .insert_flow(
            &crypto::token_hash(&token),
            &ResetFlow::from_link(target, user_lang(&details), now, ttl),
        )
        .await?;
    let expires_at = now + ttl;
    let url = format!(
        "{}/#{LINK_FRAGMENT}={token}",
        state.config.public_url.trim_end_matches('/')
    );
    let lang = user_lang(&details);
    let body = tf(
        lang,
        Notice::MailLinkBody,
        &[
            ("account", &account.account_name),
            ("time", &format_utc(expires_at)),
            ("link", &url),
        ],
    );
    state
        .mailer
        .send(&to, t(lang, Notice::MailLinkSubject), body)
        .await
        .map_err(|_| AppError::code(ErrorCode::SendFailed))?;
    audit(
        &state,
        session,
        &account.account_name,
        AuditEvent::StaffLinkSent {
            caller,
            ticket,
            skip_reason,
            expires_at,
        },
    )
    .await?;
    let masked = contacts
        .iter()
        .find(|c| c.to == to)
        .map(Contact::masked)
        .unwrap_or_default();
    Ok(Api(LinkSent { masked, expires_at }))
}

/// Removes a method the user registered (a stolen phone), or clears the whole registration so
/// the user must register again. The user is told at the addresses they had.
pub async fn revoke(
    State(state): State<AppState>,
    staff: StaffRequest,
    Api(request): Api<StaffRevoke>,
) -> Result<Api<AccountView>, AppError> {
    let session = &staff.session;
    let Authorized {
        details,
        caller,
        ticket,
        skip_reason,
    } = authorize(&state, session, &request.account, &request.note, "revoke").await?;
    let now = crate::now();
    let account = &details.account;
    // What it was before, from the same turn that changes it: its alternate address is told.
    let before = state
        .store
        .update_registration(&account.anchor, now, |r| {
            let before = r.clone();
            match request.slot {
                Some(slot) => r.remove(slot),
                None => *r = Registration::default(),
            }
            before
        })
        .await?;
    audit(
        &state,
        session,
        &account.account_name,
        AuditEvent::StaffRevoked {
            slot: request.slot,
            caller,
            ticket,
            skip_reason,
        },
    )
    .await?;
    let lang = user_lang(&details);
    let change = match request.slot {
        Some(slot) => tf(
            lang,
            Notice::ChangeRemoved,
            &[("method", t(lang, slot.text()))],
        ),
        None => t(lang, Notice::ChangeCleared).to_owned(),
    };
    mail_methods_changed(
        &state,
        account.mail.first().map(String::as_str),
        Some(&before),
        &account.account_name,
        &change,
        lang,
    );
    Ok(Api(view(&state, session, &request.account, details).await?))
}
