//! A password change: the user types the current and a new password, both sealed in the
//! browser. There are no gates — the current password is the proof — so guesses are limited per
//! account below AD's lockout threshold, and every refusal looks the same from outside.

use crate::http::body::Api;
use axum::extract::{Query, State};
use sspr_protocol::change::{ChangeKey, ChangeRequest, KeyQuery};
use sspr_protocol::package::{Flags, Operation};
use sspr_protocol::reset::Completed;
use sspr_protocol::ErrorCode;

use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::domain::limits::Limited;
use crate::domain::package::{self, Order, Secrets};
use crate::domain::user_id::{account_key, canonical_user_id};
use crate::http::error::AppError;
use crate::http::middleware::ClientAddress;
use crate::http::routes::reset::{check_sealed, notify};
use crate::relay::writeback;
use crate::state::AppState;

/// The key to seal to and the domain's rules: the same answer for every user of a directory
/// (`?directory=` picks one when several are served).
pub async fn key(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
) -> Result<Api<ChangeKey>, AppError> {
    let now = crate::now();
    let agent = match &query.directory {
        Some(directory) => state.hub.for_directory(directory, now),
        None => state.hub.pick(now),
    }
    .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    Ok(Api(ChangeKey {
        agent_key: agent.heartbeat.rsa_key,
        policy: agent.heartbeat.policy,
        directory: agent.heartbeat.directory,
    }))
}

pub async fn change(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(request): Api<ChangeRequest>,
) -> Result<Api<Completed>, AppError> {
    let now = crate::now();
    let username = canonical_user_id(&request.username, &state.hub.directories(now))?;
    let (current, new) = (request.sealed_current, request.sealed_new);
    check_sealed(&current)?;
    check_sealed(&new)?;
    if current.key_id != new.key_id {
        return Err(ErrorCode::BadRequest.into());
    }
    state.limiter.hit(Limited::SignIn, &client, now).await?;
    // Stop before AD would lock the account: wrong guesses through the portal never lock anyone out.
    let account_key = account_key(&username);
    state
        .limiter
        .check(Limited::SignInFailure, &account_key, now)
        .await?;

    let agent = writeback::holder_for(&state, &username, &new.key_id, now)?;
    let reply = writeback::lookup(&state, &agent.id, username.clone()).await?;
    let account = match reply {
        Some(account) if account.eligible() => account,
        _ => {
            // Unknown, disabled, protected or out of scope: the same answer as a wrong password.
            state
                .limiter
                .record(Limited::SignInFailure, &account_key, now)
                .await?;
            return Err(ErrorCode::CurrentPasswordWrong.into());
        }
    };

    let order = Order {
        op: Operation::Change,
        anchor: &account.anchor,
        actor: &Actor::SelfService,
        request_id: package::request_id()?,
        off_limits: Vec::new(),
    };
    let secrets = Secrets {
        sealed: Some(new),
        sealed_old: Some(current),
    };
    let ttl = state.config.relay.package_ttl_secs;
    let body = package::build(order, secrets, Flags::default(), now, ttl);
    let result = match writeback::apply(&state, &agent.id, &body)
        .await
        .map_err(AppError::from)
    {
        // A locked account answers like a wrong password: a stranger learns nothing.
        Err(e)
            if matches!(
                e.error_code(),
                ErrorCode::CurrentPasswordWrong | ErrorCode::AccountLocked
            ) =>
        {
            state
                .limiter
                .record(Limited::SignInFailure, &account_key, now)
                .await?;
            Err(AppError::code(ErrorCode::CurrentPasswordWrong))
        }
        other => other,
    };
    let outcome = result.as_ref().map(|_| ()).map_err(AppError::error_code);
    state.metrics.writeback(Operation::Change, outcome);
    state
        .store
        .audit(&AuditRecord {
            at: crate::now(),
            actor: Actor::SelfService,
            subject: account.account_name.clone(),
            event: AuditEvent::writeback(Operation::Change, &body.request_id, outcome),
        })
        .await?;
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
        Api(Completed {
            account_name: account.account_name,
            was_locked: account.locked,
        })
    })
}
