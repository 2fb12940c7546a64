//! The server's side of write-back: ask an agent who a user is, and hand it a package sealed
//! under its package key, reading back the sealed outcome. Every route that talks to an agent
//! goes through here.

use std::time::Duration;

use sspr_protocol::package::{Outcome, Package, PackageBody};
use sspr_protocol::relay::{Account, AccountDetails, AccountSummary, Reply, ServerMessage};
use sspr_protocol::ErrorCode;

use crate::relay::hub::{HubError, LiveAgent};
use crate::state::AppState;
use crate::store::StoreError;

/// Why a write-back or lookup did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WritebackError {
    /// Refused, with the reason the user is told: by the agent (or the directory), or before
    /// anything was sent (no agent, another key).
    #[error("refused: {0:?}")]
    Refused(ErrorCode),
    /// No answer came back (the agent went away, or did not answer in time): a package sent
    /// may or may not have been applied.
    #[error("no answer from the agent: {0:?}")]
    Unanswered(ErrorCode),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ErrorCode> for WritebackError {
    fn from(code: ErrorCode) -> Self {
        Self::Refused(code)
    }
}

impl From<HubError> for WritebackError {
    fn from(e: HubError) -> Self {
        Self::Unanswered(match e {
            HubError::Gone => ErrorCode::WritebackUnavailable,
            HubError::Timeout => ErrorCode::AgentTimeout,
        })
    }
}

fn timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config.relay.request_timeout_secs)
}

/// The agent to take a password sealed to `rsa_key_id` for `username`: one of the user's
/// directory holding that key. `AgentChanged` when that directory is served, but not by an agent
/// holding the key (it went away, or the key was for another directory): the browser takes a
/// fresh key and seals again.
pub fn holder_for(
    state: &AppState,
    username: &str,
    rsa_key_id: &str,
    now: i64,
) -> Result<LiveAgent, WritebackError> {
    let directory = state.hub.directory_for(username, now)?;
    state
        .hub
        .holding_key(&directory, rsa_key_id, now)
        .ok_or(WritebackError::Refused(ErrorCode::AgentChanged))
}

/// The account a typed user ID names, if exactly one does.
pub async fn lookup(
    state: &AppState,
    agent_id: &str,
    username: String,
) -> Result<Option<Account>, WritebackError> {
    let reply = state
        .hub
        .request(
            agent_id,
            |id| ServerMessage::Lookup { id, username },
            timeout(state),
        )
        .await?;
    match reply {
        Reply::Lookup(account) => Ok(account),
        Reply::Failed(code) => Err(code.into()),
        other => Err(unexpected("a lookup", &other)),
    }
}

/// How often a package is re-sent to an agent whose connection broke while it had it in hand.
const RESENDS: usize = 2;

