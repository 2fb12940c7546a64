//! The gates over HTTP: pick a method, answer its challenge, ask for a new code, ask whether
//! the code got out, or go back to the list. The state machine lives in `flow`.

use crate::http::body::Api;
use axum::extract::State;
use sspr_protocol::gate::{
    AfterGate, Answers, Challenge as ChallengeView, ChooseMethod, DeliveryState, Gate, Method,
    Question,
};
use sspr_protocol::i18n::Lang;
use sspr_protocol::package::Operation;
use sspr_protocol::policy::AccountNames;
use sspr_protocol::reset::{CodeAnswer, CodeSent, FlowRef, NewPasswordStep, Purpose};
use sspr_protocol::ErrorCode;

use crate::courier::{self, Parcel};
use crate::crypto::{self, token_hash};
use crate::domain::codes::{code_hash, CodeRules, CodeScope};
use crate::domain::contact::Number;
use crate::domain::flow::{AccountTarget, Challenge, FlowError, Passed, Picked, ResetFlow, Start};
use crate::domain::limits::Limited;
use crate::domain::registration::{check_answers, Authenticator, TotpCheck, TOTP_DIGITS};
use crate::domain::user_id::account_key;
use crate::domain::{decoy, gates};
use crate::http::error::{flatten, AppError};
use crate::http::middleware::ClientAddress;
use crate::http::routes::reset::apply_and_finish;
use crate::state::AppState;

fn rules(state: &AppState) -> CodeRules {
    CodeRules::of(&state.config.reset)
}

/// A gate code's keyed hash, bound to its flow: codes are stored and compared only like this.
fn gate_code_hash(state: &AppState, id_hash: &str, code: &str) -> Result<String, AppError> {
    Ok(code_hash(&state.keys, CodeScope::Gate, id_hash, code)?)
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
async fn clear_send(
    state: &AppState,
    picked: &Picked,
    username: &str,
    now: i64,
) -> Result<(), AppError> {
    match &picked.to {
        Some(to) => {
            if picked.offer.method.uses_phone() {
                courier::check_paid_send(state, to, now).await?;
            }
            courier::count_send(state, to, now).await
        }
        None => {
            let key = format!("decoy:{}", account_key(username));
            courier::count_send(state, &key, now).await
        }
    }
}

pub async fn method(
    State(state): State<AppState>,
    Api(request): Api<ChooseMethod>,
) -> Result<Api<ChallengeView>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    let typed = request
        .phone
        .as_deref()
        .and_then(|p| Number::parse(p, state.config.phone.region()))
        .map(|n| n.e164);
    let (picked, username, lang, anchor) = state
        .store
        .update_flow(&id_hash, now, |flow| -> Result<_, FlowError> {
            let picked = flow.pick(request.choice, typed.as_deref(), rules(&state), now)?;
            flow.lang = request.lang.unwrap_or(flow.lang);
            let anchor = flow.account().map(|a| a.anchor.clone());
            Ok((picked, flow.username.clone(), flow.lang, anchor))
        })
        .await??;
    match picked.offer.method {
        Method::Authenticator => {
            state
                .store
                .update_flow(&id_hash, now, |flow| {
                    flow.begin_challenge(&picked, Start::Authenticator, rules(&state), now)
                })
                .await??;
            return Ok(Api(ChallengeView::Authenticator {
                digits: TOTP_DIGITS,
            }));
        }
        Method::Questions => {
            let asked = questions_to_ask(&state, anchor.as_deref(), &username).await?;
            let start = Start::Questions(asked.clone());
            state
                .store
                .update_flow(&id_hash, now, |flow| {
                    flow.begin_challenge(&picked, start.clone(), rules(&state), now)
                })
                .await??;
            return Ok(Api(ChallengeView::Questions { asked }));
        }
        _ => {}
    }
    clear_send(&state, &picked, &username, now).await?;
    let rules = rules(&state);
    send_code(&state, id_hash, &picked, lang, now, |flow, hash| {
        flow.begin_challenge(&picked, Start::Code(hash), rules, now)
    })
    .await?;
    Ok(Api(ChallengeView::Code(code_sent(&state, &picked))))
}

/// A new code for the flow: its keyed hash goes into the flow by `keep` (a first code or a
/// resend), and only then does the code itself leave, in the background.
async fn send_code<T: Send>(
    state: &AppState,
    id_hash: String,
    picked: &Picked,
    lang: Lang,
    now: i64,
    mut keep: impl FnMut(&mut ResetFlow, String) -> Result<T, FlowError> + Send,
) -> Result<(), AppError> {
    let code = crypto::random_code(state.config.reset.code_length)?;
    let hash = gate_code_hash(state, &id_hash, &code)?;
    state
        .store
        .update_flow(&id_hash, now, |flow| keep(flow, hash.clone()))
        .await??;
    let parcel = Parcel {
        method: picked.offer.method,
        to: picked.to.clone(),
        code,
        lang,
    };
    courier::dispatch(state, id_hash, now, parcel);
    Ok(())
}

