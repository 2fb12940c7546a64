//! The self-service reset flow over HTTP. The state machine lives in `flow`; these handlers
//! feed it the clock, the agent's answers and the hashes, and send what must be sent.

use axum::extract::State;
use axum::Json;
use sspr_protocol::captcha::PowChallenge;
use sspr_protocol::i18n::{tf, Lang, Text};
use sspr_protocol::package::{Flags, Operation, PackageBody};
use sspr_protocol::policy::AccountNames;
use sspr_protocol::reset::{
    account_part, CaptchaAnswer, CodeAnswer, CodeSent, Completed, FlowRef, NewPasswordStep,
    PasswordSubmit, Purpose, StartRequest, Started, MAX_USERNAME_LEN,
};
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::ErrorCode;

use crate::crypto::{self, token_hash};
use crate::error::AppError;
use crate::flow::{AccountTarget, CodeRules, ResetFlow, Target};
use crate::hub::LiveAgent;
use crate::json::ApiJson;
use crate::limits::Limited;
use crate::mail::mask_mail;
use crate::middleware::ClientAddress;
use crate::state::AppState;
use crate::writeback;

const CHALLENGE_BYTES: usize = 16;
/// RSA-3072 gives 384 bytes; anything much larger is not a seal.
pub(crate) const MAX_SEALED_BYTES: usize = 1024;

/// A typed user ID, trimmed; empty, overlong or control characters are a bad request.
pub(crate) fn clean_username(raw: &str) -> Result<String, AppError> {
    let username = raw.trim();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_LEN
        || username.chars().any(char::is_control)
    {
        return Err(ErrorCode::BadRequest.into());
    }
    Ok(username.to_owned())
}

fn rules(state: &AppState) -> CodeRules {
    let r = &state.config.reset;
    CodeRules {
        ttl_secs: i64::from(r.code_ttl_secs),
        attempts: r.code_attempts,
        resend_cooldown_secs: i64::from(r.resend_cooldown_secs),
    }
}

pub async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(request): ApiJson<StartRequest>,
) -> Result<Json<Started>, AppError> {
    let now = crate::now();
    let username = clean_username(&request.username)?;
    if request.purpose == Purpose::Change {
        // A change has no gates: it goes to its own endpoint with the current password.
        return Err(ErrorCode::BadRequest.into());
    }
    state
        .limiter
        .hit(Limited::FlowStart, &client, now)
        .map_err(AppError::too_many)?;
    // No agent, no false hope: say so before anything is sent.
    if state.hub.pick(now).is_none() {
        return Err(ErrorCode::WritebackUnavailable.into());
    }
    let flow_id = crypto::random_token()?;
    let challenge = PowChallenge {
        challenge: crypto::random_bytes(CHALLENGE_BYTES)?,
        difficulty: state.config.reset.captcha_difficulty,
    };
    let flow = ResetFlow::new(
        username,
        request.lang,
        challenge.challenge.clone(),
        challenge.difficulty,
        now,
        i64::from(state.config.reset.flow_ttl_secs),
    )
    .for_purpose(request.purpose);
    state.store.insert_flow(&token_hash(&flow_id), &flow)?;
    Ok(Json(Started {
        flow_id,
        captcha: challenge,
    }))
}

/// The send limit's key for a decoy. Every spelling of one name shares it, as every spelling of
/// a real account shares its mail address's limit: otherwise the limits would tell them apart.
fn decoy_limit_key(username: &str) -> String {
    format!("decoy:{}", account_part(username).to_lowercase())
}

/// What a decoy shows: the typed name's first letter at the directory's mail domain.
fn decoy_destination(state: &AppState, username: &str, agent: &LiveAgent) -> String {
    let local = account_part(username).to_lowercase();
    let domain = state
        .config
        .reset
        .decoy_mail_domain
        .clone()
        .unwrap_or_else(|| agent.heartbeat.directory.clone());
    mask_mail(&format!("{}@{domain}", local.chars().next().unwrap_or('a')))
}

