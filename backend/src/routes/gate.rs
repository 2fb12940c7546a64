//! The gates over HTTP: pick a method, answer its challenge, ask for a new code, ask whether
//! the code got out, or go back to the list. The state machine lives in `flow`.

use axum::extract::State;
use axum::Json;
use sspr_protocol::gate::{
    AfterGate, Challenge as ChallengeView, ChooseMethod, DeliveryState, Gate,
};
use sspr_protocol::package::Operation;
use sspr_protocol::policy::AccountNames;
use sspr_protocol::reset::{CodeAnswer, CodeSent, FlowRef, NewPasswordStep, Purpose};
use sspr_protocol::ErrorCode;

use crate::courier::{self, Parcel};
use crate::crypto::{self, token_hash};
use crate::error::AppError;
use crate::flow::{AccountTarget, Challenge, CodeRules, Passed, Picked};
use crate::json::ApiJson;
use crate::limits::Limited;
use crate::middleware::ClientAddress;
use crate::phone::Number;
use crate::registration::{Authenticator, TotpCheck, TOTP_DIGITS};
use crate::routes::reset::{account_key, apply_and_finish};
use crate::state::AppState;

fn rules(state: &AppState) -> CodeRules {
    let r = &state.config.reset;
    CodeRules {
        ttl_secs: i64::from(r.code_ttl_secs),
        attempts: r.code_attempts,
        resend_cooldown_secs: i64::from(r.resend_cooldown_secs),
    }
}

/// A code's keyed hash, bound to its flow: codes are stored and compared only like this.
fn code_hash(state: &AppState, id_hash: &str, code: &str) -> Result<String, AppError> {
    Ok(state
        .keys
        .mac(&[id_hash.as_bytes(), code.trim().as_bytes()])?)
}

fn code_sent(state: &AppState, picked: &Picked) -> CodeSent {
    let r = &state.config.reset;
    CodeSent {
        method: picked.offer.method,
        destination: picked.offer.masked.clone(),
        code_length: r.code_length,
        code_ttl_secs: r.code_ttl_secs,
        resend_after_secs: r.resend_cooldown_secs,
    }
}

/// Checks the rules for sending to `picked` and counts the send; the key the limits use is the
/// real destination, or the typed name for a decoy.
fn clear_send(state: &AppState, picked: &Picked, username: &str, now: i64) -> Result<(), AppError> {
    match &picked.to {
        Some(to) => {
            if picked.offer.method.uses_phone() {
                courier::check_paid_send(state, to, now)?;
            }
            courier::count_send(state, to, now)
        }
        None => courier::count_send(state, &format!("decoy:{}", account_key(username)), now),
    }
}

pub async fn method(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ChooseMethod>,
) -> Result<Json<ChallengeView>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    let typed = request
        .phone
        .as_deref()
        .and_then(|p| Number::parse(p, state.config.phone.region()))
        .map(|n| n.e164);
    let (picked, username, lang) = state.store.update_flow(&id_hash, now, |flow| {
        let picked = flow.pick(request.choice, typed.as_deref(), rules(&state), now)?;
        Ok((picked, flow.username.clone(), flow.lang))
    })?;
    if !picked.offer.method.sends_code() {
        state.store.update_flow(&id_hash, now, |flow| {
            Ok(flow.begin_challenge(&picked, None, rules(&state), now)?)
        })?;
        return Ok(Json(ChallengeView::Authenticator {
            digits: TOTP_DIGITS,
        }));
    }
    clear_send(&state, &picked, &username, now)?;
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = code_hash(&state, &id_hash, &code)?;
    state.store.update_flow(&id_hash, now, |flow| {
        Ok(flow.begin_challenge(&picked, Some(hash), rules(&state), now)?)
    })?;
    let parcel = Parcel {
        method: picked.offer.method,
        to: picked.to.clone(),
        code,
        lang,
    };
    courier::dispatch(&state, id_hash, now, parcel);
    Ok(Json(ChallengeView::Code(code_sent(&state, &picked))))
}

pub async fn resend(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FlowRef>,
) -> Result<Json<CodeSent>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    let rules = rules(&state);
    // Cooldown and step first, then the send limits, and only then is the old code replaced:
    // a refused resend leaves the code the user already has working.
    let (picked, username, lang) = state.store.update_flow(&id_hash, now, |flow| {
        Ok((
            flow.resend_target(rules, now)?,
            flow.username.clone(),
            flow.lang,
        ))
    })?;
    clear_send(&state, &picked, &username, now)?;
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = code_hash(&state, &id_hash, &code)?;
    state
        .store
        .update_flow(&id_hash, now, |flow| Ok(flow.resend(hash, rules, now)?))?;
    let parcel = Parcel {
        method: picked.offer.method,
        to: picked.to.clone(),
        code,
        lang,
    };
    courier::dispatch(&state, id_hash, now, parcel);
    Ok(Json(code_sent(&state, &picked)))
}