pub async fn resend(
    State(state): State<AppState>,
    Api(request): Api<FlowRef>,
) -> Result<Api<CodeSent>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    let rules = rules(&state);
    // Cooldown and step first, then the send limits, and only then is the old code replaced:
    // a refused resend leaves the code the user already has working.
    let flow = state.store.flow(&id_hash, now).await?;
    let (picked, username, lang) = (flow.resend_target(rules, now)?, flow.username, flow.lang);
    clear_send(&state, &picked, &username, now).await?;
    send_code(&state, id_hash, &picked, lang, now, |flow, hash| {
        flow.resend(hash, rules, now)
    })
    .await?;
    Ok(Api(code_sent(&state, &picked)))
}

pub async fn delivery(
    State(state): State<AppState>,
    Api(request): Api<FlowRef>,
) -> Result<Api<DeliveryState>, AppError> {
    let id_hash = token_hash(&request.flow_id);
    let delivery = state.store.flow(&id_hash, crate::now()).await?.delivery()?;
    Ok(Api(DeliveryState { delivery }))
}

/// "Use another method": back to this gate's list.
pub async fn other(
    State(state): State<AppState>,
    Api(request): Api<FlowRef>,
) -> Result<Api<Gate>, AppError> {
    let id_hash = token_hash(&request.flow_id);
    let gate = state
        .store
        .update_flow(&id_hash, crate::now(), |flow| flow.leave_challenge())
        .await??;
    Ok(Api(gate))
}

/// Which of the user's questions to ask: a random choice of `questions_to_answer` from the
/// questions registered — for a decoy, from its made-up set.
async fn questions_to_ask(
    state: &AppState,
    anchor: Option<&str>,
    username: &str,
) -> Result<Vec<Question>, AppError> {
    let policy = &state.config.policy;
    let pool: Vec<Question> = match anchor {
        Some(anchor) => state
            .store
            .registration(anchor)
            .await?
            .map(|r| r.questions.iter().map(|q| q.question).collect())
            .unwrap_or_default(),
        None => decoy::questions(&state.keys, policy.questions_to_register, username)?,
    };
    let random = crypto::random_bytes(pool.len())?;
    Ok(gates::questions_to_ask(
        pool,
        policy.questions_to_answer,
        &random,
    ))
}

/// Wrong answers at a gate count per account and per client address; past the limit the gates
/// close for a while, whoever is asking.
struct GateGuard {
    keys: [String; 2],
    username: String,
    client: String,
}

impl GateGuard {
    async fn check(
        state: &AppState,
        username: &str,
        client: &str,
        now: i64,
    ) -> Result<Self, AppError> {
        let keys = [
            format!("account:{}", account_key(username)),
            format!("address:{client}"),
        ];
        for key in &keys {
            state.limiter.check(Limited::GateFailure, key, now).await?;
        }
        Ok(Self {
            keys,
            username: username.to_owned(),
            client: client.to_owned(),
        })
    }

    /// Counts and reports a wrong answer, then passes the outcome on.
    async fn count<T>(
        &self,
        state: &AppState,
        now: i64,
        outcome: Result<T, AppError>,
    ) -> Result<T, AppError> {
        if let Err(e) = &outcome {
            let reason = e.error_code();
            if matches!(
                reason,
                ErrorCode::WrongCode | ErrorCode::CodeExhausted | ErrorCode::AnswersWrong
            ) {
                for key in &self.keys {
                    state.limiter.record(Limited::GateFailure, key, now).await?;
                }
                state
                    .failed_guess(&self.username, &self.client, reason)
                    .await?;
            }
        }
        outcome
    }
}

