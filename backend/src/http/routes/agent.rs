//! Agent onboarding (one-time token) and the relay WebSocket the agent opens outbound.

use crate::http::body::Api;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use sspr_protocol::package::{PackageKey, WrappedKey};
use sspr_protocol::relay::{AgentMessage, OnboardRequest, Onboarded, AUTH_SEPARATOR};
use sspr_protocol::ErrorCode;
use tokio::sync::mpsc;

use crate::crypto;
use crate::domain::audit::{Actor, AuditEvent, AuditRecord};
use crate::http::error::AppError;
use crate::state::AppState;
use crate::store::AgentRecord;

/// Relay frames are small (a reset request is under 1 KB); anything much larger is an error.
const MAX_FRAME_BYTES: usize = 64 * 1024;

pub async fn onboard(
    State(state): State<AppState>,
    Api(request): Api<OnboardRequest>,
) -> Result<Api<Onboarded>, AppError> {
    let now = crate::now();
    if request.name.len() > 128
        || request.version.len() > 64
        || request.rsa_key.spki_der.len() > 2048
    {
        return Err(ErrorCode::BadRequest.into());
    }
    if sspr_protocol::seal::key_id_of(&request.rsa_key.spki_der) != request.rsa_key.key_id {
        return Err(ErrorCode::BadRequest.into());
    }
    if !state
        .store
        .consume_onboarding_token(&request.token, now)
        .await?
    {
        tracing::warn!("onboarding refused: unknown, used or expired token");
        return Err(ErrorCode::InvalidToken.into());
    }
    let agent_id = format!("agt_{}", &crypto::random_token()?[..12]);
    let relay_secret = crypto::random_token()?;
    let package_key = PackageKey::generate().map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .add_agent(&AgentRecord {
            id: agent_id.clone(),
            name: request.name.clone(),
            version: request.version.clone(),
            secret_hash: crypto::token_hash(&relay_secret),
            package_key: package_key.clone(),
            rsa_key_id: request.rsa_key.key_id.clone(),
            created_at: now,
            revoked: false,
        })
        .await?;
    state
        .store
        .audit(&AuditRecord {
            at: now,
            actor: Actor::Agent(agent_id.clone()),
            subject: agent_id.clone(),
            event: AuditEvent::AgentOnboarded {
                name: request.name.clone(),
                version: request.version.clone(),
            },
        })
        .await?;
    tracing::info!(%agent_id, name = %request.name, "agent onboarded");
    Ok(Api(Onboarded {
        agent_id,
        relay_secret,
        package_key,
    }))
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    let refused = || AppError::code(ErrorCode::InvalidToken);
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refused)?;
    let credentials = value.strip_prefix("Bearer ").ok_or_else(refused)?;
    let (agent_id, secret) = credentials.split_once(AUTH_SEPARATOR).ok_or_else(refused)?;
    let record = state.store.agent(agent_id).await?.ok_or_else(refused)?;
    if record.revoked || !crypto::equal(&record.secret_hash, &crypto::token_hash(secret)) {
        return Err(refused());
    }
    Ok(record.id)
}

/// Whether an agent's credentials are good, for `sspr-agent doctor`.
pub async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::http::StatusCode, AppError> {
    authenticate(&state, &headers).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn relay(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // Answered in the API's error shape like every other refusal, not as axum's plain text.
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => return AppError::code(ErrorCode::BadRequest).into_response(),
    };
    match authenticate(&state, &headers).await {
        Ok(agent_id) => upgrade
            .max_message_size(MAX_FRAME_BYTES)
            .on_upgrade(move |socket| session(state, agent_id, socket))
            .into_response(),
        Err(err) => {
            tracing::warn!("relay connection refused: bad agent credentials");
            err.into_response()
        }
    }
}

/// The agent sends its new package key, sealed under the old one, with every heartbeat of the
/// grace period; the first that arrives is taken, the rest find it done.
async fn roll_over(state: &AppState, agent_id: &str, wrapped: &WrappedKey) {
    let record = match state.store.agent(agent_id).await {
        Ok(Some(record)) => record,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(%agent_id, error = %e, "key rollover: the agent's record cannot be read");
            return;
        }
    };
    if record.package_key.key_id == wrapped.new_key_id {
        return;
    }
    let new = match record.package_key.unwrap(wrapped, agent_id) {
        Ok(new) => new,
        Err(e) => {
            tracing::warn!(%agent_id, error = %e, "key rollover refused: not sealed under the agent's current package key");
            return;
        }
    };
    let rsa_key_id = state.hub.rsa_key_of(agent_id).unwrap_or(record.rsa_key_id);
    let now = crate::now();
    let record = AuditRecord {
        at: now,
        actor: Actor::Agent(agent_id.to_owned()),
        subject: agent_id.to_owned(),
        event: AuditEvent::AgentKeysRolledOver {
            old_package_key: wrapped.old_key_id.clone(),
            new_package_key: wrapped.new_key_id.clone(),
            rsa_key: rsa_key_id.clone(),
        },
    };
    let stored = match state
        .store
        .roll_agent_keys(agent_id, &new, &rsa_key_id)
        .await
    {
        Ok(()) => state.store.audit(&record).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(()) => tracing::info!(%agent_id, package_key_id = %new.key_id, "agent keys rolled over"),
        Err(e) => {
            tracing::error!(%agent_id, error = %e, "key rollover could not be stored; the agent repeats it")
        }
    }
}

async fn session(state: AppState, agent_id: String, socket: WebSocket) {
    let (tx, mut rx) = mpsc::channel(64);
    let connection = state.hub.connect(&agent_id, tx);
    tracing::info!(%agent_id, "agent connected");
    let (mut sink, mut stream) = socket.split();
    let mut shutdown = state.shutting_down();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                break;
            }
            Some(message) = rx.recv() => {
                let frame = match message.to_frame() {
                    Ok(frame) => frame,
                    Err(e) => {
                        tracing::error!(%agent_id, error = %e, "relay message not encodable");
                        continue;
                    }
                };
                state.capture_frame(">", &agent_id, frame.len(), &message);
                if sink.send(Message::Binary(frame.into())).await.is_err() {
                    break;
                }
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Binary(frame))) => {
                    let message = AgentMessage::from_frame(&frame);
                    if let Ok(message) = &message {
                        state.capture_frame("<", &agent_id, frame.len(), message);
                    }
                    match message {
                        Ok(AgentMessage::Heartbeat(hb)) => state.hub.heartbeat(&agent_id, connection, hb, crate::now()),
                        Ok(AgentMessage::Reply { id, reply }) => state.hub.deliver(id, reply),
                        Ok(AgentMessage::KeyRollover(wrapped)) => roll_over(&state, &agent_id, &wrapped).await,
                        Ok(AgentMessage::Draining) => {
                            tracing::info!(%agent_id, "agent stopping: no new requests for it");
                            state.hub.draining(&agent_id, connection);
                        }
                        Err(e) => tracing::warn!(%agent_id, error = %e, "unreadable relay frame"),
                    }
                }
                // Agents before binary frames spoke JSON text: say what to do instead of
                // timing their requests out one by one.
                Some(Ok(Message::Text(_))) => {
                    tracing::error!(%agent_id, "the agent speaks an older relay protocol (text frames): upgrade sspr-agent to this server's version");
                    break;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    state.hub.disconnect(&agent_id, connection);
    tracing::warn!(%agent_id, "agent disconnected");
}
