//! The self-service reset flow over HTTP. The state machine lives in `flow`; these handlers
//! feed it the clock, the agent's answers and the hashes, and send what must be sent.

use crate::http::body::Api;
use axum::extract::State;
use sspr_protocol::captcha::{Captcha, CaptchaSolution, PowChallenge};
use sspr_protocol::gate::Gate;
use sspr_protocol::i18n::{tf, Lang, Notice};
use sspr_protocol::package::{Flags, Operation};
use sspr_protocol::reset::{
    CaptchaAnswer, Completed, PasswordSubmit, Purpose, StartRequest, Started,
};
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::ErrorCode;

use crate::config::CaptchaKind;
use crate::crypto::{self, token_hash};
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::codes::{code_hash, CodeScope};
use crate::domain::flow::{AccountTarget, Applied, FlowError, InFlight, ResetFlow};
use crate::domain::gates;
use crate::domain::limits::Limited;
use crate::domain::package::{self, Order, Secrets};
use crate::domain::user_id::{account_key, canonical_user_id};
use crate::http::error::AppError;
use crate::http::middleware::ClientAddress;
use crate::relay::writeback;
use crate::state::AppState;

const CHALLENGE_BYTES: usize = 16;
/// RSA-3072 gives 384 bytes; anything much larger is not a seal.
pub(crate) const MAX_SEALED_BYTES: usize = 1024;

/// A sealed password of a size a browser's seal can have; anything larger is refused before
/// it goes anywhere.
pub(crate) fn check_sealed(sealed: &sspr_protocol::seal::SealedSecret) -> Result<(), AppError> {
    if sealed.ciphertext.len() > MAX_SEALED_BYTES || sealed.key_id.len() > 64 {
        return Err(ErrorCode::BadRequest.into());
    }
    Ok(())
}

pub async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(request): Api<StartRequest>,
) -> Result<Api<Started>, AppError> {
    let now = crate::now();
    if matches!(request.purpose, Purpose::Change | Purpose::Register) {
        // Neither has gates: both go to their own endpoints with the current password.
        return Err(ErrorCode::BadRequest.into());
    }
    // No agent, no false hope: say so before anything is sent. With several directories, the
    // user ID must say which one (or the user picks it).
    let username = canonical_user_id(&request.username, &state.hub.directories(now))?;
    // Only the address is limited before the CAPTCHA: a limit on the typed name here would let
    // anyone keep its owner out. The name's own limit counts lookups, after a passed CAPTCHA.
    state.limiter.hit(Limited::FlowStart, &client, now).await?;
    let flow_id = crypto::random_token()?;
    let mut image_answer = None;
    let (captcha, challenge) = match state.config.captcha.widget() {
        None if state.config.captcha.kind == CaptchaKind::Image => {
            let image = tokio::task::spawn_blocking(crate::captcha::ImageCaptcha::generate)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .ok_or_else(|| AppError::Internal("the picture CAPTCHA".into()))?;
            image_answer = Some(image.answer);
            (
                Captcha::Image {
                    png: image.png,
                    wav: image.wav,
                },
                PowChallenge {
                    challenge: Vec::new(),
                    difficulty: 0,
                },
            )
        }
        Some(provider) => (
            Captcha::Widget {
                provider,
                site_key: state.config.captcha.site_key.clone(),
            },
            PowChallenge {
                challenge: Vec::new(),
                difficulty: 0,
            },
        ),
        None => {
            let challenge = PowChallenge {
                challenge: crypto::random_bytes(CHALLENGE_BYTES)?,
                difficulty: state.config.reset.captcha_difficulty,
            };
            (Captcha::ProofOfWork(challenge.clone()), challenge)
        }
    };
    let flow = ResetFlow::new(
        username,
        request.lang,
        challenge.challenge,
        challenge.difficulty,
        now,
        i64::from(state.config.reset.flow_ttl_secs),
    )
    .for_purpose(request.purpose);
    let id_hash = token_hash(&flow_id);
    let flow = match image_answer {
        Some(answer) => flow.with_image_answer(image_answer_hash(&state, &id_hash, &answer)?),
        None => flow,
    };
    state.store.insert_flow(&id_hash, &flow).await?;
    Ok(Api(Started { flow_id, captcha }))
}

/// A picture CAPTCHA's answer as it is kept and compared: keyed, bound to its flow.
fn image_answer_hash(state: &AppState, id_hash: &str, answer: &str) -> Result<String, AppError> {
    let digits = crate::captcha::normalize_image_answer(answer);
    Ok(code_hash(
        &state.keys,
        CodeScope::Captcha,
        id_hash,
        &digits,
    )?)
}