/// The answer to the open challenge: a code from a message or from the authenticator app.
pub async fn code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(answer): Api<CodeAnswer>,
) -> Result<Api<AfterGate>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&answer.flow_id);
    let flow = state.store.flow(&id_hash, now).await?;
    let authenticator = matches!(flow.open_challenge()?, Challenge::Authenticator);
    let authenticator_of = authenticator.then(|| flow.account().map(|a| a.anchor.clone()));
    let (purpose, username) = (flow.purpose, flow.username);
    let guard = GateGuard::check(&state, &username, &client, now).await?;
    let passed = match authenticator_of {
        Some(anchor) => {
            let verdict = match anchor {
                Some(anchor) => check_totp(&state, &anchor, &answer.code, now).await?,
                None => TotpCheck::Wrong,
            };
            if verdict == TotpCheck::Reused {
                // Costs nothing: the code was right, only too late to count again.
                return Err(ErrorCode::CodeReused.into());
            }
            let right = matches!(verdict, TotpCheck::Accepted(_));
            flatten(
                state
                    .store
                    .update_flow(&id_hash, now, |flow| flow.check_secret(purpose, right))
                    .await,
            )
        }
        None => {
            let submitted = gate_code_hash(&state, &id_hash, &answer.code)?;
            flatten(
                state
                    .store
                    .update_flow(&id_hash, now, |flow| {
                        flow.check_code(purpose, &submitted, now)
                    })
                    .await,
            )
        }
    };
    let passed = guard.count(&state, now, passed).await?;
    after_gate(&state, &id_hash, purpose, passed, answer.lang).await
}

/// The answers to the security questions the open challenge asked.
pub async fn answers(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    Api(request): Api<Answers>,
) -> Result<Api<AfterGate>, AppError> {
    let now = crate::now();
    let id_hash = token_hash(&request.flow_id);
    if request.answers.len() > Question::ALL.len()
        || request.answers.iter().any(|a| a.chars().count() > 200)
    {
        return Err(ErrorCode::BadRequest.into());
    }
    let flow = state.store.flow(&id_hash, now).await?;
    let Challenge::Questions { asked } = flow.open_challenge()?.clone() else {
        return Err(ErrorCode::WrongStep.into());
    };
    let anchor = flow.account().map(|a| a.anchor.clone());
    let (purpose, username) = (flow.purpose, flow.username);
    let guard = GateGuard::check(&state, &username, &client, now).await?;
    let stored = match anchor {
        Some(anchor) => state
            .store
            .registration(&anchor)
            .await?
            .map(|r| r.questions)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // Argon2 is slow on purpose: off the async workers.
    let answers = request.answers;
    let right = tokio::task::spawn_blocking(move || check_answers(&stored, &asked, &answers))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let passed = flatten(
        state
            .store
            .update_flow(&id_hash, now, |flow| flow.check_secret(purpose, right))
            .await,
    );
    let passed = guard.count(&state, now, passed).await?;
    after_gate(&state, &id_hash, purpose, passed, request.lang).await
}

/// What a passed gate leads to: the next gate, the new-password step, or — for an unlock —
/// the unlock itself.
async fn after_gate(
    state: &AppState,
    id_hash: &str,
    purpose: Purpose,
    passed: Passed,
    lang: Option<Lang>,
) -> Result<Api<AfterGate>, AppError> {
    let account = match passed {
        Passed::NextGate(gate) => return Ok(Api(AfterGate::Gate(gate))),
        Passed::AllGates(account) => account,
    };
    if purpose == Purpose::Unlock {
        let Api(done) = apply_and_finish(state, id_hash, Operation::Unlock, None, lang).await?;
        return Ok(Api(AfterGate::Completed(done)));
    }
    Ok(Api(AfterGate::NewPassword(new_password_step(
        state, account,
    )?)))
}

/// Checks an authenticator code and spends its time step in the same breath, under the
/// registration's lock: of two parallel uses of one code, exactly one counts.
pub(crate) async fn check_totp(
    state: &AppState,
    anchor: &str,
    code: &str,
    now: i64,
) -> Result<TotpCheck, AppError> {
    Ok(state
        .store
        .update_registration(anchor, now, |reg| {
            let Some(app) = reg.authenticator.as_mut() else {
                return TotpCheck::Wrong;
            };
            let verdict = Authenticator::check(&app.secret, app.last_step, code, now);
            if let TotpCheck::Accepted(step) = verdict {
                app.last_step = step;
            }
            verdict
        })
        .await?)
}

/// The new-password step again, with the key of an agent that is live now: after
/// `AgentChanged` the browser seals the typed password to it and submits again.
pub async fn key(
    State(state): State<AppState>,
    Api(request): Api<FlowRef>,
) -> Result<Api<NewPasswordStep>, AppError> {
    let flow = state
        .store
        .flow(&token_hash(&request.flow_id), crate::now())
        .await?;
    let account = flow.account_for_new_password()?.clone();
    Ok(Api(new_password_step(&state, account)?))
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
        policy: account
            .policy
            .for_reset(agent.heartbeat.reset_enforces_history),
        names: AccountNames {
            account_name: account.account_name,
            display_name: account.display_name,
        },
        agent_key: agent.heartbeat.rsa_key,
    })
}
