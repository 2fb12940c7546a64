//! Registration of verification methods. The user signs in with the current password, sealed
//! to the agent and checked by it binding as the user; after that the session may add (with a
//! code to the new number or address), replace or remove methods. Every change is mailed to the
//! user's other addresses, so a stranger's registration does not go unnoticed.

use crate::http::body::Api;
use axum::extract::State;
use qrcode::render::svg;
use qrcode::QrCode;
use sspr_protocol::gate::{normalize_answer, Method, Question, MIN_ANSWER_CHARS};
use sspr_protocol::i18n::{t, tf, Lang, Notice};
use sspr_protocol::register::{
    AddContact, Confirm, Enrolment, Registered, RemoveSlot, SessionRef, SetQuestions, SignIn, Slot,
    Source,
};
use sspr_protocol::reset::CodeSent;
use sspr_protocol::ErrorCode;

use crate::courier::{self, Parcel};
use crate::crypto::{self, token_hash};
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::codes::{code_hash, CodeRules, CodeScope};
use crate::domain::contact::Number;
use crate::domain::registration::{
    Authenticator, Confirmed, NewContact, RegisterSession, Registration, StoredAnswer, TOTP_DIGITS,
};
use crate::http::error::AppError;
use crate::http::middleware::ClientAddress;
use crate::http::routes::reset::format_utc;
use crate::http::routes::sign_in::check_password;
use crate::state::AppState;

/// A registration session lives this long; every step must come within it.
const SESSION_TTL_SECS: i64 = 900;

async fn registered(
    state: &AppState,
    id: String,
    session: &RegisterSession,
) -> Result<Registered, AppError> {
    let registration = state.store.registration(&session.anchor).await?;
    Ok(Registered {
        session: id,
        account_name: session.account_name.clone(),
        display_name: session.display_name.clone(),
        primary_mail: session
            .mail
            .as_deref()
            .map(crate::domain::contact::mask_mail)
            .unwrap_or_default(),
        slots: session.slots(registration.as_ref(), &state.config.phone),
        questions_to_register: if state.config.policy.methods.contains(&Method::Questions) {
            state.config.policy.questions_to_register
        } else {
            0
        },
    })
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(request): Api<SignIn>,
) -> Result<Api<Registered>, AppError> {
    let now = crate::now();
    let account = check_password(
        &state,
        &client,
        &request.username,
        request.sealed_password,
        now,
        |_| true,
    )
    .await?;
    let session = RegisterSession {
        expires_at: now + SESSION_TTL_SECS,
        lang: request.lang,
        anchor: account.anchor,
        account_name: account.account_name,
        display_name: account.display_name,
        mail: account.mail.first().cloned(),
        directory: account.contacts,
        pending: None,
    };
    let id = crypto::random_token()?;
    state
        .store
        .insert_session(&token_hash(&id), &session)
        .await?;
    state
        .store
        .audit(&AuditRecord {
            at: now,
            actor: Actor::SelfService,
            subject: session.account_name.clone(),
            event: AuditEvent::RegisterSignIn,
        })
        .await?;
    Ok(Api(registered(&state, id, &session).await?))
}

pub async fn current(
    State(state): State<AppState>,
    Api(request): Api<SessionRef>,
) -> Result<Api<Registered>, AppError> {
    let session = state
        .store
        .session(&token_hash(&request.session), crate::now())
        .await?;
    Ok(Api(registered(&state, request.session, &session).await?))
}