pub async fn captcha(
    State(state): State<AppState>,
    ApiJson(answer): ApiJson<CaptchaAnswer>,
) -> Result<Json<CodeSent>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&answer.flow_id);
    let (username, lang) = state.store.update_flow(&id_hash, now, |flow| {
        flow.pass_captcha(answer.solution)?;
        Ok((flow.username.clone(), flow.lang))
    })?;
    let agent = state
        .hub
        .pick(now)
        .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    let account = writeback::lookup(&state, &agent.id, username.clone()).await?;
    // Unknown, disabled, protected, out-of-scope and unregistered accounts all become the same
    // decoy: same page, same JSON, nothing sent.
    let (target, destination) = match account.filter(|a| a.eligible()) {
        Some(a) if !a.mail.is_empty() => {
            let mail = a.mail[0].clone();
            let destination = mask_mail(&mail);
            let target = Target::Account(AccountTarget {
                anchor: a.anchor,
                account_name: a.account_name,
                display_name: a.display_name,
                mail,
                policy: a.policy,
                directory: agent.heartbeat.directory.clone(),
            });
            (target, destination)
        }
        _ => (Target::Decoy, decoy_destination(&state, &username, &agent)),
    };
    let send_to = send_limit(&state, &target, &username, now)?;
    let (code, hash) = new_code(&state, &id_hash)?;
    let rules = rules(&state);
    state.store.update_flow(&id_hash, now, |flow| {
        Ok(flow.enter_code_gate(target, destination.clone(), hash, rules, now)?)
    })?;
    if let Some(to) = send_to {
        send_code(&state, to, code, lang);
    }
    Ok(Json(code_sent(&state, destination)))
}

/// Counts a send against the destination's limit; the address to send to, or None for a decoy.
fn send_limit(
    state: &AppState,
    target: &Target,
    username: &str,
    now: i64,
) -> Result<Option<String>, AppError> {
    let (key, send_to) = match target {
        Target::Account(a) => (a.mail.to_lowercase(), Some(a.mail.clone())),
        Target::Decoy => (decoy_limit_key(username), None),
    };
    state
        .limiter
        .hit(Limited::CodeSend, &key, now)
        .map_err(AppError::too_many)?;
    Ok(send_to)
}

/// A fresh code and its keyed hash, bound to the flow.
fn new_code(state: &AppState, id_hash: &str) -> Result<(String, String), AppError> {
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = code_hash(state, id_hash, &code)?;
    Ok((code, hash))
}

/// A code's keyed hash, bound to its flow: codes are stored and compared only like this.
fn code_hash(state: &AppState, id_hash: &str, code: &str) -> Result<String, AppError> {
    Ok(state
        .keys
        .mac(&[id_hash.as_bytes(), code.trim().as_bytes()])?)
}

/// Checks the code of a flow started for `purpose`; the flow's id hash and its account.
fn pass_code_gate(
    state: &AppState,
    answer: &CodeAnswer,
    purpose: Purpose,
) -> Result<(String, AccountTarget), AppError> {
    let now = crate::now();
    let id_hash = token_hash(&answer.flow_id);
    let submitted = code_hash(state, &id_hash, &answer.code)?;
    let account = state.store.update_flow(&id_hash, now, |flow| {
        Ok(flow.pass_code_gate(purpose, &submitted, now)?)
    })?;
    Ok((id_hash, account))
}

fn code_sent(state: &AppState, destination: String) -> CodeSent {
    let r = &state.config.reset;
    CodeSent {
        destination,
        code_length: r.code_length,
        code_ttl_secs: r.code_ttl_secs,
        resend_after_secs: r.resend_cooldown_secs,
    }
}

/// Sends in the background: the answer's timing must not depend on the mail server, or it
/// would tell real accounts from decoys.
fn send_code(state: &AppState, to: String, code: String, lang: Lang) {
    let state = state.clone();
    tokio::spawn(async move {
        let minutes = (state.config.reset.code_ttl_secs / 60).to_string();
        let subject = tf(lang, Text::MailCodeSubject, &[("code", &code)]);
        let body = tf(
            lang,
            Text::MailCodeBody,
            &[("code", &code), ("min", &minutes)],
        );
        if let Err(e) = state.mailer.send(&to, &subject, body).await {
            tracing::warn!(error = %e, "could not send a verification code");
            let _ = state.store.audit(
                crate::now(),
                "code_send_failed",
                "system",
                &mask_mail(&to),
                &e.to_string(),
            );
        }
    });
}

pub async fn resend(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FlowRef>,
) -> Result<Json<CodeSent>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    let rules = rules(&state);
    // Cooldown and step first, then the send limit, and only then is the old code replaced:
    // a refused resend leaves the code the user already has working.
    let (target, username) = state.store.update_flow(&id_hash, now, |flow| {
        Ok((flow.resend_target(rules, now)?, flow.username.clone()))
    })?;
    let send_to = send_limit(&state, &target, &username, now)?;
    let (code, hash) = new_code(&state, &id_hash)?;
    let (destination, lang) = state.store.update_flow(&id_hash, now, |flow| {
        let (_, destination) = flow.resend(hash, rules, now)?;
        Ok((destination, flow.lang))
    })?;
    if let Some(to) = send_to {
        send_code(&state, to, code, lang);
    }
    Ok(Json(code_sent(&state, destination)))
}

