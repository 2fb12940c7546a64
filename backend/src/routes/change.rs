//! A password change: the user types the current and a new password, both sealed in the
//! browser. There are no gates — the current password is the proof — so guesses are limited per
//! account below AD's lockout threshold, and every refusal looks the same from outside.

use axum::extract::{Query, State};
use axum::Json;
use sspr_protocol::change::{ChangeKey, ChangeRequest, KeyQuery};
use sspr_protocol::package::{Flags, Operation, PackageBody};
use sspr_protocol::reset::Completed;
use sspr_protocol::ErrorCode;

use crate::crypto;
use crate::error::AppError;
use crate::json::ApiJson;
use crate::limits::Limited;
use crate::middleware::ClientAddress;
use crate::routes::reset::{clean_username, notify, MAX_SEALED_BYTES};
use crate::state::AppState;
use crate::writeback;

/// The key to seal to and the domain's rules: the same answer for every user of a directory
/// (`?directory=` picks one when several are served).
pub async fn key(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
) -> Result<Json<ChangeKey>, AppError> {
    let now = crate::now();
    let agent = match &query.directory {
        Some(directory) => state.hub.for_directory(directory, now),
        None => state.hub.pick(now),
    }
    .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    Ok(Json(ChangeKey {
        agent_key: agent.heartbeat.rsa_key,
        policy: agent.heartbeat.policy,
        directory: agent.heartbeat.directory,
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
    let account_key = sspr_protocol::reset::account_part(&username).to_lowercase();
    state
        .limiter
        .check(Limited::SignInFailure, &account_key, now)
        .map_err(AppError::too_many)?;

    let agent = writeback::holder_for(&state, &username, &new.key_id, now)?;
    let reply = writeback::lookup(&state, &agent.id, username.clone()).await?;
    let account = match reply {
        Some(account) if account.eligible() => account,
        _ => {
            // Unknown, disabled, protected or out of scope: the same answer as a wrong password.
            state
                .limiter
                .record(Limited::SignInFailure, &account_key, now);
            return Err(ErrorCode::CurrentPasswordWrong.into());
        }
    };

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
    let result = match writeback::apply(&state, &agent.id, &body).await {
        // A locked account answers like a wrong password: a stranger learns nothing.
        Err(e)
            if matches!(
                e.error_code(),
                ErrorCode::CurrentPasswordWrong | ErrorCode::AccountLocked
            ) =>
        {
            state
                .limiter
                .record(Limited::SignInFailure, &account_key, now);
            Err(AppError::code(ErrorCode::CurrentPasswordWrong))
        }
        other => other,
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
