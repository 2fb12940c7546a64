//! A password change: the user types the current and a new password, both sealed in the
//! browser. There are no gates — the current password is the proof — so guesses are limited per
//! account below AD's lockout threshold, and every refusal looks the same from outside.

use axum::extract::State;
use axum::Json;
use sspr_protocol::change::{ChangeKey, ChangeRequest};
use sspr_protocol::package::{Flags, Operation, Outcome, Package, PackageBody};
use sspr_protocol::relay::{Reply, ServerMessage};
use sspr_protocol::reset::Completed;
use sspr_protocol::ErrorCode;

use crate::crypto;
use crate::error::AppError;
use crate::json::ApiJson;
use crate::limits::Limited;
use crate::middleware::ClientAddress;
use crate::routes::reset::{account_part, clean_username, notify, MAX_SEALED_BYTES};
use crate::state::AppState;

/// The key to seal to and the domain's rules: the same answer for every user.
pub async fn key(State(state): State<AppState>) -> Result<Json<ChangeKey>, AppError> {
    let agent = state
        .hub
        .pick(crate::now())
        .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    Ok(Json(ChangeKey {
        agent_key: agent.heartbeat.rsa_key,
        policy: agent.heartbeat.policy,
    }))
}

pub async fn change(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(request): ApiJson<ChangeRequest>,
) -> Result<Json<Completed>, AppError> {
    let now = crate::now();
    let username = clean_username(&request.username)?;
    let (current, new) = (request.sealed_current, request.sealed_new);
    if current.key_id != new.key_id
        || [&current, &new]
            .iter()
            .any(|s| s.ciphertext.len() > MAX_SEALED_BYTES)
    {
        return Err(ErrorCode::BadRequest.into());
    }
    state
        .limiter
        .hit(Limited::SignIn, &client, now)
        .map_err(AppError::too_many)?;
    // Stop before AD would lock the account: wrong guesses through the portal never lock anyone out.
    let account_key = account_part(&username);
    state
        .limiter
        .check(Limited::SignInFailure, &account_key, now)
        .map_err(AppError::too_many)?;

    let agent = match state.hub.holding_key_anywhere(&new.key_id, now) {
        Some(agent) => agent,
        None if state.hub.pick(now).is_some() => return Err(ErrorCode::SealRejected.into()),
        None => return Err(ErrorCode::WritebackUnavailable.into()),
    };
    let timeout = std::time::Duration::from_secs(state.config.relay.request_timeout_secs);
    let lookup_name = username.clone();
    let reply = state
        .hub
        .request(
            &agent.id,
            |id| ServerMessage::Lookup {
                id,
                username: lookup_name,
            },
            timeout,
        )
        .await
        .map_err(|_| AppError::code(ErrorCode::AgentTimeout))?;
    let account = match reply {
        Reply::Lookup(Some(account)) if account.eligible() => account,
        Reply::Lookup(_) => {
            // Unknown, disabled, protected or out of scope: the same answer as a wrong password.
            state
                .limiter
                .record(Limited::SignInFailure, &account_key, now);
            return Err(ErrorCode::CurrentPasswordWrong.into());
        }
        Reply::Failed(code) => return Err(code.into()),
        Reply::Outcome(_) => {
            return Err(AppError::Internal(
                "the agent answered a lookup with an outcome".into(),
            ))
        }
    };

    let record = state
        .store
        .agent(&agent.id)?
        .ok_or_else(|| AppError::Internal("a live agent has no record".into()))?;
    let request_id = crypto::random_token()?[..22].to_owned();
    let body = PackageBody {
        op: Operation::Change,
        anchor: account.anchor.clone(),
        actor: "self".into(),
        request_id: request_id.clone(),
        issued_at: now,
        expires_at: now + state.config.relay.package_ttl_secs,
        flags: Flags::default(),
        sealed: Some(new),
        sealed_old: Some(current),
    };
    let package = Package::seal(&record.package_key, &agent.id, &body)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let reply = state
        .hub
        .request(
            &agent.id,
            |id| ServerMessage::Apply { id, package },
            timeout,
        )
        .await
        .map_err(|_| AppError::code(ErrorCode::AgentTimeout))?;
    let result = match reply {
        Reply::Outcome(sealed) => match sealed.open(&record.package_key, &agent.id, &request_id) {
            Ok(Outcome::Applied) => Ok(()),
            // A locked account answers like a wrong password: a stranger learns nothing.
            Ok(Outcome::Refused(ErrorCode::CurrentPasswordWrong | ErrorCode::AccountLocked)) => {
                state
                    .limiter
                    .record(Limited::SignInFailure, &account_key, now);
                Err(AppError::code(ErrorCode::CurrentPasswordWrong))
            }
            Ok(Outcome::Refused(code)) => Err(code.into()),
            Err(e) => Err(AppError::Internal(format!("unreadable outcome: {e}"))),
        },
        Reply::Failed(code) => Err(code.into()),
        Reply::Lookup(_) => Err(AppError::Internal(
            "the agent answered a package with a lookup".into(),
        )),
    };
    let (event, detail) = match &result {
        Ok(()) => ("change_succeeded", format!("request={request_id}")),
        Err(e) => ("change_refused", format!("{:?}", e.error_code())),
    };
    state
        .store
        .audit(crate::now(), event, "self", &account.account_name, &detail)?;
    if result.is_ok() {
        if let Some(mail) = account.mail.first() {
            notify(
                &state,
                mail.clone(),
                account.account_name.clone(),
                Operation::Change,
                request.lang,
            );
        }
    }
    result.map(|()| {
        Json(Completed {
            account_name: account.account_name,
        })
    })
}