pub async fn captcha(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(answer): Api<CaptchaAnswer>,
) -> Result<Api<Gate>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&answer.flow_id);
    // A widget's token is checked with its provider before the flow is touched; a solution of
    // the kind this server does not use fails like a wrong one.
    let kind = state.config.captcha.kind;
    let verified = match (&answer.solution, state.config.captcha.widget()) {
        (CaptchaSolution::Widget { token }, Some(_)) => {
            Some(crate::captcha::verify_widget(&state, token, &client).await)
        }
        (CaptchaSolution::ProofOfWork(_), None) if kind == CaptchaKind::ProofOfWork => None,
        (CaptchaSolution::Image { .. }, None) if kind == CaptchaKind::Image => None,
        _ => Some(false),
    };
    let image_hash = match &answer.solution {
        CaptchaSolution::Image { answer: typed } => {
            Some(image_answer_hash(&state, &id_hash, typed)?)
        }
        _ => None,
    };
    let (username, passed) = state
        .store
        .update_flow(&id_hash, now, |flow| {
            // The CAPTCHA passed before, but the lookup got no answer: ask again.
            let passed = if flow.repeat_lookup() {
                Ok(())
            } else {
                match (verified, &answer.solution, &image_hash) {
                    (Some(passed), _, _) => flow.pass_verified_captcha(passed),
                    (None, CaptchaSolution::ProofOfWork(solution), _) => {
                        flow.pass_captcha(*solution)
                    }
                    (None, CaptchaSolution::Image { .. }, Some(hash)) => {
                        flow.pass_image_captcha(hash)
                    }
                    (None, _, _) => flow.pass_verified_captcha(false),
                }
            };
            (flow.username.clone(), passed)
        })
        .await?;
    if passed == Err(FlowError::CaptchaFailed) {
        state
            .failed_guess(&username, &client, ErrorCode::CaptchaFailed)
            .await?;
    }
    passed?;
    state
        .limiter
        .hit(Limited::AccountLookup, &account_key(&username), now)
        .await?;
    let agent = state.hub.route(&username, now)?;
    let account = writeback::lookup(&state, &agent.id, username.clone()).await?;
    // An account that does not exist (or may not reset) costs the same read, so that the
    // answer's timing does not tell the two apart.
    let registration = match account.as_ref().filter(|a| a.eligible()) {
        Some(a) => state.store.registration(&a.anchor).await?,
        None => {
            state.store.registration(&username).await?;
            None
        }
    };
    let admission = gates::admit(
        &state.config,
        &state.keys,
        &username,
        account,
        registration.as_ref(),
        &agent.heartbeat.directory,
    )?;
    for code in admission.directory_countries {
        state.store.note_phone_country(code).await?;
    }
    let gates = admission.gates;
    let gate = state
        .store
        .update_flow(&id_hash, now, |flow| flow.enter_gates(gates.clone()))
        .await??;
    Ok(Api(gate))
}

pub async fn password(
    State(state): State<AppState>,
    Api(submit): Api<PasswordSubmit>,
) -> Result<Api<Completed>, AppError> {
    check_sealed(&submit.sealed)?;
    let id_hash = token_hash(&submit.flow_id);
    apply_and_finish(
        &state,
        &id_hash,
        Operation::Reset,
        Some(submit.sealed),
        submit.lang,
    )
    .await
}

