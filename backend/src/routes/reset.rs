//! The self-service reset flow over HTTP. The state machine lives in `flow`; these handlers
//! feed it the clock, the agent's answers and the hashes, and send what must be sent.

use axum::extract::State;
use axum::Json;
use sspr_protocol::captcha::{Captcha, CaptchaSolution, PowChallenge};
use sspr_protocol::gate::{Family, Gate, Method};
use sspr_protocol::i18n::{tf, Lang, Notice};
use sspr_protocol::package::{Flags, Operation, PackageBody};
use sspr_protocol::relay::Account;
use sspr_protocol::reset::{
    account_part, CaptchaAnswer, Completed, PasswordSubmit, Purpose, StartRequest, Started,
    FORBIDDEN_IN_USERNAME, MAX_USERNAME_LEN,
};
use sspr_protocol::seal::SealedSecret;
use sspr_protocol::ErrorCode;

use crate::config::CaptchaKind;
use crate::crypto::{self, token_hash};
use crate::error::AppError;
use crate::flow::{AccountTarget, Gates, ResetFlow, Target};
use crate::hub::LiveAgent;
use crate::json::ApiJson;
use crate::limits::Limited;
use crate::middleware::ClientAddress;
use crate::phone::Number;
use crate::registration::{self, Contact};
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
    // Syntax only: says nothing about whether such an account exists.
    if username.contains(FORBIDDEN_IN_USERNAME) {
        return Err(ErrorCode::InvalidUsername.into());
    }
    Ok(username.to_owned())
}

pub async fn start(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(request): ApiJson<StartRequest>,
) -> Result<Json<Started>, AppError> {
    let now = crate::now();
    let username = clean_username(&request.username)?;
    if matches!(request.purpose, Purpose::Change | Purpose::Register) {
        // Neither has gates: both go to their own endpoints with the current password.
        return Err(ErrorCode::BadRequest.into());
    }
    state
        .limiter
        .hit(Limited::FlowStart, &client, now)
        .map_err(AppError::too_many)?;
    state
        .limiter
        .hit(Limited::AccountFlowStart, &account_key(&username), now)
        .map_err(AppError::too_many)?;
    // No agent, no false hope: say so before anything is sent. With several directories, the
    // user ID must say which one (or the user picks it).
    state.hub.directory_for(&username, now)?;
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
    state.store.insert_flow(&id_hash, &flow)?;
    Ok(Json(Started { flow_id, captcha }))
}

/// A picture CAPTCHA's answer as it is kept and compared: keyed, bound to its flow.
fn image_answer_hash(state: &AppState, id_hash: &str, answer: &str) -> Result<String, AppError> {
    let digits = crate::captcha::normalize_image_answer(answer);
    Ok(state
        .keys
        .mac(&[b"captcha", id_hash.as_bytes(), digits.as_bytes()])?)
}

/// The account part a decoy and a real account share their limits by: every spelling of one
/// name counts alike, or the limits would tell them apart.
pub(crate) fn account_key(username: &str) -> String {
    account_part(username).to_lowercase()
}

pub async fn captcha(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(answer): ApiJson<CaptchaAnswer>,
) -> Result<Json<Gate>, AppError> {
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
    let username = state.store.update_flow(&id_hash, now, |flow| {
        match (verified, &answer.solution, &image_hash) {
            (Some(passed), _, _) => flow.pass_verified_captcha(passed)?,
            (None, CaptchaSolution::ProofOfWork(solution), _) => flow.pass_captcha(*solution)?,
            (None, CaptchaSolution::Image { .. }, Some(hash)) => flow.pass_image_captcha(hash)?,
            (None, _, _) => flow.pass_verified_captcha(false)?,
        }
        Ok(flow.username.clone())
    })?;
    let agent = state.hub.route(&username, now)?;
    let account = writeback::lookup(&state, &agent.id, username.clone()).await?;
    let gates = gates_for(&state, account, &username, &agent)?;
    let gate = state
        .store
        .update_flow(&id_hash, now, |flow| Ok(flow.enter_gates(gates)?))?;
    Ok(Json(gate))
}