/// Seals `body` for the agent, sends it and waits for the outcome. A refusal comes back as its
/// error code. If the agent's connection breaks while it has the package, the same package is
/// sent again once the agent is back: the agent acts on a request id once and answers a
/// repeat with the stored result. Nothing is sent or awaited past the package's expiry.
pub async fn apply(
    state: &AppState,
    agent_id: &str,
    body: &PackageBody,
) -> Result<(), WritebackError> {
    let record = state
        .store
        .agent(agent_id)
        .await?
        .ok_or_else(|| WritebackError::Internal("a live agent has no record".into()))?;
    let package = Package::seal(&record.package_key, agent_id, body)
        .map_err(|e| WritebackError::Internal(e.to_string()))?;
    let mut resends = 0;
    let reply = loop {
        let left = match deadline(state, body.expires_at, crate::now()) {
            Some(left) => left,
            // Expired before it was sent: refused. After a send that got no answer: unknown.
            None if resends == 0 => return Err(ErrorCode::AgentTimeout.into()),
            None => return Err(WritebackError::Unanswered(ErrorCode::AgentTimeout)),
        };
        let package = package.clone();
        match state
            .hub
            .request(agent_id, |id| ServerMessage::Apply { id, package }, left)
            .await
        {
            Err(HubError::Gone) if resends < RESENDS => {
                resends += 1;
                tracing::warn!(%agent_id, request_id = %body.request_id, "the agent went away with a package in hand; re-sending it when the agent is back");
                let wait = deadline(state, body.expires_at, crate::now()).unwrap_or_default();
                if !state
                    .hub
                    .wait_connected(agent_id, wait.min(RECONNECT_WAIT))
                    .await
                {
                    // It had the package: whether it acted on it is not known here.
                    return Err(WritebackError::Unanswered(ErrorCode::WritebackUnavailable));
                }
            }
            // No answer: whether the agent acted on the package is not known here.
            other => break other?,
        }
    };
    match reply {
        Reply::Outcome(sealed) => {
            match sealed.open(&record.package_key, agent_id, &body.request_id) {
                Ok(Outcome::Applied) => Ok(()),
                Ok(Outcome::Refused(code)) => Err(code.into()),
                Err(e) => Err(WritebackError::Internal(format!("unreadable outcome: {e}"))),
            }
        }
        Reply::Failed(code) => Err(code.into()),
        other => Err(unexpected("a package", &other)),
    }
}

fn unexpected(asked: &str, reply: &Reply) -> WritebackError {
    let answered = match reply {
        Reply::Lookup(_) => "a lookup",
        Reply::Outcome(_) => "an outcome",
        Reply::Found { .. } => "search results",
        Reply::Details(_) => "account details",
        Reply::Failed(_) => "a failure",
    };
    WritebackError::Internal(format!("the agent answered {asked} with {answered}"))
}

/// The helpdesk's search, answered by `agent_id`: the matches, and whether there were more.
pub async fn search(
    state: &AppState,
    agent_id: &str,
    query: String,
) -> Result<(Vec<AccountSummary>, bool), WritebackError> {
    let reply = state
        .hub
        .request(
            agent_id,
            |id| ServerMessage::Search { id, query },
            timeout(state),
        )
        .await?;
    match reply {
        Reply::Found { accounts, more } => Ok((accounts, more)),
        Reply::Failed(code) => Err(code.into()),
        other => Err(unexpected("a search", &other)),
    }
}

/// The helpdesk's view of one account, by objectGUID.
pub async fn details(
    state: &AppState,
    agent_id: &str,
    anchor: String,
) -> Result<Option<AccountDetails>, WritebackError> {
    let reply = state
        .hub
        .request(
            agent_id,
            |id| ServerMessage::Details { id, anchor },
            timeout(state),
        )
        .await?;
    match reply {
        Reply::Details(details) => Ok(details.map(|d| *d)),
        Reply::Failed(code) => Err(code.into()),
        other => Err(unexpected("a details request", &other)),
    }
}

/// An agent that reconnects takes a second or two; one that has not after this is gone.
const RECONNECT_WAIT: Duration = Duration::from_secs(10);

/// How long to wait for an answer: the relay timeout, but never past the package's expiry
/// (the agent refuses it then anyway). `None` once it has expired.
fn deadline(state: &AppState, expires_at: i64, now: i64) -> Option<Duration> {
    package_deadline(timeout(state), expires_at, now)
}

fn package_deadline(timeout: Duration, expires_at: i64, now: i64) -> Option<Duration> {
    let left = u64::try_from(expires_at - now).ok().filter(|s| *s > 0)?;
    Some(timeout.min(Duration::from_secs(left)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_waits_past_the_package_expiry() {
        let timeout = Duration::from_secs(30);
        assert_eq!(
            package_deadline(timeout, 1_300, 1_000),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            package_deadline(timeout, 1_010, 1_000),
            Some(Duration::from_secs(10))
        );
        assert_eq!(package_deadline(timeout, 1_000, 1_000), None);
        assert_eq!(package_deadline(timeout, 900, 1_000), None);
    }
}