/// Sends the package for a flow whose gates are passed, records the outcome in the flow and
/// the audit log, and notifies the user.
pub(crate) async fn apply_and_finish(
    state: &AppState,
    id_hash: &str,
    op: Operation,
    sealed: Option<SealedSecret>,
    lang: Option<Lang>,
) -> Result<Api<Completed>, AppError> {
    let now = crate::now();
    let fresh = package::request_id()?;
    let expires_at = now + state.config.relay.package_ttl_secs;
    // One turn on the flow: a submission to a finished flow (a double click, or an answer lost
    // with a replica that died) hears what the first heard and sends nothing; otherwise the
    // write-back starts, or joins the one in flight.
    let begun = state
        .store
        .update_flow(id_hash, now, |flow| match flow.completed() {
            Some(completed) => Ok(Err(completed)),
            None => flow.begin_apply(fresh.clone(), expires_at).map(Ok),
        })
        .await??;
    let InFlight {
        account,
        request_id,
        expires_at,
    } = match begun {
        Ok(in_flight) => in_flight,
        Err(completed) => return Ok(Api(completed)),
    };
    let result = apply(state, &account, &request_id, op, sealed, now, expires_at).await;
    let applied = match &result {
        Ok(()) => Applied::Yes,
        Err(AppError::Unanswered(_)) => Applied::Unanswered,
        Err(_) => Applied::Refused,
    };
    let (settled, lang) = state
        .store
        .update_flow(id_hash, crate::now(), |flow| {
            flow.lang = lang.unwrap_or(flow.lang);
            (flow.finish_apply(&request_id, applied), flow.lang)
        })
        .await?;
    let outcome = result.as_ref().map(|_| ()).map_err(AppError::error_code);
    // Reported once: by the submission that settled the flow, or for each attempt that got no
    // answer (a joined double submission that finished second reports nothing again).
    let event = match (settled, applied) {
        (true, _) => Some(AuditEvent::writeback(op, &request_id, outcome)),
        (false, Applied::Unanswered) => Some(AuditEvent::WritebackUnanswered {
            operation: op,
            request_id: request_id.clone(),
        }),
        (false, _) => None,
    };
    if let Some(event) = event {
        state.metrics.writeback(op, outcome);
        state
            .store
            .audit(&AuditRecord {
                at: crate::now(),
                actor: Actor::SelfService,
                subject: account.account_name.clone(),
                event,
            })
            .await?;
    }
    if settled && result.is_ok() {
        notify(
            state,
            account.mail.clone(),
            account.account_name.clone(),
            op,
            lang,
        );
    }
    result.map(|()| {
        Api(Completed {
            account_name: account.account_name,
            was_locked: account.locked,
        })
    })
}

async fn apply(
    state: &AppState,
    account: &AccountTarget,
    request_id: &str,
    op: Operation,
    sealed: Option<SealedSecret>,
    now: i64,
    expires_at: i64,
) -> Result<(), AppError> {
    // A seal can only go to the agent holding its key; an unlock can go to any agent of the
    // account's directory.
    let agent = match &sealed {
        Some(sealed) => state
            .hub
            .holding_key(&account.directory, &sealed.key_id, now),
        None => state.hub.for_directory(&account.directory, now),
    };
    let Some(agent) = agent else {
        // Sealed to a key no live agent holds: the agent went away (or its key is past its
        // grace period). Another agent may serve the directory: the browser seals again.
        return Err(match state.hub.for_directory(&account.directory, now) {
            Some(_) => ErrorCode::AgentChanged.into(),
            None => ErrorCode::WritebackUnavailable.into(),
        });
    };
    let order = Order {
        op,
        anchor: &account.anchor,
        actor: &Actor::SelfService,
        request_id: request_id.to_owned(),
        off_limits: Vec::new(),
    };
    let secrets = Secrets {
        sealed,
        sealed_old: None,
    };
    let body = package::build(order, secrets, Flags::default(), now, expires_at - now);
    Ok(writeback::apply(state, &agent.id, &body).await?)
}

/// Tells the account's owner what just happened, so a stranger's reset, unlock or change
/// does not go unnoticed.
pub(crate) fn notify(state: &AppState, to: String, name: String, op: Operation, lang: Lang) {
    let (subject, body) = match op {
        Operation::Unlock => (Notice::MailUnlockSubject, Notice::MailUnlockBody),
        Operation::Change => (Notice::MailChangeSubject, Notice::MailChangeBody),
        Operation::Reset => (Notice::MailResetSubject, Notice::MailResetBody),
        Operation::Verify => return,
    };
    send_notice(state, to, name, (subject, body), lang);
}

/// Mails `notice` (subject, body with `{account}` and `{time}`) in the background.
pub(crate) fn send_notice(
    state: &AppState,
    to: String,
    name: String,
    (subject, body): (Notice, Notice),
    lang: Lang,
) {
    let state = state.clone();
    tokio::spawn(async move {
        let time = format_utc(crate::now());
        let body = tf(lang, body, &[("account", &name), ("time", &time)]);
        if let Err(e) = state
            .mailer
            .send(&to, sspr_protocol::i18n::t(lang, subject), body)
            .await
        {
            tracing::warn!(error = %e, "could not send the notification");
        }
    });
}

/// `YYYY-MM-DD HH:MM` in UTC.
pub fn format_utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formatting() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00");
        assert_eq!(super::format_utc(86_400 + 3_660), "1970-01-02 01:01");
    }
}