pub async fn delivery(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FlowRef>,
) -> Result<Json<DeliveryState>, AppError> {
    let id_hash = token_hash(&request.flow_id);
    let delivery = state
        .store
        .update_flow(&id_hash, crate::now(), |flow| Ok(flow.delivery()?))?;
    Ok(Json(DeliveryState { delivery }))
}

/// "Use another method": back to this gate's list.
pub async fn other(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FlowRef>,
) -> Result<Json<Gate>, AppError> {
    let id_hash = token_hash(&request.flow_id);
    let gate = state
        .store
        .update_flow(&id_hash, crate::now(), |flow| Ok(flow.leave_challenge()?))?;
    Ok(Json(gate))
}

/// The answer to the open challenge: a code from a message or from the authenticator app.
pub async fn code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(answer): ApiJson<CodeAnswer>,
) -> Result<Json<AfterGate>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&answer.flow_id);
    let (purpose, username, authenticator_of) = state.store.update_flow(&id_hash, now, |flow| {
        let authenticator = matches!(flow.open_challenge()?, Challenge::Authenticator);
        Ok((
            flow.purpose,
            flow.username.clone(),
            authenticator.then(|| flow.account().map(|a| a.anchor.clone())),
        ))
    })?;
    let failure_keys = [
        format!("account:{}", account_key(&username)),
        format!("address:{client}"),
    ];
    for key in &failure_keys {
        state
            .limiter
            .check(Limited::GateFailure, key, now)
            .map_err(AppError::too_many)?;
    }
    let passed = match authenticator_of {
        Some(anchor) => {
            let verdict = match anchor {
                Some(anchor) => check_totp(&state, &anchor, &answer.code, now)?,
                None => TotpCheck::Wrong,
            };
            if verdict == TotpCheck::Reused {
                // Costs nothing: the code was right, only too late to count again.
                return Err(ErrorCode::CodeReused.into());
            }
            let right = matches!(verdict, TotpCheck::Accepted(_));
            state.store.update_flow(&id_hash, now, |flow| {
                Ok(flow.check_authenticator(purpose, right)?)
            })
        }
        None => {
            let submitted = code_hash(&state, &id_hash, &answer.code)?;
            state.store.update_flow(&id_hash, now, |flow| {
                Ok(flow.check_code(purpose, &submitted, now)?)
            })
        }
    };
    let passed = match passed {
        Ok(passed) => passed,
        Err(e) => {
            if matches!(
                e.error_code(),
                ErrorCode::WrongCode | ErrorCode::CodeExhausted
            ) {
                for key in &failure_keys {
                    state.limiter.record(Limited::GateFailure, key, now);
                }
            }
            return Err(e);
        }
    };
    let account = match passed {
        Passed::NextGate(gate) => return Ok(Json(AfterGate::Gate(gate))),
        Passed::AllGates(account) => account,
    };
    if purpose == Purpose::Unlock {
        let Json(done) = apply_and_finish(&state, &id_hash, Operation::Unlock, None).await?;
        return Ok(Json(AfterGate::Completed(done)));
    }
    Ok(Json(AfterGate::NewPassword(new_password_step(
        &state, account,
    )?)))
}

/// Checks an authenticator code and spends its time step in the same breath, under the
/// registration's lock: of two parallel uses of one code, exactly one counts.
fn check_totp(state: &AppState, anchor: &str, code: &str, now: i64) -> Result<TotpCheck, AppError> {
    Ok(state.store.update_registration(anchor, now, |reg| {
        let Some(app) = reg.authenticator.as_mut() else {
            return TotpCheck::Wrong;
        };
        let verdict = Authenticator::check(&app.secret, app.last_step, code, now);
        if let TotpCheck::Accepted(step) = verdict {
            app.last_step = step;
        }
        verdict
    })?)
}

fn new_password_step(
    state: &AppState,
    account: AccountTarget,
) -> Result<NewPasswordStep, AppError> {
    let agent = state
        .hub
        .for_directory(&account.directory, crate::now())
        .ok_or(AppError::code(ErrorCode::WritebackUnavailable))?;
    Ok(NewPasswordStep {
        policy: account.policy,
        names: AccountNames {
            account_name: account.account_name,
            display_name: account.display_name,
        },
        agent_key: agent.heartbeat.rsa_key,
    })
}
