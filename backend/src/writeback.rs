//! The server's side of write-back: ask an agent who a user is, and hand it a package sealed
//! under its package key, reading back the sealed outcome. Every route that talks to an agent
//! goes through here.

use std::time::Duration;

use sspr_protocol::package::{Outcome, Package, PackageBody};
use sspr_protocol::relay::{Account, Reply, ServerMessage};
use sspr_protocol::ErrorCode;

use crate::error::AppError;
use crate::hub::HubError;
use crate::state::AppState;

fn timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config.relay.request_timeout_secs)
}

fn hub_error(e: HubError) -> AppError {
    match e {
        HubError::Gone => ErrorCode::WritebackUnavailable.into(),
        HubError::Timeout => ErrorCode::AgentTimeout.into(),
    }
}

/// The account a typed user ID names, if exactly one does.
pub async fn lookup(
    state: &AppState,
    agent_id: &str,
    username: String,
) -> Result<Option<Account>, AppError> {
    let reply = state
        .hub
        .request(
            agent_id,
            |id| ServerMessage::Lookup { id, username },
            timeout(state),
        )
        .await
        .map_err(hub_error)?;
    match reply {
        Reply::Lookup(account) => Ok(account),
        Reply::Failed(code) => Err(code.into()),
        Reply::Outcome(_) => Err(AppError::Internal(
            "the agent answered a lookup with an outcome".into(),
        )),
    }
}

/// Seals `body` for the agent, sends it and waits for the outcome. A refusal comes back as its
/// error code.
pub async fn apply(state: &AppState, agent_id: &str, body: &PackageBody) -> Result<(), AppError> {
    let record = state
        .store
        .agent(agent_id)?
        .ok_or_else(|| AppError::Internal("a live agent has no record".into()))?;
    let package = Package::seal(&record.package_key, agent_id, body)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let reply = state
        .hub
        .request(
            agent_id,
            |id| ServerMessage::Apply { id, package },
            timeout(state),
        )
        .await
        .map_err(hub_error)?;
    match reply {
        Reply::Outcome(sealed) => {
            match sealed.open(&record.package_key, agent_id, &body.request_id) {
                Ok(Outcome::Applied) => Ok(()),
                Ok(Outcome::Refused(code)) => Err(code.into()),
                Err(e) => Err(AppError::Internal(format!("unreadable outcome: {e}"))),
            }
        }
        Reply::Failed(code) => Err(code.into()),
        Reply::Lookup(_) => Err(AppError::Internal(
            "the agent answered a package with a lookup".into(),
        )),
    }
}