/// Ends the session at once: on a shared PC the next person finds nothing open. An unknown or
/// ended session is no error (a second press, a session that expired meanwhile).
pub async fn sign_out(
    State(state): State<AppState>,
    Api(request): Api<SessionRef>,
) -> Result<axum::http::StatusCode, AppError> {
    state
        .store
        .end_session(&token_hash(&request.session))
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A new number or address: checked, then a code goes to it. It counts once the code is back.
pub async fn add(
    State(state): State<AppState>,
    Api(request): Api<AddContact>,
) -> Result<Api<CodeSent>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.session);
    let contact = NewContact::read(
        request.slot,
        &request.value,
        &state.config.phone,
        &state.config.policy.methods,
    )?;
    // The session must be live before anything is counted or sent.
    let lang = state.store.session(&id_hash, now).await?.lang;
    if contact.method.uses_phone() {
        courier::check_paid_send(&state, &contact.value, now).await?;
    }
    courier::count_send(&state, &contact.value, now).await?;
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = registration_code_hash(&state, &id_hash, &code)?;
    let rules = CodeRules::of(&state.config.reset);
    state
        .store
        .update_session(&id_hash, now, |s| {
            s.expect_code(&contact, hash.clone(), rules, now)
        })
        .await?;
    // The user is signed in: timing reveals nothing here, so the send is awaited and a
    // provider's refusal is said at once.
    let parcel = Parcel {
        method: contact.method,
        to: Some(contact.value.clone()),
        code,
        lang,
    };
    courier::send(&state, &contact.value, &parcel)
        .await
        .map_err(|_| AppError::code(ErrorCode::SendFailed))?;
    let r = &state.config.reset;
    Ok(Api(CodeSent {
        method: contact.method,
        destination: contact.masked,
        code_length: r.code_length,
        code_ttl_secs: r.code_ttl_secs,
        resend_after_secs: r.resend_cooldown_secs,
    }))
}

fn registration_code_hash(state: &AppState, id_hash: &str, code: &str) -> Result<String, AppError> {
    Ok(code_hash(
        &state.keys,
        CodeScope::Registration,
        id_hash,
        code,
    )?)
}

/// Starts enrolling an authenticator app: a new secret, shown as a QR code and as text.
pub async fn authenticator(
    State(state): State<AppState>,
    Api(request): Api<SessionRef>,
) -> Result<Api<Enrolment>, AppError> {
    if !state.config.policy.methods.contains(&Method::Authenticator) {
        return Err(ErrorCode::MethodUnavailable.into());
    }
    let now = crate::now();
    let secret = Authenticator::new_secret()?;
    let attempts = state.config.reset.code_attempts;
    let account = state
        .store
        .update_session(&token_hash(&request.session), now, |s| {
            s.expect_authenticator(secret.clone(), attempts);
            s.account_name.clone()
        })
        .await?;
    let (otpauth_uri, text) =
        Authenticator::enrolment(&secret, &account, &state.config.policy.authenticator_issuer)
            .ok_or_else(|| AppError::Internal("authenticator enrolment".into()))?;
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| AppError::Internal(e.to_string()))?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(Api(Enrolment {
        secret: text,
        otpauth_uri,
        qr_svg,
        digits: TOTP_DIGITS,
    }))
}

/// The code for what is pending: from the message to a new contact, or the first code of a
/// new authenticator app. Right: the method counts from now, and the user's other addresses
/// hear of it.
pub async fn confirm(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(request): Api<Confirm>,
) -> Result<Api<Registered>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.session);
    let submitted = registration_code_hash(&state, &id_hash, &request.code)?;
    let (account_name, outcome) = state
        .store
        .update_session(&id_hash, now, |s| {
            let outcome = s
                .confirm(&submitted, &request.code, now)
                .map(|confirmed| (confirmed, s.clone()));
            (s.account_name.clone(), outcome)
        })
        .await?;
    let (confirmed, session) = match outcome.map_err(AppError::from) {
        Err(e)
            if matches!(
                e.error_code(),
                ErrorCode::WrongCode | ErrorCode::CodeExhausted
            ) =>
        {
            state
                .failed_guess(&account_name, &client, e.error_code())
                .await?;
            return Err(e);
        }
        other => other?,
    };
    let before = state.store.registration(&session.anchor).await?;
    if let Confirmed::Contact { value, .. } = &confirmed {
        if let Some(n) = Number::parse(value, None) {
            state.store.note_phone_country(n.country_code).await?;
        }
    }
    let slot = state
        .store
        .update_registration(&session.anchor, now, |r| r.confirmed(confirmed, now))
        .await?;
    changed(&state, &session, before.as_ref(), slot, Notice::ChangeAdded).await?;
    Ok(Api(registered(&state, request.session, &session).await?))
}