pub async fn code(
    State(state): State<AppState>,
    ApiJson(answer): ApiJson<CodeAnswer>,
) -> Result<Json<NewPasswordStep>, AppError> {
    let (_, account) = pass_code_gate(&state, &answer, Purpose::Reset)?;
    let agent = state
        .hub
        .for_directory(&account.directory, crate::now())
        .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    Ok(Json(NewPasswordStep {
        policy: account.policy,
        names: AccountNames {
            account_name: account.account_name,
            display_name: account.display_name,
        },
        agent_key: agent.heartbeat.rsa_key,
    }))
}

pub async fn password(
    State(state): State<AppState>,
    ApiJson(submit): ApiJson<PasswordSubmit>,
) -> Result<Json<Completed>, AppError> {
    if submit.sealed.ciphertext.len() > MAX_SEALED_BYTES || submit.sealed.key_id.len() > 64 {
        return Err(ErrorCode::BadRequest.into());
    }
    let id_hash = token_hash(&submit.flow_id);
    apply_and_finish(&state, &id_hash, Operation::Reset, Some(submit.sealed)).await
}

/// The unlock flow's code gate: once passed, the account is unlocked at once.
pub async fn unlock_code(
    State(state): State<AppState>,
    ApiJson(answer): ApiJson<CodeAnswer>,
) -> Result<Json<Completed>, AppError> {
    let (id_hash, _) = pass_code_gate(&state, &answer, Purpose::Unlock)?;
    apply_and_finish(&state, &id_hash, Operation::Unlock, None).await
}

/// Sends the package for a flow whose gates are passed, records the outcome in the flow and
/// the audit log, and notifies the user.
async fn apply_and_finish(
    state: &AppState,
    id_hash: &str,
    op: Operation,
    sealed: Option<SealedSecret>,
) -> Result<Json<Completed>, AppError> {
    let now = crate::now();
    let request_id = crypto::random_token()?[..22].to_owned();
    let account = state.store.update_flow(id_hash, now, |flow| {
        Ok(flow.begin_apply(request_id.clone())?)
    })?;
    let result = apply(state, &account, &request_id, op, sealed, now).await;
    let lang = state.store.update_flow(id_hash, crate::now(), |flow| {
        flow.finish_apply(result.is_ok());
        Ok(flow.lang)
    })?;
    let event = match (op, &result) {
        (Operation::Unlock, Ok(())) => "unlock_succeeded",
        (Operation::Unlock, Err(_)) => "unlock_refused",
        (_, Ok(())) => "reset_succeeded",
        (_, Err(_)) => "reset_refused",
    };
    let detail = match &result {
        Ok(()) => format!("request={request_id}"),
        Err(e) => format!("{:?}", e.error_code()),
    };
    state
        .store
        .audit(crate::now(), event, "self", &account.account_name, &detail)?;
    if result.is_ok() {
        notify(
            state,
            account.mail.clone(),
            account.account_name.clone(),
            op,
            lang,
        );
    }
    result.map(|()| {
        Json(Completed {
            account_name: account.account_name,
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
        // Sealed to a key no live agent holds: the agent rolled its key or went away.
        return Err(match state.hub.for_directory(&account.directory, now) {
            Some(_) => ErrorCode::SealRejected.into(),
            None => ErrorCode::WritebackUnavailable.into(),
        });
    };
    let body = PackageBody {
        op,
        anchor: account.anchor.clone(),
        actor: "self".into(),
        request_id: request_id.to_owned(),
        issued_at: now,
        expires_at: now + state.config.relay.package_ttl_secs,
        flags: Flags::default(),
        sealed,
        sealed_old: None,
    };
    writeback::apply(state, &agent.id, &body).await
}

/// Tells the account's owner what just happened, so a stranger's reset, unlock or change
/// does not go unnoticed.
pub(crate) fn notify(state: &AppState, to: String, name: String, op: Operation, lang: Lang) {
    let (subject, body) = match op {
        Operation::Unlock => (Text::MailUnlockSubject, Text::MailUnlockBody),
        Operation::Change => (Text::MailChangeSubject, Text::MailChangeBody),
        Operation::Reset => (Text::MailResetSubject, Text::MailResetBody),
    };
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
    fn every_spelling_of_a_name_shares_one_decoy_limit() {
        let key = super::decoy_limit_key("jan");
        for spelling in ["CORP\\Jan", "jan@corp.example.test", "JAN"] {
            assert_eq!(super::decoy_limit_key(spelling), key, "{spelling}");
        }
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00");
        assert_eq!(super::format_utc(86_400 + 3_660), "1970-01-02 01:01");
    }
}