/// The gates for whoever the agent found. Unknown, disabled, protected, out-of-scope and
/// unregistered accounts (too few methods for the gates they need) all become a decoy: the
/// same pages and JSON, nothing sent.
fn gates_for(
    state: &AppState,
    account: Option<Account>,
    username: &str,
    agent: &LiveAgent,
) -> Result<Gates, AppError> {
    let policy = &state.config.policy;
    let allowed: Vec<Method> = policy
        .methods
        .iter()
        .copied()
        .filter(|m| !m.uses_phone() || state.config.phone.enabled())
        .collect();
    let gates = |target, contacts, required| Gates {
        target,
        contacts,
        allowed: allowed.clone(),
        required,
        passed: Vec::new(),
        challenge: None,
        phone_tries_left: state.config.reset.code_attempts.min(3),
        guesses_left: state.config.reset.code_attempts,
        sent: Vec::new(),
    };
    if let Some(a) = account.filter(|a| a.eligible()) {
        let required = if a.groups.iter().any(|g| {
            policy
                .two_gate_groups
                .iter()
                .any(|t| t.eq_ignore_ascii_case(g))
        }) {
            2
        } else {
            policy.gates
        };
        let registration = state.store.registration(&a.anchor)?;
        let contacts = registration::contacts(&a, registration.as_ref(), &state.config.phone);
        for c in contacts.iter().filter(|c| c.from_directory) {
            if let Some(n) = Number::parse(&c.to, None) {
                state.store.note_phone_country(n.country_code)?;
            }
        }
        if registration::families(&contacts, &allowed) >= usize::from(required) {
            let target = Target::Account(AccountTarget {
                anchor: a.anchor,
                account_name: a.account_name,
                display_name: a.display_name,
                mail: a.mail.first().cloned().unwrap_or_default(),
                policy: a.policy,
                directory: agent.heartbeat.directory.clone(),
            });
            return Ok(gates(target, contacts, required));
        }
    }
    let contacts = decoy_contacts(state, username, agent)?;
    Ok(gates(Target::Decoy, contacts, state.config.policy.gates))
}

/// A decoy's methods, made up from the typed name and the server secret: the same name always
/// shows the same masked methods, and nothing tells them from a real account's.
fn decoy_contacts(
    state: &AppState,
    username: &str,
    agent: &LiveAgent,
) -> Result<Vec<Contact>, AppError> {
    let key = account_key(username);
    let seed = hex::decode(state.keys.mac(&[b"decoy", key.as_bytes()])?)
        .map_err(|_| AppError::code(ErrorCode::Internal))?;
    let r = &state.config.reset;
    let domain = r
        .decoy_mail_domain
        .clone()
        .unwrap_or_else(|| agent.heartbeat.directory.clone());
    let mut contacts = vec![Contact {
        family: Family::Mail,
        to: format!("{}@{domain}", key.chars().next().unwrap_or('a')),
        from_directory: true,
    }];
    // A seed byte read as a percentage: whether this name's decoy shows a method.
    let shows = |byte: u8, percent: u8| u16::from(byte) * 100 / 256 < u16::from(percent);
    let two_gates = state.config.policy.gates >= 2;
    if state.config.phone.enabled() && (shows(seed[0], r.decoy_phone_percent) || two_gates) {
        let country = state.config.phone.country_code();
        let digits: String = seed[2..10]
            .iter()
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        contacts.push(Contact {
            family: Family::Mobile,
            to: format!("+{country}6{digits}"),
            from_directory: seed[10] % 2 == 0,
        });
    }
    if shows(seed[1], r.decoy_authenticator_percent) || (two_gates && contacts.len() < 2) {
        contacts.push(Contact {
            family: Family::Authenticator,
            to: String::new(),
            from_directory: false,
        });
    }
    if state.config.policy.methods.contains(&Method::Questions)
        && shows(seed[11], r.decoy_questions_percent)
    {
        contacts.push(Contact {
            family: Family::Questions,
            to: String::new(),
            from_directory: false,
        });
    }
    Ok(contacts)
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

/// Sends the package for a flow whose gates are passed, records the outcome in the flow and
/// the audit log, and notifies the user.
pub(crate) async fn apply_and_finish(
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
        // Sealed to a key no live agent holds: the agent went away (or its key is past its
        // grace period). Another agent may serve the directory: the browser seals again.
        return Err(match state.hub.for_directory(&account.directory, now) {
            Some(_) => ErrorCode::AgentChanged.into(),
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
        Operation::Unlock => (Notice::MailUnlockSubject, Notice::MailUnlockBody),
        Operation::Change => (Notice::MailChangeSubject, Notice::MailChangeBody),
        Operation::Reset => (Notice::MailResetSubject, Notice::MailResetBody),
        Operation::Verify => return,
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
    fn every_spelling_of_a_name_shares_one_limit_key() {
        let key = super::account_key("jan");
        for spelling in ["CORP\\Jan", "jan@corp.example.test", "JAN"] {
            assert_eq!(super::account_key(spelling), key, "{spelling}");
        }
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00");
        assert_eq!(super::format_utc(86_400 + 3_660), "1970-01-02 01:01");
    }
}