/// Sets up (or replaces) the security questions: the configured number of different
/// questions, each with an answer of some substance; only Argon2 hashes are kept.
pub async fn questions(
    State(state): State<AppState>,
    Api(request): Api<SetQuestions>,
) -> Result<Api<Registered>, AppError> {
    let now = crate::now();
    let policy = &state.config.policy;
    if !policy.methods.contains(&Method::Questions) {
        return Err(ErrorCode::MethodUnavailable.into());
    }
    let mut distinct: Vec<Question> = request.answers.iter().map(|(q, _)| *q).collect();
    distinct.sort();
    distinct.dedup();
    let valid = request.answers.len() == usize::from(policy.questions_to_register)
        && distinct.len() == request.answers.len()
        && request.answers.iter().all(|(_, a)| {
            a.chars().count() <= 200 && normalize_answer(a).chars().count() >= MIN_ANSWER_CHARS
        });
    if !valid {
        return Err(ErrorCode::QuestionsInvalid.into());
    }
    let session = state
        .store
        .session(&token_hash(&request.session), now)
        .await?;
    let answers = request.answers;
    let stored = tokio::task::spawn_blocking(move || {
        answers
            .iter()
            .map(|(q, a)| StoredAnswer::new(*q, a))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let before = state.store.registration(&session.anchor).await?;
    state
        .store
        .update_registration(&session.anchor, now, |r| r.questions = stored)
        .await?;
    changed(
        &state,
        &session,
        before.as_ref(),
        Slot::Questions,
        Notice::ChangeAdded,
    )
    .await?;
    Ok(Api(registered(&state, request.session, &session).await?))
}

pub async fn remove(
    State(state): State<AppState>,
    Api(request): Api<RemoveSlot>,
) -> Result<Api<Registered>, AppError> {
    let now = crate::now();
    let session = state
        .store
        .session(&token_hash(&request.session), now)
        .await?;
    let before = state.store.registration(&session.anchor).await?;
    let own = session
        .slots(before.as_ref(), &state.config.phone)
        .into_iter()
        .any(|s| s.slot == request.slot && s.source == Some(Source::User));
    if !own {
        // Directory data is kept in the directory; only what the user registered goes here.
        return Err(ErrorCode::MethodUnavailable.into());
    }
    state
        .store
        .update_registration(&session.anchor, now, |r| r.remove(request.slot))
        .await?;
    changed(
        &state,
        &session,
        before.as_ref(),
        request.slot,
        Notice::ChangeRemoved,
    )
    .await?;
    Ok(Api(registered(&state, request.session, &session).await?))
}

/// Audits a change and mails it to the addresses the user had before it (the primary address
/// and the alternate one), so a new address cannot hide its own arrival.
async fn changed(
    state: &AppState,
    session: &RegisterSession,
    before: Option<&Registration>,
    slot: Slot,
    what: Notice,
) -> Result<(), AppError> {
    let now = crate::now();
    state
        .store
        .audit(&AuditRecord {
            at: now,
            actor: Actor::SelfService,
            subject: session.account_name.clone(),
            event: if what == Notice::ChangeAdded {
                AuditEvent::MethodAdded { slot }
            } else {
                AuditEvent::MethodRemoved { slot }
            },
        })
        .await?;
    let lang: Lang = session.lang;
    let change = tf(lang, what, &[("method", t(lang, slot.text()))]);
    mail_methods_changed(
        state,
        session.mail.as_deref(),
        before,
        &session.account_name,
        &change,
        lang,
    );
    Ok(())
}

/// Mails a change of the methods (`change`, already in `lang`) to the account's own address
/// and the alternate one it had `before` the change, in the background.
pub(crate) fn mail_methods_changed(
    state: &AppState,
    primary: Option<&str>,
    before: Option<&Registration>,
    account_name: &str,
    change: &str,
    lang: Lang,
) {
    let body = tf(
        lang,
        Notice::MailMethodsBody,
        &[
            ("account", account_name),
            ("time", &format_utc(crate::now())),
            ("change", change),
        ],
    );
    let to: Vec<String> = primary
        .map(str::to_owned)
        .into_iter()
        .chain(before.and_then(|r| r.alt_mail.clone()))
        .collect();
    let state = state.clone();
    tokio::spawn(async move {
        for address in to {
            if let Err(e) = state
                .mailer
                .send(&address, t(lang, Notice::MailMethodsSubject), body.clone())
                .await
            {
                tracing::warn!(error = %e, "could not send the methods-changed notice");
            }
        }
    });
}
